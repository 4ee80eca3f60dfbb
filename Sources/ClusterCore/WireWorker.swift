// Messages between workers and the coordinator (docs/protocol.md lists every field).

import DuetSupport

/// What a worker announces when it connects (and again after every reconnect).
public struct Hello: Sendable, Hashable {
    /// Tasks it runs at once (cores by default).
    public var slots: Int
    /// Extra tasks it is willing to hold queued beyond `slots`, to hide the round trip
    /// for very short tasks. 0 for long tasks (keeps the tail of a sweep balanced).
    public var prefetch: Int
    public var host: String
    public var pid: Int
    /// The software version (`duet --version`), for status and logs.
    public var version: String
    /// Tasks it still holds from an earlier session (after a reconnect), so the
    /// coordinator can adopt them instead of running them again.
    public var running: [TaskAttempt]
    /// The journal epoch (`Welcome.epoch`) under which it holds `running`; nil when it
    /// never had a welcome with one (or from a worker that predates epochs).
    public var epoch: String?
    /// The worker reads `ASSIGNBATCH` and `ACKBATCH` (the coordinator sends it the batch
    /// forms only then); false from a worker that predates them.
    public var batches: Bool

    /// The most slots (and prefetch) a hello may announce.
    public static let maxSlots = 65_536

    public init(slots: Int, prefetch: Int = 0, host: String, pid: Int, version: String, running: [TaskAttempt] = [],
                epoch: String? = nil, batches: Bool = false) {
        self.slots = slots
        self.prefetch = prefetch
        self.host = host
        self.pid = pid
        self.version = version
        self.running = running
        self.epoch = epoch
        self.batches = batches
    }
}

/// Worker → coordinator.
public enum WorkerMessage: Sendable, Hashable {
    case hello(Hello)
    /// Sent every heartbeat interval; lists the tasks the worker holds (running or
    /// queued locally), so lost assignments are noticed.
    case heartbeat(running: [TaskAttempt])
    /// The task's result bytes (the binary frame; may be empty). `epoch`: the journal
    /// epoch the attempt was leased under (nil: unknown, from an older worker).
    case result(TaskAttempt, payload: [UInt8], epoch: String? = nil)
    /// Several results in one message (`RESULTBATCH`), all leased under `epoch`; sent
    /// only to a coordinator whose welcome says it reads them (`Welcome.batches`).
    case resultBatch([TaskResult], epoch: String? = nil)
    /// The task threw; `error` is its text. `epoch` as for `result`.
    case failure(TaskAttempt, error: String, epoch: String? = nil)
    /// An intermediate report (validation loss at an epoch, for ASHA); answered by a `decision`.
    case progress(TaskAttempt, report: JSON)
    /// Asks for the bytes of a blob from `offset` on; answered by `blob` chunks.
    case blobRequest(BlobHash, offset: Int)
    /// The worker leaves and gives back the tasks it held (not counted as failures).
    case goodbye(returning: [TaskAttempt])
}

/// What the coordinator tells a worker after its hello.
public struct Welcome: Sendable, Hashable {
    /// How the coordinator names the worker (its routing identity), for the worker's logs.
    public var workerID: String
    /// Seconds between heartbeats, in both directions.
    public var heartbeatInterval: Double
    /// Heartbeat intervals of silence after which either side declares the other lost.
    public var liveness: Int
    public var maxMessageBytes: Int
    /// The largest chunk of a blob the coordinator sends in one message.
    public var blobChunkBytes: Int
    /// The coordinator's journal's epoch: a random id made with the journal. Attempts
    /// leased under another epoch come from another journal; the worker drops them.
    /// Nil from a coordinator without one (tests, older coordinators).
    public var epoch: String?
    /// The coordinator reads `RESULTBATCH` (the worker sends it only then).
    public var batches: Bool

    public init(workerID: String, heartbeatInterval: Double, liveness: Int, maxMessageBytes: Int, blobChunkBytes: Int,
                epoch: String? = nil, batches: Bool = false) {
        self.workerID = workerID
        self.heartbeatInterval = heartbeatInterval
        self.liveness = liveness
        self.maxMessageBytes = maxMessageBytes
        self.blobChunkBytes = blobChunkBytes
        self.epoch = epoch
        self.batches = batches
    }
}

/// One task for a worker: what kind, the run's JSON payload and the blobs it needs.
/// The worker derives the task's inputs from the spec blob and the index.
public struct Assignment: Sendable, Hashable {
    public var task: TaskAttempt
    /// The kind of work ("sweep", "trial", "noop"); the worker picks its runner by it.
    public var kind: String
    /// The run's parameters, the same for every task of the run.
    public var payload: JSON
    /// The run's spec (the generator description: a sweep spec, a search space).
    public var spec: BlobHash
    /// Further blobs the task reads (datasets, initial weights).
    public var blobs: [BlobHash]

    public init(task: TaskAttempt, kind: String, payload: JSON, spec: BlobHash, blobs: [BlobHash]) {
        self.task = task
        self.kind = kind
        self.payload = payload
        self.spec = spec
        self.blobs = blobs
    }

    /// The spec and the other blobs.
    public var allBlobs: [BlobHash] { [spec] + blobs }
}

/// Assignments of one run in one message (`ASSIGNBATCH`): the run's kind, payload,
/// spec and blobs once, then the attempts. The coordinator merges a turn's assignments
/// to a worker this way (`OutgoingBatches`), so that a task costs no message of its own.
public struct AssignmentBatch: Sendable, Hashable {
    public var tasks: [TaskAttempt]
    public var kind: String
    public var payload: JSON
    public var spec: BlobHash
    public var blobs: [BlobHash]

    /// A batch holding `first` alone.
    public init(_ first: Assignment) {
        tasks = [first.task]
        kind = first.kind
        payload = first.payload
        spec = first.spec
        blobs = first.blobs
    }

    public init(tasks: [TaskAttempt], kind: String, payload: JSON, spec: BlobHash, blobs: [BlobHash]) {
        self.tasks = tasks
        self.kind = kind
        self.payload = payload
        self.spec = spec
        self.blobs = blobs
    }

    /// The batch as one assignment per task, in order.
    public var assignments: [Assignment] {
        tasks.map { Assignment(task: $0, kind: kind, payload: payload, spec: spec, blobs: blobs) }
    }
}

/// One finished attempt and its result bytes, in a `RESULTBATCH`.
public struct TaskResult: Sendable, Hashable {
    public var attempt: TaskAttempt
    public var payload: [UInt8]
    public init(_ attempt: TaskAttempt, payload: [UInt8]) {
        self.attempt = attempt
        self.payload = payload
    }
}

/// A piece of a blob: bytes `offset ..< offset + bytes.count` of `total`.
public struct BlobChunk: Sendable, Hashable {
    public var hash: BlobHash
    public var offset: Int
    public var total: Int
    public var bytes: [UInt8]

    public init(hash: BlobHash, offset: Int, total: Int, bytes: [UInt8]) {
        self.hash = hash
        self.offset = offset
        self.total = total
        self.bytes = bytes
    }

    public var isLast: Bool { offset + bytes.count >= total }
}

/// Coordinator → worker.
public enum CoordinatorMessage: Sendable, Hashable {
    case welcome(Welcome)
    case assign(Assignment)
    /// Several assignments of one run (sent only to a worker whose hello says it reads them).
    case assignBatch(AssignmentBatch)
    /// The coordinator committed the worker's result or failure for this attempt (or
    /// ignored it as late or duplicate): the worker can forget it.
    case ack(TaskAttempt)
    /// `ack` for several attempts (to a worker whose hello says it reads them).
    case ackBatch([TaskAttempt])
    case decision(TaskAttempt, Decision)
    case blob(BlobChunk)
    /// The coordinator has no blob with this hash.
    case blobMissing(BlobHash)
    case heartbeat
    /// Stop this attempt (its run was cancelled, or another attempt already finished it); do not report it.
    case cancel(TaskAttempt)
    /// The coordinator does not know this worker (it restarted, or declared the worker
    /// lost): say hello again, listing the tasks still held.
    case reconnect(reason: String)
    /// Exit.
    case shutdown(reason: String)
}

// MARK: - Type names

enum WorkerType {
    static let hello: [UInt8] = Array("HELLO".utf8)
    static let heartbeat: [UInt8] = Array("HEARTBEAT".utf8)
    static let result: [UInt8] = Array("RESULT".utf8)
    static let failure: [UInt8] = Array("FAILURE".utf8)
    static let progress: [UInt8] = Array("PROGRESS".utf8)
    static let blobRequest: [UInt8] = Array("BLOBREQ".utf8)
    static let goodbye: [UInt8] = Array("GOODBYE".utf8)
    static let resultBatch: [UInt8] = Array("RESULTBATCH".utf8)
}

enum CoordinatorType {
    static let welcome: [UInt8] = Array("WELCOME".utf8)
    static let assign: [UInt8] = Array("ASSIGN".utf8)
    static let assignBatch: [UInt8] = Array("ASSIGNBATCH".utf8)
    static let ack: [UInt8] = Array("ACK".utf8)
    static let ackBatch: [UInt8] = Array("ACKBATCH".utf8)
    static let decision: [UInt8] = Array("DECISION".utf8)
    static let blob: [UInt8] = Array("BLOB".utf8)
    static let blobMissing: [UInt8] = Array("NOBLOB".utf8)
    static let heartbeat: [UInt8] = Array("HEARTBEAT".utf8)
    static let cancel: [UInt8] = Array("CANCEL".utf8)
    static let reconnect: [UInt8] = Array("RECONNECT".utf8)
    static let shutdown: [UInt8] = Array("SHUTDOWN".utf8)
}

// MARK: - Worker → coordinator coding

extension WorkerMessage {
    /// The wire type ("HELLO", "RESULT", ...).
    public var typeName: String {
        switch self {
        case .hello: return "HELLO"
        case .heartbeat: return "HEARTBEAT"
        case .result: return "RESULT"
        case .resultBatch: return "RESULTBATCH"
        case .failure: return "FAILURE"
        case .progress: return "PROGRESS"
        case .blobRequest: return "BLOBREQ"
        case .goodbye: return "GOODBYE"
        }
    }

    /// The frames (without routing frames).
    public func encoded() -> [[UInt8]] {
        switch self {
        case .hello(let hello):
            return Envelope.frames(
                type: WorkerType.hello,
                header: JSONWriter.object { w in
                    w.field("slots", hello.slots)
                    w.field("prefetch", hello.prefetch)
                    w.field("host", hello.host)
                    w.field("pid", hello.pid)
                    w.field("version", hello.version)
                    w.field("running", attempts: hello.running)
                    if let epoch = hello.epoch { w.field("epoch", epoch) }
                    if hello.batches { w.field("batches", true) }
                })
        case .heartbeat(let running):
            return Envelope.frames(
                type: WorkerType.heartbeat, header: JSONWriter.object { w in w.field("running", attempts: running) })
        case .result(let attempt, let payload, let epoch):
            return Envelope.frames(
                type: WorkerType.result,
                header: JSONWriter.object { w in
                    w.taskAttempt(attempt)
                    if let epoch { w.field("epoch", epoch) }
                }, body: payload)
        case .resultBatch(let results, let epoch):
            var body: [UInt8] = []
            body.reserveCapacity(results.reduce(0) { $0 + $1.payload.count })
            for result in results { body += result.payload }
            return Envelope.frames(
                type: WorkerType.resultBatch,
                header: JSONWriter.object(capacity: 32 + 24 * results.count) { w in
                    w.field("tasks", attempts: results.map(\.attempt))
                    w.field("bytes", ints: results.map(\.payload.count))
                    if let epoch { w.field("epoch", epoch) }
                }, body: body)
        case .failure(let attempt, let error, let epoch):
            return Envelope.frames(
                type: WorkerType.failure,
                header: JSONWriter.object { w in
                    w.taskAttempt(attempt)
                    w.field("error", error)
                    if let epoch { w.field("epoch", epoch) }
                })
        case .progress(let attempt, let report):
            return Envelope.frames(
                type: WorkerType.progress,
                header: JSONWriter.object { w in
                    w.taskAttempt(attempt)
                    w.field("report", report)
                })
        case .blobRequest(let hash, let offset):
            return Envelope.frames(
                type: WorkerType.blobRequest,
                header: JSONWriter.object { w in
                    w.field("hash", hash.hex)
                    w.field("offset", offset)
                })
        case .goodbye(let returning):
            return Envelope.frames(
                type: WorkerType.goodbye, header: JSONWriter.object { w in w.field("returning", attempts: returning) })
        }
    }

    /// Decodes a worker's frames (routing frames already stripped).
    public static func decode(_ frames: [[UInt8]], limits: WireLimits = .default) throws(WireError) -> WorkerMessage {
        let raw = try Envelope.split(frames, limits: limits)
        switch raw.type {
        case "HELLO":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .hello(
                Hello(
                    slots: try h.int("slots", atLeast: 1, atMost: Hello.maxSlots),
                    prefetch: try h.optionalInt("prefetch", atLeast: 0, atMost: Hello.maxSlots) ?? 0,
                    host: try h.string("host"), pid: try h.int("pid", atLeast: 0), version: try h.string("version"),
                    running: try h.attempts("running"), epoch: try h.epoch(), batches: try h.bool("batches", default: false)))
        case "HEARTBEAT":
            try raw.forbidBody()
            return .heartbeat(running: try raw.header(limits: limits).attempts("running"))
        case "RESULT":
            let body = try raw.requireBody()
            let h = try raw.header(limits: limits)
            return .result(try h.taskAttempt(), payload: body, epoch: try h.epoch())
        case "RESULTBATCH":
            let body = try raw.requireBody()
            let h = try raw.header(limits: limits)
            let tasks = try h.attempts("tasks")
            let lengths = try h.ints("bytes", atLeast: 0)
            guard !tasks.isEmpty else { throw h.fail("tasks", "expected at least one [run, index, attempt]") }
            guard lengths.count == tasks.count else {
                throw h.fail("bytes", "expected one length per task (\(tasks.count)), found \(lengths.count)")
            }
            var results: [TaskResult] = []
            results.reserveCapacity(tasks.count)
            var offset = 0
            for (task, count) in zip(tasks, lengths) {
                results.append(TaskResult(task, payload: try h.slice(of: body, count: count, at: &offset, field: "bytes")))
            }
            try h.requireConsumed(body, upTo: offset, field: "bytes")
            return .resultBatch(results, epoch: try h.epoch())
        case "FAILURE":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .failure(try h.taskAttempt(), error: try h.string("error"), epoch: try h.epoch())
        case "PROGRESS":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .progress(try h.taskAttempt(), report: try h.value("report"))
        case "BLOBREQ":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .blobRequest(try h.hash("hash"), offset: try h.optionalInt("offset", atLeast: 0) ?? 0)
        case "GOODBYE":
            try raw.forbidBody()
            return .goodbye(returning: try raw.header(limits: limits).attempts("returning"))
        default:
            throw .unknownType(raw.type)
        }
    }
}

// MARK: - Coordinator → worker coding

extension CoordinatorMessage {
    public var typeName: String {
        switch self {
        case .welcome: return "WELCOME"
        case .assign: return "ASSIGN"
        case .assignBatch: return "ASSIGNBATCH"
        case .ack: return "ACK"
        case .ackBatch: return "ACKBATCH"
        case .decision: return "DECISION"
        case .blob: return "BLOB"
        case .blobMissing: return "NOBLOB"
        case .heartbeat: return "HEARTBEAT"
        case .cancel: return "CANCEL"
        case .reconnect: return "RECONNECT"
        case .shutdown: return "SHUTDOWN"
        }
    }

    public func encoded() -> [[UInt8]] {
        switch self {
        case .welcome(let welcome):
            return Envelope.frames(
                type: CoordinatorType.welcome,
                header: JSONWriter.object { w in
                    w.field("worker", welcome.workerID)
                    w.field("heartbeat", welcome.heartbeatInterval)
                    w.field("liveness", welcome.liveness)
                    w.field("maxMessageBytes", welcome.maxMessageBytes)
                    w.field("blobChunkBytes", welcome.blobChunkBytes)
                    if let epoch = welcome.epoch { w.field("epoch", epoch) }
                    if welcome.batches { w.field("batches", true) }
                })
        case .assign(let assignment):
            return Envelope.frames(
                type: CoordinatorType.assign,
                header: JSONWriter.object(capacity: 256) { w in
                    w.taskAttempt(assignment.task)
                    w.field("kind", assignment.kind)
                    w.field("payload", assignment.payload)
                    w.field("spec", assignment.spec.hex)
                    w.field("blobs", hashes: assignment.blobs)
                })
        case .assignBatch(let batch):
            return Envelope.frames(
                type: CoordinatorType.assignBatch,
                header: JSONWriter.object(capacity: 256 + 24 * batch.tasks.count) { w in
                    w.field("kind", batch.kind)
                    w.field("payload", batch.payload)
                    w.field("spec", batch.spec.hex)
                    w.field("blobs", hashes: batch.blobs)
                    w.field("tasks", attempts: batch.tasks)
                })
        case .ack(let attempt):
            return Envelope.frames(type: CoordinatorType.ack, header: JSONWriter.object { w in w.taskAttempt(attempt) })
        case .ackBatch(let attempts):
            return Envelope.frames(
                type: CoordinatorType.ackBatch,
                header: JSONWriter.object(capacity: 16 + 24 * attempts.count) { w in w.field("tasks", attempts: attempts) })
        case .decision(let attempt, let decision):
            return Envelope.frames(
                type: CoordinatorType.decision,
                header: JSONWriter.object { w in
                    w.taskAttempt(attempt)
                    w.field("decision", decision.rawValue)
                })
        case .blob(let chunk):
            return Envelope.frames(
                type: CoordinatorType.blob,
                header: JSONWriter.object { w in
                    w.field("hash", chunk.hash.hex)
                    w.field("offset", chunk.offset)
                    w.field("total", chunk.total)
                }, body: chunk.bytes)
        case .blobMissing(let hash):
            return Envelope.frames(
                type: CoordinatorType.blobMissing, header: JSONWriter.object { w in w.field("hash", hash.hex) })
        case .heartbeat:
            return Envelope.frames(type: CoordinatorType.heartbeat, header: Envelope.emptyHeader)
        case .cancel(let attempt):
            return Envelope.frames(type: CoordinatorType.cancel, header: JSONWriter.object { w in w.taskAttempt(attempt) })
        case .reconnect(let reason):
            return Envelope.frames(type: CoordinatorType.reconnect, header: JSONWriter.object { w in w.field("reason", reason) })
        case .shutdown(let reason):
            return Envelope.frames(type: CoordinatorType.shutdown, header: JSONWriter.object { w in w.field("reason", reason) })
        }
    }

    public static func decode(_ frames: [[UInt8]], limits: WireLimits = .default) throws(WireError) -> CoordinatorMessage {
        let raw = try Envelope.split(frames, limits: limits)
        switch raw.type {
        case "WELCOME":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .welcome(
                Welcome(
                    workerID: try h.string("worker"), heartbeatInterval: try h.double("heartbeat", above: 0),
                    liveness: try h.int("liveness", atLeast: 1), maxMessageBytes: try h.int("maxMessageBytes", atLeast: 1),
                    blobChunkBytes: try h.int("blobChunkBytes", atLeast: 1), epoch: try h.epoch(),
                    batches: try h.bool("batches", default: false)))
        case "ASSIGN":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .assign(
                Assignment(
                    task: try h.taskAttempt(), kind: try h.string("kind"), payload: h.json["payload"] ?? .emptyObject,
                    spec: try h.hash("spec"), blobs: try h.hashes("blobs")))
        case "ASSIGNBATCH":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            let tasks = try h.attempts("tasks")
            guard let run = tasks.first?.task.run else { throw h.fail("tasks", "expected at least one [run, index, attempt]") }
            // The kind, payload, spec and blobs are one run's.
            if let other = tasks.firstIndex(where: { $0.task.run != run }) {
                throw h.fail("tasks[\(other)][0]", "expected run \(run) as in tasks[0], found \(tasks[other].task.run)")
            }
            return .assignBatch(
                AssignmentBatch(
                    tasks: tasks, kind: try h.string("kind"), payload: h.json["payload"] ?? .emptyObject,
                    spec: try h.hash("spec"), blobs: try h.hashes("blobs")))
        case "ACK":
            try raw.forbidBody()
            return .ack(try raw.header(limits: limits).taskAttempt())
        case "ACKBATCH":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            let tasks = try h.attempts("tasks")
            guard !tasks.isEmpty else { throw h.fail("tasks", "expected at least one [run, index, attempt]") }
            return .ackBatch(tasks)
        case "DECISION":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            let text = try h.string("decision")
            guard let decision = Decision(rawValue: text) else {
                throw h.fail("decision", "expected \"continue\" or \"stop\", found \"\(text.prefix(40))\"")
            }
            return .decision(try h.taskAttempt(), decision)
        case "BLOB":
            let body = try raw.requireBody()
            let h = try raw.header(limits: limits)
            let offset = try h.int("offset", atLeast: 0)
            let total = try h.int("total", atLeast: 0)
            guard body.count <= total, offset <= total - body.count else {
                throw h.fail("total", "chunk \(offset)..<\(offset + body.count) runs past the total of \(total) bytes")
            }
            return .blob(BlobChunk(hash: try h.hash("hash"), offset: offset, total: total, bytes: body))
        case "NOBLOB":
            try raw.forbidBody()
            return .blobMissing(try raw.header(limits: limits).hash("hash"))
        case "HEARTBEAT":
            try raw.forbidBody()
            _ = try raw.header(limits: limits)
            return .heartbeat
        case "CANCEL":
            try raw.forbidBody()
            return .cancel(try raw.header(limits: limits).taskAttempt())
        case "RECONNECT":
            try raw.forbidBody()
            return .reconnect(reason: try raw.header(limits: limits).optionalString("reason") ?? "")
        case "SHUTDOWN":
            try raw.forbidBody()
            return .shutdown(reason: try raw.header(limits: limits).optionalString("reason") ?? "")
        default:
            throw .unknownType(raw.type)
        }
    }
}
