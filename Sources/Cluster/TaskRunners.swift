// What a worker can run: a registry from task kind to runner. A task is generic on the
// wire (kind, the run's payload, the spec blob, the index); the runner for its kind
// derives its inputs from them. Payloads and specs are data: a worker runs only the
// runners compiled into it.
//
//     var registry = TaskRegistry.standard          // noop
//     registry.register(SweepPointRunner.kind, SweepPointRunner())   // from the layers above
//
// This layer knows no task of Duet's domain: the targets above register theirs
// (`sweep-point` in Sweeps, `train-trial` in Pipeline), and `duet worker` hands the
// registry to its `WorkerNode`.
//
// Runners run on the worker's task threads, never on its socket loop, so a long task
// never delays a heartbeat.

import ClusterCore
import DuetSupport
import Foundation

/// One task as a runner sees it.
public struct TaskContext: Sendable {
    public let attempt: TaskAttempt
    public let kind: String
    /// The run's parameters (the same for every task of the run).
    public let payload: JSON
    public let spec: BlobHash
    public let blobs: [BlobHash]
    /// The worker's identity (`host-pid-random`), for records of where work ran.
    public let worker: String
    let store: BlobStore
    let control: TaskControl

    /// The task's index in its run.
    public var index: Int { attempt.task.index }

    /// The bytes of the run's spec blob (in the worker's cache before the task starts).
    public var specBytes: [UInt8] { store.bytes(spec) ?? [] }

    /// The bytes of one of the task's blobs.
    public func blob(_ hash: BlobHash) -> [UInt8]? { store.bytes(hash) }

    /// True once the coordinator cancelled the task (another attempt won, the run was
    /// cancelled, the worker is stopping): a runner that checks it may stop early.
    public var isCancelled: Bool { control.isCancelled }

    /// Sends an intermediate report (a validation loss) to the coordinator; its
    /// decision arrives later in `latestDecision`.
    public func report(_ progress: JSON) { control.report(progress) }

    /// The coordinator's latest answer to a report: `.stop` asks the runner to finish
    /// now and return its result so far.
    public var latestDecision: Decision? { control.decision }
}

/// Runs one kind of task. Throwing reports a failure with the error's description.
public protocol TaskRunner: Sendable {
    func run(_ task: TaskContext) throws -> [UInt8]
}

/// A failure a runner reports, with a message meant for the status's recent failures.
public struct TaskFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The runners a worker knows, by kind.
public struct TaskRegistry: Sendable {
    private var runners: [String: any TaskRunner] = [:]

    public init() {}

    public mutating func register(_ kind: String, _ runner: any TaskRunner) { runners[kind] = runner }

    public func runner(for kind: String) -> (any TaskRunner)? { runners[kind] }

    public var kinds: [String] { runners.keys.sorted() }

    /// The generic kinds: `noop`.
    public static var standard: TaskRegistry {
        var registry = TaskRegistry()
        registry.register(NoopRunner.kind, NoopRunner())
        return registry
    }
}

// MARK: - noop

/// Does nothing (the dispatch benchmark, tests). Payload, all optional:
/// `{"sleepMs": 250}` sleeps that long first (checking for cancellation),
/// `{"resultBytes": 16}` returns that many zero bytes, `{"fail": "message"}` fails,
/// `{"hangAttempts": 1}` makes attempts up to that number hang for good, deaf to
/// cancellation (a stuck task, for tests of task deadlines).
public struct NoopRunner: TaskRunner {
    public static let kind = "noop"

    public init() {}

    public func run(_ task: TaskContext) throws -> [UInt8] {
        if case .integer(let hung)? = task.payload["hangAttempts"], task.attempt.attempt <= hung {
            while true { Thread.sleep(forTimeInterval: 0.1) }
        }
        if case .integer(let milliseconds)? = task.payload["sleepMs"], milliseconds > 0 {
            let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
            while Date() < deadline, !task.isCancelled {
                Thread.sleep(forTimeInterval: min(0.02, max(0, deadline.timeIntervalSinceNow)))
            }
        }
        if case .string(let message)? = task.payload["fail"] { throw TaskFailure(message) }
        if case .integer(let count)? = task.payload["resultBytes"], count > 0 {
            return [UInt8](repeating: 0, count: min(count, 1 << 20))
        }
        return []
    }
}

// MARK: - Plumbing shared with the worker shell

/// Per-task cancellation, decisions and progress reports, shared between the task's
/// thread and the worker's loop.
final class TaskControl: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var abandoned = false
    private var ended = false
    private var latest: Decision?
    private let onReport: @Sendable (JSON) -> Void

    init(onReport: @escaping @Sendable (JSON) -> Void) { self.onReport = onReport }

    var isCancelled: Bool { lock.withLock { cancelled } }
    var decision: Decision? { lock.withLock { latest } }

    /// Cancels, and gives up waiting for the task: true if it has not ended yet (then
    /// its thread ends with it and the caller starts another in its place).
    func abandon() -> Bool {
        lock.withLock {
            cancelled = true
            abandoned = !ended
            return abandoned
        }
    }

    /// The task's thread is done with it: true if it was abandoned meanwhile.
    func end() -> Bool {
        lock.withLock {
            ended = true
            return abandoned
        }
    }

    func deliver(_ decision: Decision) { lock.withLock { latest = decision } }
    func report(_ progress: JSON) { onReport(progress) }
}

/// The worker's blob cache, by SHA-256: in memory, and in a directory when one is given
/// (then blobs survive a worker restart). Downloads are assembled in memory and
/// verified before they enter the cache. Thread-safe: the loop writes, tasks read.
final class BlobStore: @unchecked Sendable {
    private let lock = NSLock()
    private var blobs: [BlobHash: [UInt8]] = [:]
    private var partial: [BlobHash: [UInt8]] = [:]
    let directory: String?

    /// Loads (and verifies) the blobs already in `directory`, creating it if needed.
    init(directory: String?) throws {
        self.directory = directory
        guard let directory else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let hash = BlobHash(hex: name) else { continue }
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            if BlobHash(of: bytes) == hash { blobs[hash] = bytes } else { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    var hashes: Set<BlobHash> { lock.withLock { Set(blobs.keys) } }

    func bytes(_ hash: BlobHash) -> [UInt8]? { lock.withLock { blobs[hash] } }

    func write(_ chunk: BlobChunk) {
        lock.withLock {
            var buffer = partial[chunk.hash] ?? []
            if buffer.count != chunk.offset { buffer.removeAll() }
            guard buffer.count == chunk.offset else { return }
            if buffer.isEmpty { buffer.reserveCapacity(chunk.total) }
            buffer.append(contentsOf: chunk.bytes)
            partial[chunk.hash] = buffer
        }
    }

    /// Verifies a finished download and moves it into the cache; false on a mismatch.
    func finish(_ hash: BlobHash, size: Int) -> Bool {
        let buffer = lock.withLock { partial.removeValue(forKey: hash) } ?? []
        guard buffer.count == size, BlobHash(of: buffer) == hash else { return false }
        if let directory {
            let path = (directory as NSString).appendingPathComponent(hash.hex)
            try? Data(buffer).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        lock.withLock { blobs[hash] = buffer }
        return true
    }

    func discard(_ hash: BlobHash) {
        _ = lock.withLock { partial.removeValue(forKey: hash) }
    }
}
