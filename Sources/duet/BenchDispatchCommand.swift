import ArgumentParser
import Cluster
import DuetSupport
import Foundation

struct BenchDispatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Tasks per second through a coordinator with N local worker processes, and its memory.",
        discussion: """
            Starts a coordinator and the workers (children of this process, over ipc://), submits a run \
            of no-op tasks, and times it from submission to the last result on the coordinator's clock. \
            Prints the coordinator's resident memory at the start, at 10^k finished tasks and at every \
            tenth of the run, and its peak. --workers-in-process N adds N worker connections served \
            by one thread of this process (each its own socket and identity, speaking the worker \
            protocol, answering each task at once), so that many connections cost the machine little \
            CPU; without --workers, it then starts no worker process. --curve runs the cluster over \
            a loopback tcp:// endpoint with CURVE (fresh keys for each side), as machines of a \
            cluster talk, instead of ipc://. Build with -c release to measure.
            """
    )

    @Option(help: "Worker processes (default 2, or 0 with --workers-in-process).")
    var workers: Int?
    @Option(help: "Worker connections served by one thread of this process (no-op tasks answered at once).")
    var workersInProcess: Int = 0
    @Option(help: "No-op tasks in the run.")
    var tasks: Int = 100_000
    @Option(help: "Slots per worker.")
    var slots: Int = 4
    @Option(help: "Tasks each worker holds queued beyond its slots.")
    var prefetch: Int = 64
    @Option(help: "Most messages the coordinator handles per journal commit.")
    var batch: Int = 256
    @Option(help: "Keep the journal and the cluster's log (the coordinator at debug level: its slow turns) in DIR.")
    var logDirectory: String?
    @Option(name: .customLong("status-interval-ms"), help: "Milliseconds between the status probe's requests.")
    var statusIntervalMilliseconds: Int = 100
    @Flag(help: "Over loopback tcp:// with CURVE keys instead of ipc:// (worker processes only).")
    var curve = false
    @OptionGroup var summary: JSONSummaryOption

    func validate() throws {
        if let workers, workers < 0 { throw ValidationError("--workers: must be >= 0, got \(workers)") }
        if workersInProcess < 0 {
            throw ValidationError("--workers-in-process: must be >= 0, got \(workersInProcess)")
        }
        if processes + workersInProcess < 1 {
            throw ValidationError("no workers: give --workers or --workers-in-process at least 1")
        }
        if tasks < 1 { throw ValidationError("--tasks: must be >= 1, got \(tasks)") }
        if curve && workersInProcess > 0 {
            throw ValidationError("--curve measures worker processes; the --workers-in-process connections have no keys")
        }
        if slots < 1 { throw ValidationError("--slots: must be >= 1, got \(slots)") }
        if prefetch < 0 { throw ValidationError("--prefetch: must be >= 0, got \(prefetch)") }
        if batch < 1 { throw ValidationError("--batch: must be >= 1, got \(batch)") }
        if statusIntervalMilliseconds < 1 {
            throw ValidationError("--status-interval-ms: must be >= 1, got \(statusIntervalMilliseconds)")
        }
    }

    /// Worker processes to start.
    var processes: Int { workers ?? (workersInProcess > 0 ? 0 : 2) }

    func run() throws {
        var bench = DispatchBenchmark()
        bench.workers = processes
        bench.workersInProcess = workersInProcess
        bench.directory = logDirectory
        bench.tasks = tasks
        bench.slots = slots
        bench.prefetch = prefetch
        bench.batch = batch
        bench.statusInterval = Double(statusIntervalMilliseconds) / 1000
        bench.curve = curve
        let trap = SignalTrap { _ in Foundation.exit(130) }
        defer { trap.cancel() }
        let result = try bench.run { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let output = summary.output
        #if DEBUG
        log("warning: debug build; measure with `swift build -c release`")
        #endif
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        var hosts: [String] = []
        if processes > 0 { hosts.append("\(processes) process\(processes == 1 ? "" : "es")") }
        if workersInProcess > 0 { hosts.append("\(workersInProcess) connections in this process") }
        output.line("workers:            \(hosts.joined(separator: " + ")) x \(slots) slots, prefetch \(prefetch)")
        output.line("transport:          " + (curve ? "tcp:// on loopback, CURVE on" : "ipc://, no CURVE"))
        output.line("tasks:              \(result.tasks)\(result.failed > 0 ? " (\(result.failed) failed)" : "")")
        output.line(String(format: "time:               %.3f s", result.seconds))
        output.line(String(format: "tasks per second:   %.0f", result.tasksPerSecond))
        output.line("coordinator memory: peak \(mib(result.peakResident)) (max resident set)")
        for sample in result.samples {
            output.line("  after \(sample.done) tasks: resident \(mib(sample.resident)), peak \(mib(sample.peak))")
        }
        let latencies = result.status
        func ms(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
        output.line(
            "status latency:     \(latencies.count) answers: median \(ms(latencies.percentile(50))), "
                + "p99 \(ms(latencies.percentile(99))), max \(ms(latencies.maximum)); "
                + "\(latencies.over(0.1)) over 100 ms, \(latencies.unanswered) unanswered")
        let audit = result.audit
        output.line(
            "results:            journal \(audit.journalRows) rows, \(audit.journalMissing) indices missing, "
                + "\(audit.journalDuplicated) duplicated, \(audit.tasksNotDone) tasks not done; read back "
                + "\(audit.streamed), \(audit.streamedMissing) missing, \(audit.streamedDuplicated) duplicated")
        let counters = result.counters
        output.line(
            "counters:           \(counters.results) results, \(counters.duplicates) duplicate and \(counters.stale) stale "
                + "reports ignored, \(counters.retries) retries, \(counters.lostWorkers) lost workers")
        output.line("exactly once:       \(audit.holds ? "yes" : "NO")")
        output.object([
            "workers": .integer(processes), "workersInProcess": .integer(workersInProcess), "slots": .integer(slots),
            "prefetch": .integer(prefetch), "curve": .bool(curve), "tasks": .integer(result.tasks),
            "failed": .integer(result.failed),
            "seconds": .number(result.seconds), "tasksPerSecond": .number(result.tasksPerSecond),
            "peakResidentBytes": .integer(result.peakResident),
            "statusLatency": [
                "answers": .integer(latencies.count), "median": .number(latencies.percentile(50)),
                "p99": .number(latencies.percentile(99)), "max": .number(latencies.maximum),
                "unanswered": .integer(latencies.unanswered),
            ],
            "exactlyOnce": .bool(audit.holds),
        ])
        if !audit.holds { throw ExitCode(1) }
    }
}
