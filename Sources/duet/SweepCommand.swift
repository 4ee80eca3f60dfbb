import ArgumentParser
import Dispatch
import Foundation
import Search
import Simulation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Simulate every point of a sweep spec's design into a dataset CSV.",
        discussion: """
            Points run in parallel, one thread each. Rows are written in point order as they \
            complete, so an interrupted sweep leaves a valid file; running the same command \
            again resumes it. OUT.spec.json beside the dataset records which spec made it.
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

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads: must be >= 1, got \(threads)") }
        if let points, points < 1 { throw ValidationError("--points: must be >= 1, got \(points)") }
    }

    func run() throws {
        let sweep: SweepSpec
        do {
            sweep = try SweepSpec.load(path: spec)
        } catch let error as ConfigError {
            // Errors about the file itself (missing, bad YAML) already name it.
            throw SweepError(error.path.isEmpty ? "\(error)" : "\(spec): \(error)")
        }
        let runner = try SweepRunner(spec: sweep, outputPath: out, threads: threads, points: points)
        let printer = ProgressPrinter()

        // Ctrl-C or kill: stop writing (the file holds complete rows only) and say how to resume.
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [out] in
                let done = runner.interrupt()
                printer.finish()
                FileHandle.standardError.write(Data(
                    "interrupted: \(done) of \(runner.design.points) points are in \(out); run the same command again to resume\n".utf8))
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        let summary = try runner.run(log: printer.note, progress: printer.update)
        printer.finish()
        print(Self.render(summary, out: out))
    }

    static func render(_ summary: SweepSummary, out: String) -> String {
        var lines = ["\(summary.total) points in \(out): \(summary.simulated) simulated now"
            + (summary.alreadyDone > 0 ? ", \(summary.alreadyDone) done before" : "")]
        if summary.simulated > 0 {
            lines.append("unstable: \(summary.unstable + summary.invalid) (\(summary.invalid) flagged before simulating)"
                + (summary.precisionMissed > 0 ? "; precision target missed at maxJobs: \(summary.precisionMissed)" : ""))
        }
        let threads = summary.threads == 1 ? "1 thread" : "\(summary.threads) threads"
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
