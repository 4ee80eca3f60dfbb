import ArgumentParser
import Cluster
import DuetSupport
import Foundation
import Pipeline
import Search
import Searches
import Simulation
import Surrogate

/// A pipeline file: which sweep and which search make up the run.
struct PipelineSpec {
    var title: String
    var sweep: String
    var search: String
    /// Rounds that choose the sweep's points (absent: the design's points in turn).
    var adaptive: AdaptiveRoundsSpec?
    /// Points of the sweep's space, of another design seed, that judge the best model.
    var heldOut: HeldOutSpec?

    /// Every key a pipeline file may have (docs/spec-files.md lists them).
    static let keys = ["title", "sweep", "search", "adaptive", "heldOut"]

    static func load(path: String) throws -> PipelineSpec {
        let text: String
        do { text = try TextFile.read(path, what: "pipeline file") } catch let error as ConfigError {
            throw CLIError(error.message)
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ file: String) -> String {
            file.hasPrefix("/") ? file : directory.appendingPathComponent(file).standardizedFileURL.path
        }
        do {
            let root = try ConfigNode.parse(yaml: text, source: path).mapping(allowedKeys: keys)
            return PipelineSpec(
                title: try root.string("title", default: "Duet run"),
                sweep: resolve(try root.string("sweep")),
                search: resolve(try root.string("search")),
                adaptive: try root["adaptive"].map(AdaptiveRoundsSpec.parse),
                heldOut: try root["heldOut"].map(HeldOutSpec.parse))
        } catch let error as ConfigError {
            throw CLIError("\(path): \(error)")
        }
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The main job: sweep, hyperparameter search, evaluation and report in one command.",
        discussion: """
            PIPELINE names a sweep spec and a search spec (paths relative to it; see \
            examples/quickstart.yaml), and may choose the sweep's points in adaptive rounds \
            (adaptive:, DIR/adaptive/) and judge the best model on held-out points too (heldOut:, \
            DIR/heldout.csv): examples/quickstart-adaptive.yaml, docs/spec-files.md. DIR gets \
            dataset.csv, search/ (trials.csv, trials.json, best-model.json), best-model.json, summary.json, report.html and its data report.json \
            (`duet report` renders it again); --json prints summary.json's object on stdout. Each phase keeps \
            its own record (the dataset and its sidecar, the search's trials.json), so running \
            the same command again after an interruption resumes where it stopped.

            --local N starts one coordinator and N workers for the whole run: the sweep's \
            points and every rung of the search are tasks in one journal, DIR/run.journal \
            (logs in DIR/cluster.log), which an interrupted run recovers when started again; \
            `duet status --journal DIR/run.journal` shows it. --coordinator runs both phases \
            on an existing cluster.

            Exit status: 0 when every phase finished; 1 on an error, including sweep points \
            that failed on every attempt (the run stops after the sweep; run it again to retry \
            them) and trials that failed for good (the run still evaluates the best of the \
            other trials and writes its report, then exits 1) unless --allow-failed-trials is \
            given; 130 when interrupted.
            """
    )

    @Argument(help: "Pipeline file (YAML): title, sweep, search, and optionally adaptive and heldOut.") var pipeline: String
    @Option(help: "Output directory (created if needed).") var out: String
    @OptionGroup var cluster: ClusterOptions<PipelineWork>
    @Flag(help: "Exit 0 even when search trials failed for good (the report is written either way).")
    var allowFailedTrials = false
    @OptionGroup var summaryOption: JSONSummaryOption

    func run() throws {
        let output = summaryOption.output
        let spec = try PipelineSpec.load(path: pipeline)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let directory = URL(fileURLWithPath: out)
        let dataPath = directory.appendingPathComponent("dataset.csv").path
        let searchPath = directory.appendingPathComponent("search").path
        var phases: [ReportData.Phase] = []
        func phase(_ name: String, _ body: () throws -> Void) rethrows {
            log("== \(name)")
            let started = Date()
            try body()
            phases.append(ReportData.Phase(name: name, seconds: Date().timeIntervalSince(started)))
        }

        // Each phase does what the command a user could run alone does, with its own
        // resume. Both cluster phases run where the user said. With --local, one
        // coordinator serves the whole run on one journal (DIR/run.journal): the sweep's
        // run and every rung of the search are recorded there, and an interrupted run
        // started again recovers them from it.
        var target = try cluster.target(
            journalPath: directory.appendingPathComponent("run.journal").path,
            logPath: directory.appendingPathComponent("cluster.log").path)
        var localCluster: LocalCluster?
        if case .local(let options)? = target {
            let started = try LocalCluster(options: options)
            try started.start()
            localCluster = started
            log("started a local coordinator and \(options.workers) worker\(options.workers == 1 ? "" : "s") for the run "
                + "(journal \(options.journalPath))")
            target = .coordinator(endpoint: started.endpoint, keys: nil)
        }
        defer { localCluster?.stop(grace: 5) }
        let heldOutPath = directory.appendingPathComponent("heldout.csv").path
        let heldOutSweep = try spec.heldOut.map { try $0.spec(of: SweepCommand.loadSpec(spec.sweep), pipeline: pipeline) }
        let resumeHint = target != nil
            ? "the run goes on at the coordinator; run the same command again to collect it"
            : "run the same command again to resume"
        try phase("sweep") {
            if let adaptive = spec.adaptive {
                try AdaptiveRounds.sweep(adaptive, specPath: spec.sweep, dataPath: dataPath, target: target,
                                         output: output.phase, resumeHint: resumeHint)
            } else {
                try SweepCommand.sweep(specPath: spec.sweep, out: dataPath, threads: nil, points: nil, target: target,
                                       output: output.phase, resumeHint: resumeHint)
            }
        }
        if let heldOutSweep {
            try phase("held-out points") {
                log("held-out: \(heldOutSweep.design.points) points of the sweep's space with design seed "
                    + "\(heldOutSweep.design.seed), to judge the best model by")
                try SweepCommand.sweep(heldOutSweep, specPath: spec.sweep, out: heldOutPath, threads: nil, points: nil,
                                       target: target,
                                       label: SweepCommand.runLabel(spec.sweep) + " held-out", output: output.phase,
                                       resumeHint: resumeHint)
            }
        }
        var searchFailure: CLIError?
        try phase("search") {
            let searchSpec = try SearchCommand.loadSpec(spec.search)
            let dataset = try withDatasetErrors { try SurrogateDataset.load(path: dataPath) }
            let summary = try SearchCommand.search(
                searchSpec, dataset: dataset, dataPath: dataPath, out: searchPath, target: target,
                threads: SearchCommand.defaultThreads, keepTrainers: SearchCommand.defaultKeepTrainers, output: output.phase)
            if summary.interrupted { throw ExitCode(130) }
            searchFailure = SearchCommand.failure(summary, out: searchPath, allowFailedTrials: allowFailedTrials)
        }
        let modelPath = directory.appendingPathComponent("best-model.json").path
        var evaluated: (model: SurrogateModel, table: DatasetTable, dataset: SurrogateDataset, best: TrialRecord?)?
        var heldOut: (rows: SurrogateDataset, evaluation: ModelEvaluation)?
        try phase("evaluation and report") {
            let searchModel = URL(fileURLWithPath: searchPath).appendingPathComponent("best-model.json").path
            try? FileManager.default.removeItem(atPath: modelPath)
            try FileManager.default.copyItem(atPath: searchModel, toPath: modelPath)
            let model = try withDatasetErrors { try SurrogateModel.load(path: modelPath) }
            let table = try withDatasetErrors { try DatasetTable.read(path: dataPath) }
            let dataset = try withDatasetErrors { try SurrogateDataset.load(path: dataPath) }
            let trials = try? TrialsDocument.read(URL(fileURLWithPath: searchPath).appendingPathComponent(TrialsDocument.fileName))
            let best = trials?.trials.filter { $0.validationMAPE != nil }.min { $0.validationMAPE! < $1.validationMAPE! }
            if heldOutSweep != nil {
                let rows = try withDatasetErrors { try SurrogateDataset.load(path: heldOutPath) }
                heldOut = (rows, ModelEvaluation(model, on: rows))
            }
            let data = PipelineReport.data(
                title: spec.title, source: pipeline, phases: phases, dataset: dataset, table: table, model: model,
                trials: trials, bestTrial: best?.trial,
                heldOut: heldOutSweep.map {
                    (heldOut!.rows, $0.design.points, $0.design.seed, heldOut!.evaluation.predictions)
                })
            try ReportHTML.render(data).write(toFile: directory.appendingPathComponent("report.html").path,
                                             atomically: true, encoding: .utf8)
            // The page's data, so that `duet report DIR/report.json` can render it again.
            try data.jsonData().write(to: directory.appendingPathComponent("report.json"), options: .atomic)
            evaluated = (model, table, dataset, best)
        }
        let (model, table, dataset, best) = evaluated!
        var fields: [(String, JSON)] = [
            ("title", .string(spec.title)),
            ("phases", .object(phases.map { ($0.name, .number($0.seconds)) })),
            ("dataset", .object([("rows", .integer(table.rows.count)), ("usable", .integer(dataset.examples.count)),
                                 ("unstableOrInvalid", .integer(dataset.skipped.count)),
                                 ("sha256", .string(dataset.sha256))])),
            ("bestTrial", best.map { .object([("trial", .integer($0.trial)),
                                              ("hyperparameters", .object($0.hyperparameters.map { ($0.name, .string("\($0.value)")) }))]) } ?? .null),
            ("test", .object(model.targetNames.map { name in
                var fields: [(String, JSON)] = ["mape", "median", "p90", "p99", "max"].map { stat in
                    (stat, .number(model.file.metrics["test"]?["\(name).\(stat)"] ?? .nan))
                }
                // The share of test rows inside the model's error band (ErrorBands).
                if let share = model.file.metrics["test"]?["\(name).bandCoverage"] {
                    fields.append(("bandCoverage", .number(share)))
                }
                return (name, .object(fields))
            })),
        ]
        if let heldOut, let sweep = heldOutSweep {
            // What `duet evaluate best-model.json heldout.csv --json` prints, with the sample's design.
            let evaluation = heldOut.evaluation.json
            fields.append(("heldOut", .object([
                ("points", .integer(sweep.design.points)),
                ("seed", Int(exactly: sweep.design.seed).map(JSON.integer) ?? .string("\(sweep.design.seed)")),
                ("skipped", .integer(heldOut.rows.skipped.count)), ("rows", evaluation["rows"] ?? .null),
                ("targets", evaluation["targets"] ?? .null),
            ])))
        }
        let summary: JSON = .object(fields)
        try summary.text(numbers: .plain, pretty: true).write(toFile: directory.appendingPathComponent("summary.json").path,
                                                   atomically: true, encoding: .utf8)
        let total = phases.reduce(0) { $0 + $1.seconds }
        output.line("\nDuet run finished in \(String(format: "%.0f", total)) s: "
              + phases.map { "\($0.name) \(String(format: "%.0f", $0.seconds)) s" }.joined(separator: ", "))
        printSplitSummary(model.file, to: output)
        if let heldOut, let sweep = heldOutSweep {
            let report = heldOut.evaluation.report
            output.line("held-out points (\(report.rows) stable of \(sweep.design.points), design seed \(sweep.design.seed), "
                        + "heldout.csv): MAPE " + zip(report.targets, heldOut.evaluation.baseline.targets).prefix(4).map {
                            "\($0.name) " + String(format: "%.2f%%", $0.overall.mape)
                                + ($1.overall.count > 0 ? String(format: " (QNA %.2f%%)", $1.overall.mape) : "")
                        }.joined(separator: ", "))
        }
        output.line("wrote \(out)/dataset.csv" + (spec.adaptive != nil ? ", adaptive/" : "")
                    + (spec.heldOut != nil ? ", heldout.csv" : "") + ", search/, best-model.json, summary.json, report.html, report.json")
        output.object(summary)
        if let searchFailure { throw searchFailure }
    }
}
