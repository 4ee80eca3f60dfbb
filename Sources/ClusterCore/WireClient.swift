// Messages between clients (`duet sweep`, `duet status`, a search driver) and the coordinator.

import DuetSupport

/// A run to start: `taskCount` tasks of `kind`; task `i` is whatever the worker's
/// runner for `kind` derives from the spec and `i` (a design point, a trial).
public struct RunSubmission: Sendable, Hashable {
    public var kind: String
    public var taskCount: Int
    /// Parameters every task of the run receives.
    public var payload: JSON
    /// Blobs (already uploaded with `putBlob`) every task needs.
    public var blobs: [BlobHash]
    /// A human label for status ("quickstart sweep").
    public var label: String
    /// Overrides the coordinator's attempt limit for this run.
    public var maxAttempts: Int?
    /// The generator description (sweep spec, search space): the binary body.
    public var spec: [UInt8]

    public init(
        kind: String, taskCount: Int, payload: JSON = .emptyObject, blobs: [BlobHash] = [], label: String = "",
        maxAttempts: Int? = nil, spec: [UInt8]
    ) {
        self.kind = kind
        self.taskCount = taskCount
        self.payload = payload
        self.blobs = blobs
        self.label = label
        self.maxAttempts = maxAttempts
        self.spec = spec
    }
}

/// Client → coordinator.
public enum ClientRequest: Sendable, Hashable {
    /// Starts a run, or resumes the unfinished run with the same kind, spec and task count.
    case submit(RunSubmission)
    /// Stores a blob; the reply names its hash.
    case putBlob([UInt8])
    case status
    /// Finished tasks of a run in index order, from `from`, at most `limit`.
    case results(run: RunID, from: Int, limit: Int)
    case cancel(run: RunID)
}

/// One finished task in a results page.
public struct ResultItem: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case done([UInt8])
        case failed(error: String)
    }
    public var index: Int
    public var outcome: Outcome
    public init(index: Int, outcome: Outcome) {
        self.index = index
        self.outcome = outcome
    }
}

/// A page of a run's results.
public struct ResultPage: Sendable, Hashable {
    public var run: RunID
    public var items: [ResultItem]
    /// The index to ask for next.
    public var next: Int
    /// True when no item at or beyond `next` will ever appear (the run is finished and
    /// everything up to its end was returned).
    public var complete: Bool
    /// True when the run was cancelled (`CANCELRUN`, or abandoned by its clients): the
    /// tasks missing from it will never finish. Sent only when true.
    public var cancelled: Bool

    public init(run: RunID, items: [ResultItem], next: Int, complete: Bool, cancelled: Bool = false) {
        self.run = run
        self.items = items
        self.next = next
        self.complete = complete
        self.cancelled = cancelled
    }
}

/// Coordinator → client.
public enum ClientReply: Sendable, Hashable {
    case submitted(run: RunID, resumed: Bool)
    case blobStored(BlobHash, size: Int)
    case status(ClusterStatus)
    case results(ResultPage)
    case cancelled(run: RunID)
    /// The request was refused; `message` says why and what to do.
    case error(String)
}

// MARK: - Coding

enum ClientType {
    static let submit: [UInt8] = Array("SUBMIT".utf8)
    static let putBlob: [UInt8] = Array("PUTBLOB".utf8)
    static let status: [UInt8] = Array("STATUS".utf8)
    static let results: [UInt8] = Array("RESULTS".utf8)
    static let cancel: [UInt8] = Array("CANCELRUN".utf8)
    static let submitted: [UInt8] = Array("SUBMITTED".utf8)
    static let blobStored: [UInt8] = Array("BLOBSTORED".utf8)
    static let cancelled: [UInt8] = Array("CANCELLED".utf8)
    static let error: [UInt8] = Array("ERROR".utf8)
}

extension ClientRequest {
    public var typeName: String {
        switch self {
        case .submit: return "SUBMIT"
        case .putBlob: return "PUTBLOB"
        case .status: return "STATUS"
        case .results: return "RESULTS"
        case .cancel: return "CANCELRUN"
        }
    }

    public func encoded() -> [[UInt8]] {
        switch self {
        case .submit(let s):
            return Envelope.frames(
                type: ClientType.submit,
                header: JSONWriter.object(capacity: 256) { w in
                    w.field("kind", s.kind)
                    w.field("taskCount", s.taskCount)
                    w.field("payload", s.payload)
                    w.field("blobs", hashes: s.blobs)
                    w.field("label", s.label)
                    if let maxAttempts = s.maxAttempts { w.field("maxAttempts", maxAttempts) }
                }, body: s.spec)
        case .putBlob(let bytes):
            return Envelope.frames(type: ClientType.putBlob, header: Envelope.emptyHeader, body: bytes)
        case .status:
            return Envelope.frames(type: ClientType.status, header: Envelope.emptyHeader)
        case .results(let run, let from, let limit):
            return Envelope.frames(
                type: ClientType.results,
                header: JSONWriter.object { w in
                    w.field("run", run.rawValue)
                    w.field("from", from)
                    w.field("limit", limit)
                })
        case .cancel(let run):
            return Envelope.frames(type: ClientType.cancel, header: JSONWriter.object { w in w.field("run", run.rawValue) })
        }
    }

    public static func decode(_ frames: [[UInt8]], limits: WireLimits = .default) throws(WireError) -> ClientRequest {
        let raw = try Envelope.split(frames, limits: limits)
        switch raw.type {
        case "SUBMIT":
            let spec = try raw.requireBody()
            let h = try raw.header(limits: limits)
            let kind = try h.string("kind")
            guard !kind.isEmpty, kind.utf8.count <= 64 else { throw h.fail("kind", "must be 1-64 characters") }
            return .submit(
                RunSubmission(
                    kind: kind, taskCount: try h.int("taskCount", atLeast: 0), payload: h.json["payload"] ?? .emptyObject,
                    blobs: try h.hashes("blobs"), label: try h.optionalString("label") ?? "",
                    maxAttempts: try h.optionalInt("maxAttempts", atLeast: 1), spec: spec))
        case "PUTBLOB":
            let bytes = try raw.requireBody()
            _ = try raw.header(limits: limits)
            return .putBlob(bytes)
        case "STATUS":
            try raw.forbidBody()
            _ = try raw.header(limits: limits)
            return .status
        case "RESULTS":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .results(
                run: RunID(try h.int("run", atLeast: 1)), from: try h.optionalInt("from", atLeast: 0) ?? 0,
                limit: try h.optionalInt("limit", atLeast: 1) ?? 1000)
        case "CANCELRUN":
            try raw.forbidBody()
            return .cancel(run: RunID(try raw.header(limits: limits).int("run", atLeast: 1)))
        default:
            throw .unknownType(raw.type)
        }
    }
}

extension ClientReply {
    public var typeName: String {
        switch self {
        case .submitted: return "SUBMITTED"
        case .blobStored: return "BLOBSTORED"
        case .status: return "STATUS"
        case .results: return "RESULTS"
        case .cancelled: return "CANCELLED"
        case .error: return "ERROR"
        }
    }

    public func encoded() -> [[UInt8]] {
        switch self {
        case .submitted(let run, let resumed):
            return Envelope.frames(
                type: ClientType.submitted,
                header: JSONWriter.object { w in
                    w.field("run", run.rawValue)
                    w.field("resumed", resumed)
                })
        case .blobStored(let hash, let size):
            return Envelope.frames(
                type: ClientType.blobStored,
                header: JSONWriter.object { w in
                    w.field("hash", hash.hex)
                    w.field("size", size)
                })
        case .status(let status):
            return Envelope.frames(type: ClientType.status, header: status.json.bytes)
        case .results(let page):
            var body: [UInt8] = []
            let header = JSONWriter.object(capacity: 64 + 24 * page.items.count) { w in
                w.field("run", page.run.rawValue)
                w.field("next", page.next)
                w.field("complete", page.complete)
                if page.cancelled { w.field("cancelled", true) }
                w.key("items")
                w.beginArray()
                for item in page.items {
                    w.beginObject()
                    w.field("index", item.index)
                    switch item.outcome {
                    case .done(let bytes):
                        w.field("bytes", bytes.count)
                        body.append(contentsOf: bytes)
                    case .failed(let error):
                        w.field("error", error)
                    }
                    w.endObject()
                }
                w.endArray()
            }
            return Envelope.frames(type: ClientType.results, header: header, body: body)
        case .cancelled(let run):
            return Envelope.frames(type: ClientType.cancelled, header: JSONWriter.object { w in w.field("run", run.rawValue) })
        case .error(let message):
            return Envelope.frames(type: ClientType.error, header: JSONWriter.object { w in w.field("message", message) })
        }
    }

    public static func decode(_ frames: [[UInt8]], limits: WireLimits = .default) throws(WireError) -> ClientReply {
        let raw = try Envelope.split(frames, limits: limits)
        switch raw.type {
        case "SUBMITTED":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .submitted(run: RunID(try h.int("run", atLeast: 1)), resumed: try h.bool("resumed", default: false))
        case "BLOBSTORED":
            try raw.forbidBody()
            let h = try raw.header(limits: limits)
            return .blobStored(try h.hash("hash"), size: try h.int("size", atLeast: 0))
        case "STATUS":
            try raw.forbidBody()
            return .status(try ClusterStatus(header: try raw.header(limits: limits)))
        case "RESULTS":
            let body = try raw.requireBody()
            let h = try raw.header(limits: limits)
            var items: [ResultItem] = []
            var offset = 0
            for i in try h.array("items").indices {
                let item = try h.nested("items", i)
                let index = try item.int("index", atLeast: 0)
                if let error = try item.optionalString("error") {
                    items.append(ResultItem(index: index, outcome: .failed(error: error)))
                } else {
                    let count = try item.int("bytes", atLeast: 0)
                    items.append(ResultItem(index: index, outcome: .done(try item.slice(of: body, count: count, at: &offset, field: "bytes"))))
                }
            }
            try h.requireConsumed(body, upTo: offset, field: "items")
            return .results(
                ResultPage(
                    run: RunID(try h.int("run", atLeast: 1)), items: items, next: try h.int("next", atLeast: 0),
                    complete: try h.bool("complete", default: false), cancelled: try h.bool("cancelled", default: false)))
        case "CANCELLED":
            try raw.forbidBody()
            return .cancelled(run: RunID(try raw.header(limits: limits).int("run", atLeast: 1)))
        case "ERROR":
            try raw.forbidBody()
            return .error(try raw.header(limits: limits).string("message"))
        default:
            throw .unknownType(raw.type)
        }
    }
}
