// `duet bench dispatch`: how many tasks a second a coordinator hands out and collects,
// with no-op tasks on N local worker processes, and how its memory behaves as the
// run grows (it should not: a run is a task count and a cursor, the journal is on disk).

import ClusterCore
import Foundation

public struct DispatchBenchmark {
    public var workers = 2
    public var tasks = 100_000
    public var slots = 4
    public var prefetch = 64
    public var batch = 256
    public var executable = LocalCluster.currentExecutable
    /// Where the journal and the logs go (a fresh temporary directory by default).
    public var directory: String?

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
        options.coordinatorArguments = ["--batch", String(batch)]
        let cluster = try LocalCluster(options: options)
        defer { cluster.stop(grace: 3) }
        try cluster.start()
        guard let coordinatorPID = cluster.coordinatorPID else { throw LocalClusterError("no coordinator") }
        let client = try ClusterClient(endpoint: cluster.endpoint, keys: nil)
        defer { client.close() }

        // Wait for every worker to join, so the clock measures dispatch, not start-up.
        let joinDeadline = Date().addingTimeInterval(30)
        while true {
            if case .status(let status)? = try? client.request(.status, timeout: 5), status.workers.count >= workers { break }
            if let problem = cluster.health() { throw LocalClusterError(problem) }
            if Date() > joinDeadline { throw LocalClusterError("the workers did not join within 30 s; see \(options.logPath!)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        note("\(workers) workers joined; submitting \(tasks) no-op tasks")
        let submission = RunSubmission(kind: "noop", taskCount: tasks, label: "bench dispatch", spec: Array("bench \(UUID())".utf8))
        guard case .submitted(let run, _) = try client.request(.submit(submission), timeout: 10) else {
            throw LocalClusterError("the coordinator refused the benchmark run")
        }
        var samples: [Sample] = []
        var nextMark = 10_000
        var lastNote = Date()
        while true {
            Thread.sleep(forTimeInterval: 0.05)
            if let problem = cluster.health() { throw LocalClusterError(problem) }
            guard case .status(let status)? = try? client.request(.status, timeout: 10),
                let current = status.runs.first(where: { $0.id == run })
            else { continue }
            let finished = current.done + current.failed
            while finished >= nextMark, nextMark < tasks, let memory = LocalCluster.memory(pid: coordinatorPID) {
                samples.append(Sample(done: finished, resident: memory.resident, peak: memory.peak))
                nextMark *= 10
            }
            if Date().timeIntervalSince(lastNote) > 5 {
                lastNote = Date()
                note("\(finished) of \(tasks) tasks, \(Int(current.throughput)) tasks/s")
            }
            if current.phase.isFinished, let end = current.finishedAt {
                let memory = LocalCluster.memory(pid: coordinatorPID)
                if let memory { samples.append(Sample(done: finished, resident: memory.resident, peak: memory.peak)) }
                return Result(
                    tasks: tasks, seconds: end - current.createdAt, failed: current.failed, samples: samples,
                    peakResident: memory?.peak ?? 0)
            }
        }
    }
}
