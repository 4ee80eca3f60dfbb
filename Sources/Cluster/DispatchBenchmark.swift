// `duet bench dispatch`: how many tasks a second a coordinator hands out and collects,
// with no-op tasks on N local worker processes and/or M lightweight worker connections
// hosted in this process (`NoopWorkerHost`), and how its memory behaves as the run
// grows (it should not: a run is a task count and a cursor, the journal is on disk).

import ClusterCore
import Foundation

public struct DispatchBenchmark {
    /// Worker processes.
    public var workers = 2
    /// Worker connections hosted in this process, on one thread (`NoopWorkerHost`).
    public var workersInProcess = 0
    public var tasks = 100_000
    public var slots = 4
    public var prefetch = 64
    public var batch = 256
    public var executable = LocalCluster.currentExecutable
    /// Where the journal and the logs go, kept afterwards, with the coordinator logging
    /// at debug level (its slow turns); a fresh temporary directory, removed, by default.
    public var directory: String?
    /// Seconds between the status probe's `STATUS` requests (its own connection).
    public var statusInterval = 0.1
    /// Over a loopback tcp:// endpoint with CURVE (fresh keys for the coordinator, the
    /// workers and the client), as a cluster of several machines runs, instead of the
    /// local cluster's ipc:// socket. Worker processes only.
    public var curve = false

    public init() {}

    public struct Sample: Sendable {
        public var done: Int
        public var resident: Int
        public var peak: Int
    }

    public struct Result: Sendable {
        public var tasks: Int
        public var seconds: Double
        public var failed: Int
        /// Coordinator memory when the run had finished about 10^k tasks, and at the end.
        public var samples: [Sample]
        public var peakResident: Int
        /// How fast `STATUS` was answered during the run.
        public var status = StatusLatencies(answered: [], unanswered: 0)
        /// Results per task index, in the journal and as read back.
        public var audit: ExactlyOnceAudit
        public var counters = ClusterCounters()
        public var tasksPerSecond: Double { seconds > 0 ? Double(tasks) / seconds : 0 }
    }

    public func run(note: (String) -> Void) throws -> Result {
        let directory =
            self.directory
            ?? (FileManager.default.temporaryDirectory.path as NSString).appendingPathComponent("duet-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if self.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var options = LocalClusterOptions(
            executable: executable, workers: workers, journalPath: (directory as NSString).appendingPathComponent("bench.sqlite"),
            logPath: (directory as NSString).appendingPathComponent("cluster.log"))
        options.slots = slots
        options.prefetch = prefetch
        options.coordinatorArguments = ["--batch", String(batch)] + (self.directory == nil ? [] : ["--verbose"])
        var clientKeys: ClientKeys?
        if curve {
            guard workersInProcess == 0 else {
                throw LocalClusterError("CURVE is measured with worker processes; the in-process connections have no keys")
            }
            let keys = try KeyFiles.generateCluster(under: (directory as NSString).appendingPathComponent("keys"))
            options.endpoint = "tcp://127.0.0.1:0"
            options.coordinatorKeys = keys.coordinator
            options.workerKeys = keys.worker
            clientKeys = try KeyFiles.loadClient(directory: keys.client)
        }
        let cluster = try LocalCluster(options: options)
        defer { cluster.stop(grace: 3) }
        try cluster.start()
        guard let coordinatorPID = cluster.coordinatorPID else { throw LocalClusterError("no coordinator") }
        var host: NoopWorkerHost?
        if workersInProcess > 0 {
            let started = NoopWorkerHost(
                endpoint: cluster.endpoint, connections: workersInProcess, slots: slots, prefetch: prefetch)
            started.start()
            host = started
        }
        // Stopped before the cluster (defers run last-in first-out): GOODBYE while it listens.
        defer { host?.stop() }
        let client = try ClusterClient(endpoint: cluster.endpoint, keys: clientKeys)
        defer { client.close() }

        // Wait for every worker to join, so the clock measures dispatch, not start-up.
        let expected = workers + workersInProcess
        let joinSeconds = 30 + expected / 2
        let joinDeadline = Date().addingTimeInterval(Double(joinSeconds))
        while true {
            if case .status(let status)? = try? client.request(.status, timeout: 5), status.workers.count >= expected { break }
            if let problem = cluster.health() { throw LocalClusterError(problem) }
            if Date() > joinDeadline { throw LocalClusterError("only some workers joined within \(joinSeconds) s; see \(options.logPath!)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        var joined = "\(expected) workers joined"
        if workersInProcess > 0 {
            joined += " (\(workersInProcess) connections in this process" + (workers > 0 ? ", \(workers) processes)" : ")")
        }
        note(joined + "; submitting \(tasks) no-op tasks")
        var samples: [Sample] = []
        if let memory = LocalCluster.memory(pid: coordinatorPID) {
            samples.append(Sample(done: 0, resident: memory.resident, peak: memory.peak))
        }
        let submission = RunSubmission(kind: "noop", taskCount: tasks, label: "bench dispatch", spec: Array("bench \(UUID())".utf8))
        guard case .submitted(let run, _) = try client.request(.submit(submission), timeout: 10) else {
            throw LocalClusterError("the coordinator refused the benchmark run")
        }
        let probe = StatusProbe(endpoint: cluster.endpoint, keys: clientKeys, interval: statusInterval)
        probe.start()
        var probeStopped = false
        defer { if !probeStopped { _ = probe.stop() } }
        // Memory at 10^k finished tasks and at every tenth of the run.
        var marks = Set((1...9).map { tasks * $0 / 10 }.filter { $0 > 0 })
        var power = 10_000
        while power < tasks {
            marks.insert(power)
            power *= 10
        }
        var pending = marks.sorted()
        var lastNote = Date()
        while true {
            // Progress every 0.2 s (the probe measures the status latency meanwhile).
            Thread.sleep(forTimeInterval: 0.2)
            if let problem = cluster.health() { throw LocalClusterError(problem) }
            guard case .status(let status)? = try? client.request(.status, timeout: 10),
                let current = status.runs.first(where: { $0.id == run })
            else { continue }
            let finished = current.done + current.failed
            if let mark = pending.first, finished >= mark, let memory = LocalCluster.memory(pid: coordinatorPID) {
                samples.append(Sample(done: finished, resident: memory.resident, peak: memory.peak))
                pending.removeAll { $0 <= finished }
            }
            if Date().timeIntervalSince(lastNote) > 5 {
                lastNote = Date()
                note("\(finished) of \(tasks) tasks, \(Int(current.throughput)) tasks/s")
            }
            if current.phase.isFinished, let end = current.finishedAt {
                let memory = LocalCluster.memory(pid: coordinatorPID)
                if let memory { samples.append(Sample(done: finished, resident: memory.resident, peak: memory.peak)) }
                probeStopped = true
                let latencies = probe.stop()
                note("run finished; checking that every task has exactly one result")
                var audit = try Journal(path: options.journalPath, options: .init(readOnly: true)).audit(run: run, taskCount: tasks)
                try audit.stream(from: client, run: run)
                var counters = status.counters
                if case .status(let last)? = try? client.request(.status, timeout: 10) { counters = last.counters }
                return Result(
                    tasks: tasks, seconds: end - current.createdAt, failed: current.failed, samples: samples,
                    peakResident: memory?.peak ?? 0, status: latencies, audit: audit, counters: counters)
            }
        }
    }
}
