// What goes in and out of `CoordinatorState`: its configuration, the actions it asks
// the shell to perform, the journal changes among them, and the snapshot it recovers from.

import DuetSupport

/// The coordinator's knobs.
public struct CoordinatorConfig: Sendable, Hashable {
    /// Seconds between heartbeats in both directions.
    public var heartbeatInterval: Double = 1
    /// Heartbeat intervals of silence after which a worker is declared lost.
    public var liveness: Int = 3
    /// Failed attempts (errors, lost workers) after which a task is recorded as failed.
    public var maxAttempts: Int = 3
    /// How long a lease may go unlisted in the worker's heartbeats before it is taken as
    /// lost in transit and re-queued (nil: `heartbeatInterval × liveness`).
    public var assignmentGrace: Double? = nil
    /// Seconds over which throughput is measured.
    public var throughputWindow: Double = 30
    /// Failed attempts kept for status.
    public var recentFailureLimit = 20
    /// Finished runs kept in memory for status (older ones are in the journal).
    public var finishedRunsKept = 16
    /// The most a worker may ask to prefetch beyond its slots.
    public var maxPrefetch = 256
    public var limits: WireLimits = .default
    /// The largest blob chunk sent in one message.
    public var blobChunkBytes = 4 << 20
    /// Error texts are cut to this many bytes before they are journaled.
    public var maxErrorBytes = 4096
    /// The most results one RESULTS reply may carry.
    public var maxResultsPerPage = 10_000
    /// Seconds an attempt of a task kind may hold its lease before the coordinator takes
    /// it back (re-queued as a failed attempt, `CANCEL` to the worker), however alive the
    /// worker is. `.infinity` means no deadline. Kinds not listed get `defaultTaskDeadline`.
    public var taskDeadlines: [String: Double] = CoordinatorConfig.standardTaskDeadlines
    /// The deadline of kinds not in `taskDeadlines`.
    public var defaultTaskDeadline: Double = 24 * 3600
    /// The journal's epoch (`Journal.epoch`), said in every `WELCOME`. Results, failures
    /// and hello-listed attempts that name another epoch come from another journal and
    /// are never accepted. Nil: no epoch (nothing is refused for its epoch).
    public var epoch: String? = nil
    /// Seconds an unfinished run may go without a client asking about it (`SUBMIT` of the
    /// same run, `RESULTS` of it, `CANCELRUN`) before the coordinator cancels it as
    /// abandoned, so a client killed mid-run cannot keep the cluster busy forever.
    /// `.infinity` (the default here; `duet coordinator` sets 600): never. Clients following
    /// a run ask several times a second.
    public var abandonAfter: Double = .infinity

    /// Generous on purpose: a deadline catches a hung task, it must never cut real work.
    public static let standardTaskDeadlines: [String: Double] = [
        "sweep-point": 6 * 3600, "sweep-chosen-point": 6 * 3600, "train-trial": 24 * 3600, "noop": 3600,
    ]

    public init() {}

    /// The deadline of an attempt of `kind`, in seconds (`.infinity`: none).
    public func taskDeadline(for kind: String) -> Double { taskDeadlines[kind] ?? defaultTaskDeadline }

    var grace: Double { assignmentGrace ?? heartbeatInterval * Double(liveness) }
    var silenceLimit: Double { heartbeatInterval * Double(liveness) }
}

/// One deadline setting as an operator writes it (`duet coordinator --task-deadline`):
/// `KIND=SECONDS`, `*=SECONDS` for every kind not named, `KIND=none` for no deadline.
public struct TaskDeadlineSetting: Sendable, Hashable, CustomStringConvertible {
    /// nil: the default for kinds not named.
    public var kind: String?
    /// Positive seconds, or `.infinity` for none.
    public var seconds: Double

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(kind: String?, seconds: Double) {
        self.kind = kind
        self.seconds = seconds
    }

    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw ParseError(
                description: "task deadline \"\(text)\": expected KIND=SECONDS (train-trial=86400), *=SECONDS or KIND=none")
        }
        let kind = String(text[..<equals])
        let value = String(text[text.index(after: equals)...])
        guard (1...64).contains(kind.count) else {
            throw ParseError(
                description:
                    "task deadline \"\(text)\": the kind before \"=\" must be 1-64 characters (a task kind such as sweep-point, or *)")
        }
        self.kind = kind == "*" ? nil : kind
        if value == "none" {
            seconds = .infinity
        } else if let seconds = Double(value), seconds.isFinite, seconds > 0 {
            self.seconds = seconds
        } else {
            throw ParseError(
                description: "task deadline \"\(text)\": \"\(value)\" is not a positive number of seconds or none")
        }
    }

    public func apply(to config: inout CoordinatorConfig) {
        if let kind { config.taskDeadlines[kind] = seconds } else { config.defaultTaskDeadline = seconds }
    }

    public var description: String { "\(kind ?? "*")=\(seconds.isFinite ? String(seconds) : "none")" }
}

/// A log line for the shell's Logger; `metadata` carries `task.id`, `worker.id`, `run.id`.
public struct LogEntry: Sendable, Hashable, CustomStringConvertible {
    public enum Level: String, Sendable, Hashable, Comparable {
        case debug, info, notice, warning, error
        private var rank: Int {
            switch self {
            case .debug: return 0
            case .info: return 1
            case .notice: return 2
            case .warning: return 3
            case .error: return 4
            }
        }
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
    }

    public var level: Level
    public var message: String
    public var metadata: [String: String]

    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }

    public var description: String {
        let meta = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(level.rawValue): \(message)" + (meta.isEmpty ? "" : " [\(meta)]")
    }
}

/// A run as the journal stores it.
public struct RunRecord: Sendable, Hashable {
    public var id: RunID
    public var kind: String
    public var label: String
    public var spec: BlobHash
    public var taskCount: Int
    public var payload: JSON
    public var blobs: [BlobHash]
    public var maxAttempts: Int
    public var createdAt: Double

    public init(
        id: RunID, kind: String, label: String, spec: BlobHash, taskCount: Int, payload: JSON, blobs: [BlobHash],
        maxAttempts: Int, createdAt: Double
    ) {
        self.id = id
        self.kind = kind
        self.label = label
        self.spec = spec
        self.taskCount = taskCount
        self.payload = payload
        self.blobs = blobs
        self.maxAttempts = maxAttempts
        self.createdAt = createdAt
    }
}

/// A worker as the journal remembers it (for `duet status --journal`).
public struct WorkerRecord: Sendable, Hashable {
    public var id: String
    public var host: String
    public var pid: Int
    public var version: String
    public var slots: Int
    public var at: Double

    public init(id: String, host: String, pid: Int, version: String, slots: Int, at: Double) {
        self.id = id
        self.host = host
        self.pid = pid
        self.version = version
        self.slots = slots
        self.at = at
    }
}

/// A durable state change. The shell commits every change of a batch of actions
/// before it performs any `send`, `reply`, `serveBlob` or `serveResults` that
/// follows it in the batch: nothing is acknowledged or assigned before it is on disk.
public enum JournalChange: Sendable, Hashable {
    case createRun(RunRecord)
    case storeBlob(BlobHash, [UInt8])
    /// The attempt is leased to `worker` (creates the task's row on its first lease).
    case lease(TaskAttempt, worker: String, at: Double)
    /// The lease ended without a result; the task waits for another attempt.
    /// `failures` counts failed attempts so far, `error` is the latest (nil when the
    /// lease was returned or lost in transit, which does not count).
    case requeue(TaskID, failures: Int, error: String?, at: Double)
    /// The first valid result: insert it (exactly once) and mark the task done.
    case complete(TaskAttempt, worker: String, payload: [UInt8], at: Double)
    /// The failed attempt charged when the attempt's worker was declared lost is given
    /// back (the worker came back with it: adopted, or its result accepted); `failures`
    /// is the count after the refund.
    case refund(TaskAttempt, failures: Int, at: Double)
    /// The task ran out of attempts: recorded as failed with its last error.
    case fail(TaskAttempt, failures: Int, error: String, worker: String?, at: Double)
    /// The run's phase changed; finishing phases also set its finish time (and a
    /// cancelled run's unfinished tasks become `cancelled`).
    case setPhase(RunID, RunPhase, at: Double)
    case workerJoined(WorkerRecord)
    case workerLeft(String, reason: String, at: Double)
    /// A coordinator started on this journal: workers recorded as present are gone.
    case coordinatorStarted(at: Double)
}

/// A task that was handed out but not finished when the journal was last written;
/// it comes back queued.
public struct PendingTask: Sendable, Hashable {
    public var index: Int
    /// Attempts issued so far (the next lease is `attempts + 1`).
    public var attempts: Int
    public var failures: Int
    public var lastError: String?

    public init(index: Int, attempts: Int, failures: Int, lastError: String? = nil) {
        self.index = index
        self.attempts = attempts
        self.failures = failures
        self.lastError = lastError
    }
}

/// An unfinished run as the journal has it.
///
/// Finished tasks are not listed: tasks are handed out in index order, so every index
/// below `generated` has been handed out, and those not in `pending` are finished
/// (done or failed). That complement is the compact form of the done set: O(tasks in
/// flight at the crash), whatever the run's size.
public struct RecoveredRun: Sendable, Hashable {
    public var record: RunRecord
    /// Indices `0 ..< generated` were handed out at least once.
    public var generated: Int
    public var done: Int
    public var failed: Int
    public var pending: [PendingTask]

    public init(record: RunRecord, generated: Int, done: Int, failed: Int, pending: [PendingTask]) {
        self.record = record
        self.generated = generated
        self.done = done
        self.failed = failed
        self.pending = pending
    }
}

/// What a restarted coordinator needs from the journal.
public struct JournalSnapshot: Sendable, Hashable {
    /// Unfinished runs, oldest first.
    public var runs: [RecoveredRun]
    /// The next run number to use (one past the highest ever used).
    public var nextRunID: RunID
    /// Hashes of the blobs the journal holds.
    public var blobs: Set<BlobHash>
    /// Most recent first.
    public var recentFailures: [FailureRecord]

    public init(runs: [RecoveredRun], nextRunID: RunID, blobs: Set<BlobHash>, recentFailures: [FailureRecord] = []) {
        self.runs = runs
        self.nextRunID = nextRunID
        self.blobs = blobs
        self.recentFailures = recentFailures
    }

    public static let empty = JournalSnapshot(runs: [], nextRunID: RunID(1), blobs: [])
}

/// A progress report for whoever decides (the ASHA scheduler, later); answer with
/// `CoordinatorState.decide(_:_:now:)`.
public struct ProgressReport: Sendable, Hashable {
    public var task: TaskAttempt
    public var kind: String
    public var worker: PeerID
    public var report: JSON
    public var time: Double

    public init(task: TaskAttempt, kind: String, worker: PeerID, report: JSON, time: Double) {
        self.task = task
        self.kind = kind
        self.worker = worker
        self.report = report
        self.time = time
    }
}

/// What the coordinator's shell must do, in order.
public enum CoordinatorAction: Sendable, Hashable {
    /// Commit before any later send, reply or serve of the same batch.
    case journal(JournalChange)
    case send(to: PeerID, CoordinatorMessage)
    case reply(to: PeerID, ClientReply)
    /// Read up to `maxBytes` of the blob from `offset` out of the journal and send it as
    /// `.blob` (or `.blobMissing` if the journal has no such blob).
    case serveBlob(to: PeerID, BlobHash, offset: Int, maxBytes: Int)
    /// Read a page of results from the journal and reply `.results` (an `.error` reply
    /// for a run the journal does not know).
    case serveResults(to: PeerID, run: RunID, from: Int, limit: Int)
    /// A progress report to decide on.
    case progress(ProgressReport)
    case log(LogEntry)
}

extension CoordinatorAction {
    /// The journal change, if this is one.
    public var journalChange: JournalChange? {
        if case .journal(let change) = self { return change }
        return nil
    }
}
