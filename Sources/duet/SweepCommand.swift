import ArgumentParser
import Cluster
import Dispatch
import DuetSupport
import Foundation
import Search
import Simulation
import Sweeps

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Simulate every point of a sweep spec's design into a dataset CSV.",
        discussion: """
            Points run in parallel, one thread each. Rows are written in point order as they \
            complete, so an interrupted sweep leaves a valid file; running the same command \
            again resumes it. OUT.spec.json beside the dataset records which spec made it.

            --local N runs the points on N worker processes and a coordinator started for the \
            sweep (journal OUT.journal, logs OUT.cluster.log, both removed when it completes and \
            kept for resuming when it is interrupted). --coordinator ENDPOINT runs them on an \
            existing cluster; interrupted, the run goes on there and the same command resumes \
            it (duet cancel RUN stops it; the coordinator cancels a run no client follows for its \
            --abandon-after). Every mode writes the same rows.

            --adaptive ENSEMBLE.json simulates, of the design's next --pool points past the \
            sweep's own (--points, else design.points), the --add where the ensemble's members \
            disagree most on meanResponse, into OUT alone (on a cluster too). Each point keeps \
            its design index and seed: its row is the one the continued sweep would write. \
            With --costs DATA.csv (rows this spec's sweep already wrote), they are the --add of \
            the most disagreement per expected simulated job (squared spread over the jobs of the \
            nearest simulated points): cheaper points where the ensemble is as unsure.
            """
    )

    @Argument(help: "Sweep spec (YAML): base, vary, design, run; see examples/quickstart-sweep.yaml.")
    var spec: String
    @Option(help: "Dataset CSV to write, or to resume when it was made by the same spec.")
    var out: String
    @Option(help: "Points simulated at once (default: all cores).")
    var threads: Int?
    @Option(help: "Number of design points, overriding the spec's design.points.")
    var points: Int?
    @Option(help: ArgumentHelp("Ensemble model (duet train --ensemble N): simulate, of the design's next --pool points, "
                               + "the --add where its members disagree most on meanResponse.", valueName: "MODEL.json"))
    var adaptive: String?
    @Option(help: "Adaptive points to simulate (with --adaptive; default 400).") var add: Int?
    @Option(help: "Points past the sweep's own to choose from (with --adaptive; default 10 x --add).") var pool: Int?
    @Option(help: ArgumentHelp("Rows this spec's sweep wrote: rank adaptive points by disagreement per expected "
                               + "simulated job, learnt from their jobs (with --adaptive).", valueName: "DATA.csv"))
    var costs: String?
    @OptionGroup var cluster: ClusterOptions<SweepWork>
    @OptionGroup var summary: JSONSummaryOption

    /// `--add`, or its default.
    private var addedPoints: Int { add ?? 400 }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads: must be >= 1, got \(threads)") }
        if let points, points < 1 { throw ValidationError("--points: must be >= 1, got \(points)") }
        if adaptive != nil {
            if let add, add < 1 { throw ValidationError("--add: must be >= 1, got \(add)") }
            if let pool, pool < addedPoints {
                throw ValidationError("--pool: must be >= --add (\(addedPoints)), got \(pool)")
            }
        } else if add != nil || pool != nil || costs != nil {
            throw ValidationError("--add, --pool and --costs choose adaptive points: give --adaptive ENSEMBLE.json with them")
        }
        if threads != nil && cluster.isCluster {
            throw ValidationError(
                "--threads applies to the in-process sweep; with --local, N is the number of workers"
                    + (cluster.local == nil && cluster.coordinator == nil
                        ? " (\(ClusterEnvironment.coordinator) is set: set it empty to sweep in process)" : ""))
        }
    }

    func run() throws {
        let target = try cluster.target(journalPath: out + ".journal", logPath: out + ".cluster.log")
        try Self.sweep(
            specPath: spec, out: out, threads: threads, points: points,
            adaptive: adaptive.map { (model: $0, add: addedPoints, pool: pool ?? 10 * addedPoints, costs: costs) },
            target: target,
            output: summary.output,
            resumeHint: target.map { if case .coordinator = $0 { true } else { false } } ?? false
                ? "the run goes on at the coordinator; run the same command again to collect it"
                : "run the same command again to resume")
        if cluster.local != nil {
            // Complete: the local cluster's journal and log have served their purpose.
            for suffix in [".journal", ".journal-wal", ".journal-shm", ".cluster.log"] {
                try? FileManager.default.removeItem(atPath: out + suffix)
            }
        }
    }

    /// One sweep into `out`, on this process's threads or on `target`, with progress on
    /// stderr and the summary on stdout (`duet sweep`, and `duet run`'s sweep phase).
    /// Ctrl-C stops writing (the file holds complete rows only), says how to resume
    /// (`resumeHint`) and exits.
    static func sweep(specPath: String, out: String, threads: Int?, points: Int?,
                      adaptive: (model: String, add: Int, pool: Int, costs: String?)? = nil, target: ClusterTarget?,
                      output: SummaryOutput = .text, resumeHint: String) throws {
        try sweep(loadSpec(specPath), specPath: specPath, out: out, threads: threads, points: points, adaptive: adaptive,
                  target: target, output: output, resumeHint: resumeHint)
    }

    /// A sweep's run on a cluster is named by its spec file (`duet status` shows it).
    static func runLabel(_ specPath: String) -> String {
        ((specPath as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    static func loadSpec(_ specPath: String) throws -> SweepSpec {
        do {
            return try SweepSpec.load(path: specPath)
        } catch let error as ConfigError {
            // Errors about the file itself (missing, bad YAML) already name it.
            throw SweepError(error.path.isEmpty ? "\(error)" : "\(specPath): \(error)")
        }
    }

    /// The same with the spec already loaded (and perhaps changed: `duet run`'s held-out
    /// points); `specPath` names it in the summary and labels its cluster run.
    static func sweep(_ sweep: SweepSpec, specPath: String, out: String, threads: Int?, points: Int?,
                      adaptive: (model: String, add: Int, pool: Int, costs: String?)? = nil, target: ClusterTarget?,
                      label: String? = nil, output: SummaryOutput = .text, resumeHint: String) throws {
        let runner: SweepRunner
        var adaptiveSummary: JSON = .null
        if let adaptive {
            // The points past the sweep's own (its --points, else design.points) where the
            // ensemble is least sure; the file holds those rows alone.
            let model = try loadModel(named: adaptive.model)
            let first = points ?? sweep.design.points
            let costs: PointCost?
            do {
                costs = try adaptive.costs.map { try PointCost(spec: sweep, dataset: $0) }
            } catch let error as PointCostError {
                throw SweepError(error.description)
            }
            let choice = try AdaptiveDesign.choose(spec: sweep, model: model, first: first, pool: adaptive.pool,
                                                   add: adaptive.add, costs: costs)
            log("adaptive: \(choice.indices.count) of points \(first)..<\(first + adaptive.pool) chosen by "
                + "\(adaptive.model)'s disagreement on \(AdaptiveDesign.target)"
                + (adaptive.costs.map { " per expected job (costs learnt from \($0))" } ?? "") + " (spread at least "
                + String(format: "%.3g, the pool's median %.3g", choice.chosenMinimumSpread, choice.poolMedianSpread)
                + (choice.leftOut > 0 ? "; \(choice.leftOut) unrealisable left out)" : ")"))
            if let chosen = choice.chosenExpectedJobs, let plain = choice.poolExpectedJobs {
                log(String(format: "adaptive: expected %.3g simulated jobs, against %.3g for as many points of the "
                               + "pool on average", chosen, plain))
            }
            runner = try SweepRunner(spec: sweep, outputPath: out, threads: threads, points: first + adaptive.pool,
                                     only: choice.indices)
            adaptiveSummary = [
                "model": .string(adaptive.model), "first": .integer(first), "pool": .integer(adaptive.pool),
                "chosen": .array(choice.indices.map { .integer($0) }), "unrealisable": .integer(choice.leftOut),
                "chosenMinimumSpread": .number(choice.chosenMinimumSpread),
                "poolMedianSpread": .number(choice.poolMedianSpread),
                "costs": adaptive.costs.map { .string($0) } ?? .null,
                "chosenExpectedJobs": choice.chosenExpectedJobs.map { .number($0) } ?? .null,
                "poolExpectedJobs": choice.poolExpectedJobs.map { .number($0) } ?? .null,
            ]
        } else {
            runner = try SweepRunner(spec: sweep, outputPath: out, threads: threads, points: points)
        }
        let printer = ProgressPrinter()
        let label = label ?? runLabel(specPath)
        let executor = target.map { ClusterSweep(target: $0, label: label, note: printer.note) }

        // Ctrl-C or kill: stop writing (the file holds complete rows only) and say how to resume.
        let interrupted = InterruptFlag()
        let trap = SignalTrap(again: .handle) { _ in
            interrupted.set()
            let done = runner.interrupt()
            executor?.shutdown()
            printer.finish()
            FileHandle.standardError.write(Data(
                "interrupted: \(done) of \(runner.indices.count) points are in \(out); \(resumeHint)\n".utf8))
            Foundation.exit(130)
        }
        defer { trap.cancel() }

        let summary: SweepSummary
        do {
            summary = try runner.run(log: printer.note, progress: printer.update, executor: executor)
        } catch {
            // Interrupted: the signal handler reports and exits; do not race it.
            if interrupted.isSet || error is ClusterInterrupted { interrupted.park() }
            throw error
        }
        if interrupted.isSet { interrupted.park() }
        printer.finish()
        output.line(render(summary, out: out, on: executor.map(parallelism)))
        let failed = executor?.failedPoints ?? []
        output.object(json(summary, spec: specPath, out: out, target: target,
                           failed: failed.map { ($0.index, "\($0.error)") }, adaptive: adaptiveSummary))
        if !failed.isEmpty {
            let shown = failed.prefix(5).map { "point \($0.index): \($0.error)" }.joined(separator: "\n  ")
            throw SweepError(
                "\(failed.count) point\(failed.count == 1 ? "" : "s") failed on every attempt and \(failed.count == 1 ? "is" : "are") not in \(out):\n  "
                    + shown + (failed.count > 5 ? "\n  ..." : "") + "\nrun the same command again to retry them")
        }
    }

    /// `duet sweep --json`: the summary's counts, where the points ran, the points
    /// that failed on every attempt (not in the file), and with `--adaptive` how the
    /// points were chosen (else null).
    static func json(_ summary: SweepSummary, spec: String, out: String, target: ClusterTarget?,
                     failed: [(index: Int, error: String)], adaptive: JSON = .null) -> JSON {
        let on: JSON
        switch target {
        case .local(let options)?: on = ["local": .integer(options.workers)]
        case .coordinator(let endpoint, _)?: on = ["coordinator": .string(endpoint)]
        case nil: on = ["threads": .integer(summary.threads)]
        }
        return [
            "spec": .string(spec), "out": .string(out), "points": .integer(summary.total),
            "alreadyDone": .integer(summary.alreadyDone), "simulated": .integer(summary.simulated),
            "unstable": .integer(summary.unstable), "invalid": .integer(summary.invalid),
            "precisionMissed": .integer(summary.precisionMissed), "jobs": .integer(summary.jobs),
            "slots": .integer(summary.threads), "seconds": .number(summary.seconds),
            "pointsPerSecond": .number(summary.pointsPerSecond), "on": on,
            "failedPoints": .array(failed.map { ["index": .integer($0.index), "error": .string($0.error)] }),
            "adaptive": adaptive,
        ]
    }

    static func parallelism(_ executor: ClusterSweep) -> String {
        if case .local(let options) = executor.target {
            return "\(options.workers) local worker\(options.workers == 1 ? "" : "s")"
        }
        return "the cluster at \(executor.endpoint ?? "?")"
    }

    static func render(_ summary: SweepSummary, out: String, on cluster: String? = nil) -> String {
        var lines = ["\(summary.total) points in \(out): \(summary.simulated) simulated now"
            + (summary.alreadyDone > 0 ? ", \(summary.alreadyDone) done before" : "")]
        if summary.simulated > 0 {
            lines.append("unstable: \(summary.unstable + summary.invalid) (\(summary.invalid) flagged before simulating)"
                + (summary.precisionMissed > 0 ? "; precision target missed at maxJobs: \(summary.precisionMissed)" : ""))
        }
        var threads = summary.threads == 1 ? "1 thread" : "\(summary.threads) threads"
        if let cluster { threads = "\(cluster) (\(summary.threads) slot\(summary.threads == 1 ? "" : "s"))" }
        var time = String(format: "wall time %.1f s on %@", summary.seconds, threads)
        if summary.simulated > 0 {
            time += String(format: ", %.2f points/s (%.3f s per point per thread)", summary.pointsPerSecond,
                           summary.seconds * Double(summary.threads) / Double(summary.simulated))
        }
        lines.append(time)
        return lines.joined(separator: "\n")
    }
}

/// Progress on stderr: on a terminal a bar redrawn in place (and ticking between
/// points, so the ETA stays live); otherwise a log line every few seconds.
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var latest: SweepProgress?
    private var lastDraw = -Double.infinity
    private var lastDrawnDone = -1
    private var barShown = false
    private var finished = false
    private var timer: DispatchSourceTimer?

    static let logInterval = 5.0
    static let redrawInterval = 0.2

    init() {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let interval = isTerminal ? 1.0 : Self.logInterval
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
        self.timer = timer
    }

    deinit { timer?.cancel() }

    func update(_ progress: SweepProgress) {
        lock.withLock {
            latest = progress
            let now = monotonicSeconds()
            let interval = isTerminal ? Self.redrawInterval : Self.logInterval
            if now - lastDraw >= interval || progress.done == progress.total { draw(now: now) }
        }
    }

    func note(_ message: String) {
        lock.withLock {
            write((barShown ? "\r\u{1B}[K" : "") + message + "\n")
            barShown = false
            if latest != nil, isTerminal { draw(now: monotonicSeconds()) }
        }
    }

    func finish() {
        lock.withLock {
            guard !finished else { return }
            finished = true
            timer?.cancel()
            if isTerminal {
                if latest != nil { draw(now: monotonicSeconds()) }
                if barShown { write("\n") }
            } else if let latest, latest.done != lastDrawnDone {
                write(latest.logLine(now: monotonicSeconds()) + "\n")
            }
            barShown = false
        }
    }

    private func tick() {
        lock.withLock {
            let now = monotonicSeconds()
            if !finished, latest != nil, now - lastDraw >= (isTerminal ? 0.5 : Self.logInterval) { draw(now: now) }
        }
    }

    /// Call with the lock held.
    private func draw(now: Double) {
        guard let latest, !finished || isTerminal else { return }
        lastDraw = now
        lastDrawnDone = latest.done
        if isTerminal {
            write("\r" + latest.bar(now: now) + "\u{1B}[K")
            barShown = true
        } else {
            write(latest.logLine(now: now) + "\n")
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Set by the signal handler; the main thread then waits for it to exit the process
/// instead of finishing (and, for --local, removing the journal kept for resuming).
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }

    /// Waits for the signal handler to exit the process.
    func park() -> Never {
        while true { sleep(60) }
    }
}
