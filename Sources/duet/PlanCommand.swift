import ArgumentParser
import DuetSupport
import Foundation
import Search
import Simulation
import Surrogate

/// `--slo metric<=bound` (`ServiceLevelObjective`, Search).
extension ServiceLevelObjective: ExpressibleByArgument {
    public init?(argument: String) { self.init(text: argument) }
}

/// One `--vary path=values` (`PlanGrid.Axis`): `1..64` (whole numbers), `0.1..1/10`
/// (10 evenly spaced values), or a list `0.05,0.1,0.25`.
struct PlanAxis: ExpressibleByArgument {
    var axis: PlanGrid.Axis
    var path: String { axis.path }
    var values: [String] { axis.values }

    init?(argument: String) {
        guard let axis = PlanGrid.Axis(argument: argument) else { return nil }
        self.axis = axis
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "List the cheapest configurations that meet a service-level objective, by surrogate.",
        discussion: """
            Every combination of the --vary values is applied to the base configuration and \
            predicted by the surrogate; those meeting every --slo are ranked by predicted cost, \
            instance-seconds per job summed over the stations of the chain (the pay-per-use bill), cheapest \
            first. --confirm K re-checks the top K by simulation and shows both figures (progress \
            on stderr on a terminal, or with --progress). Warns, \
            naming the keys, when a listed configuration lies outside the model's training domain. \
            Exits with status 2 when no configuration meets the objectives. Without a model file \
            the shipped model is used (found as by `duet predict`). Example:
              duet plan model.json --base examples/serverless.yaml --slo "p95Response<=2.0" \\
                --vary stations.2.servers=1..64 --vary stations.2.maxBatch=1..32
            """
    )

    @Argument(help: "Model file written by `duet train` or `duet search` (default: the shipped model).") var model: String?
    @Option(help: "The configuration to start from (YAML or JSON).") var base: String
    @Option(help: "An objective on a predicted metric, e.g. \"p95Response<=2.0\" (repeatable).") var slo: [ServiceLevelObjective] = []
    @Option(help: "A key and its values: path=1..64, path=0.1..1/10 or path=a,b,c (repeatable).") var vary: [PlanAxis] = []
    @Option(help: "How many configurations to list.") var top = 10
    @Option(help: "Re-check the best K by simulation.") var confirm = 0
    @Option(help: "Jobs per replication when confirming.") var confirmJobs = 200_000
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var progress: ProgressOption

    func validate() throws {
        if vary.isEmpty { throw ValidationError("give at least one --vary path=values") }
        let combinations = vary.reduce(1.0) { $0 * Double($1.values.count) }
        if combinations > 5e6 {
            throw ValidationError("--vary gives \(Int(combinations)) combinations; at most 5,000,000 are searched")
        }
    }

    /// The exit status when no configuration meets the objectives (as `duet simulate`
    /// exits 2 for an unstable run: the command worked, the answer is no).
    static let nothingMeetsObjectives: Int32 = 2

    func run() throws {
        let surrogate = try loadModel(named: model)
        let grid = try planGrid(for: surrogate)
        let stations = grid.spec.base.stations.count
        for objective in slo {
            if let problem = PlanSearch.problem(objective, model: surrogate, stations: stations) {
                throw CLIError("--slo \(objective): \(problem)")
            }
        }
        if surrogate.composesStations {
            log("note: composed station by station along the chain (duet train --per-station): objectives on the "
                + "mean response and the stations' metrics; no percentiles and no error bands")
        }
        let plan = PlanSearch(model: surrogate, grid: grid, objectives: slo, top: top)
        let names = surrogate.chainTargetNames(stations: stations)
        let cost = PlanSearch.costTargets(names)
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        let (best, feasible, infeasible, total) = (plan.best, plan.feasible, plan.infeasible, plan.searched)
        // The same input-domain check as `duet predict`, for every configuration listed.
        for (rank, candidate) in best.enumerated() {
            let warnings = surrogate.chainDomainWarnings(candidate.config)
            guard !warnings.isEmpty else { continue }
            let values = zip(vary, candidate.values).map { "\($0.path)=\($1)" }.joined(separator: ", ")
            log("warning: rank \(rank + 1) (\(values)) lies outside the model's training domain: "
                + warnings.joined(separator: "; "))
        }
        let confirming = min(confirm, best.count)
        let started = monotonicSeconds()
        let confirmed: [SimulationReport?] = best.enumerated().map { rank, candidate in
            guard rank < confirm else { return nil }
            var config = candidate.config
            config.run = RunSettings(jobs: confirmJobs, replications: 5, seed: 1)
            let report = Simulator.simulate(config)
            let elapsed = monotonicSeconds() - started
            progress.line(String(format: "confirmed %d of %d by simulation in %.0f s%@", rank + 1, confirming, elapsed,
                                 rank + 1 < confirming
                                     ? String(format: ", ETA %.0f s", elapsed / Double(rank + 1) * Double(confirming - rank - 1)) : ""))
            return report
        }
        let shown = (slo.map(\.metric) + ["meanResponse"]).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if json {
            let simulated: [JSON?] = confirmed.map { report in
                report.map { report in
                    .object((shown + cost).compactMap { name in report.estimate(name).map { (name, .number($0.mean)) } })
                }
            }
            print(plan.json(model: surrogate, simulated: simulated).text(numbers: .plain, pretty: true))
            if best.isEmpty { throw ExitCode(Self.nothingMeetsObjectives) }
            return
        }
        let objectives = slo.isEmpty ? "no objective (all kept)" : slo.map(\.description).joined(separator: " and ")
        print("searched \(total) configurations: \(infeasible) unstable or unreachable, \(feasible) meet \(objectives)"
              + (best.isEmpty ? "" : "; showing the cheapest \(best.count)"))
        guard !best.isEmpty else {
            log("no configuration meets \(objectives); exit status \(Self.nothingMeetsObjectives)")
            throw ExitCode(Self.nothingMeetsObjectives)
        }
        let level = surrogate.composesStations ? nil : surrogate.file.errorBands.map { Int(($0.level * 100).rounded()) }
        var columns: [String] = vary.map(\.path) + shown.map { "predicted " + $0 }
        if let level { columns += shown.map { "\(level)% band " + $0 } }
        columns.append("inst-s/job")
        if confirm > 0 { columns += shown.map { "simulated " + $0 } + ["sim inst-s/job"] }
        print(columns.map { $0.leftPadded(max(10, $0.count)) }.joined(separator: "  "))
        for (candidate, report) in zip(best, confirmed) {
            let bands = level == nil ? [] : surrogate.bands(candidate.config, predicted: candidate.predicted)
            var cells = candidate.values + shown.map { ReportTable.format(candidate.predicted[index[$0]!]) }
            if level != nil {
                cells += shown.map { name in
                    bands[index[name]!].map { ReportTable.format($0.lowerBound) + "-" + ReportTable.format($0.upperBound) } ?? "—"
                }
            }
            cells.append(ReportTable.format(candidate.cost))
            if confirm > 0 {
                if let report, report.stable {
                    cells += shown.map { report.estimate($0).map { ReportTable.format($0.mean) } ?? "—" }
                    cells.append(ReportTable.format(cost.reduce(0) { $0 + (report.estimate($1)?.mean ?? .nan) }))
                } else {
                    cells += shown.map { _ in report == nil ? "" : "unstable" } + [""]
                }
            }
            print(zip(columns, cells).map { $1.leftPadded(max(10, $0.count)) }.joined(separator: "  "))
        }
    }

    /// The grid over the base, whose paths, values and derived loads follow the
    /// rules (and errors) of `duet sweep`.
    /// `stations`: the model's chain lengths, one of which the base must have.
    func planGrid(for surrogate: SurrogateModel) throws -> PlanGrid {
        let config: TandemConfig
        do {
            config = try ConfigLoader.load(path: base)
        } catch let error as ConfigError {
            throw CLIError("--base \(base): \(error)")
        }
        if !surrogate.composesStations {
            do { try surrogate.checkStations(config) } catch { throw CLIError("--base \(base): \(error)") }
        }
        do {
            return try PlanGrid(base: config, axes: vary.map(\.axis))
        } catch let error as ConfigError {
            throw CLIError("\(error)")
        }
    }
}
