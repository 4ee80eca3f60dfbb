// The envelope every Duet message shares, and the typed errors of decoding one.
//
//     frame 0   "DUET/1"          protocol tag and version
//     frame 1   "RESULT"          message type, 1–16 characters A–Z
//     frame 2   {"run":3,...}     header: one JSON object (UTF-8)
//     frame 3   bytes             optional binary body (results, blobs, specs)
//
// ROUTER sockets add routing frames in front; the shells strip them before decoding
// and prepend them when sending. Decoding never traps: whatever arrives, the answer is
// a message or a `WireError` the coordinator logs, counts and drops.

import DuetSupport

/// The protocol's name and version.
public enum WireProtocol {
    public static let version = 1
    public static let tag = "DUET/1"
    static let tagBytes: [UInt8] = Array(tag.utf8)
    static let tagPrefix: [UInt8] = Array("DUET/".utf8)
}

/// Limits a decoder enforces. Both ends should agree (the welcome tells a worker).
public struct WireLimits: Sendable, Hashable {
    /// All frames of one message together.
    public var maxMessageBytes: Int
    /// The JSON header alone.
    public var maxHeaderBytes: Int
    /// Nesting depth of JSON in headers (progress reports, payloads).
    public var maxJSONDepth: Int

    public init(maxMessageBytes: Int = 64 << 20, maxHeaderBytes: Int = 1 << 20, maxJSONDepth: Int = 32) {
        self.maxMessageBytes = maxMessageBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxJSONDepth = maxJSONDepth
    }

    public static let `default` = WireLimits()
}

/// Why a message could not be decoded.
public enum WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message (`part` "message") or its header (`part` "header") is larger than the limit.
    case oversized(part: String, bytes: Int, limit: Int)
    /// Wrong number of frames, a first frame that is not a Duet tag, an unreadable type frame.
    case badEnvelope(String)
    /// A Duet tag with a version this build does not speak (the tag found, e.g. "DUET/2").
    case unknownVersion(String)
    /// A well-formed type this side does not know for this direction.
    case unknownType(String)
    /// The header (or body) of a known type is wrong: the message type, the field at
    /// fault ("header" for the JSON as a whole, "body" for the binary frame, "running[2]"
    /// for an element) and what was expected.
    case malformed(type: String, field: String, reason: String)

    /// The coarse kind, for counters.
    public enum Kind: String, Sendable, CaseIterable {
        case oversized, badEnvelope, unknownVersion, unknownType, malformed
    }

    public var kind: Kind {
        switch self {
        case .oversized: return .oversized
        case .badEnvelope: return .badEnvelope
        case .unknownVersion: return .unknownVersion
        case .unknownType: return .unknownType
        case .malformed: return .malformed
        }
    }

    public var description: String {
        switch self {
        case .oversized(let part, let bytes, let limit):
            return "\(part) of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .badEnvelope(let reason):
            return "not a Duet message: \(reason)"
        case .unknownVersion(let tag):
            return "unsupported protocol version \"\(tag)\" (this build speaks \(WireProtocol.tag))"
        case .unknownType(let type):
            return "unknown message type \"\(type)\""
        case .malformed(let type, let field, let reason):
            return "malformed \(type) message: \(field): \(reason)"
        }
    }
}

// MARK: - Splitting and building frames

/// A message after the envelope checks: its type, header object and optional body.
struct RawMessage {
    var type: String
    var headerBytes: [UInt8]
    var body: [UInt8]?
}

enum Envelope {
    /// Checks size, frame count, tag and type; the header is parsed later, once the
    /// type is known to the caller.
    static func split(_ frames: [[UInt8]], limits: WireLimits) throws(WireError) -> RawMessage {
        var total = 0
        for frame in frames { total += frame.count }
        guard total <= limits.maxMessageBytes else {
            throw .oversized(part: "message", bytes: total, limit: limits.maxMessageBytes)
        }
        guard frames.count == 3 || frames.count == 4 else {
            throw .badEnvelope("expected 3 or 4 frames (tag, type, header[, body]), found \(frames.count)")
        }
        let tag = frames[0]
        if tag != WireProtocol.tagBytes {
            if tag.starts(with: WireProtocol.tagPrefix) {
                throw .unknownVersion(printable(tag, limit: 24))
            }
            throw .badEnvelope("first frame is \"\(printable(tag, limit: 24))\", expected \"\(WireProtocol.tag)\"")
        }
        let typeFrame = frames[1]
        guard (1...16).contains(typeFrame.count),
            typeFrame.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else {
            throw .badEnvelope("message type \"\(printable(typeFrame, limit: 24))\" is not 1-16 letters A-Z")
        }
        let header = frames[2]
        guard header.count <= limits.maxHeaderBytes else {
            throw .oversized(part: "header", bytes: header.count, limit: limits.maxHeaderBytes)
        }
        return RawMessage(
            type: String(decoding: typeFrame, as: UTF8.self), headerBytes: header,
            body: frames.count == 4 ? frames[3] : nil)
    }

    static func printable(_ bytes: [UInt8], limit: Int) -> String {
        let shown = bytes.prefix(limit).map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "?" }
        return String(shown) + (bytes.count > limit ? "…" : "")
    }

    static func frames(type: [UInt8], header: [UInt8], body: [UInt8]? = nil) -> [[UInt8]] {
        if let body { return [WireProtocol.tagBytes, type, header, body] }
        return [WireProtocol.tagBytes, type, header]
    }

    static let emptyHeader: [UInt8] = Array("{}".utf8)
}

extension RawMessage {
    /// Parses the header into a reader, mapping JSON errors to `malformed`.
    func header(limits: WireLimits) throws(WireError) -> Header {
        let json: JSON
        do {
            json = try JSON.parse(headerBytes, maxDepth: limits.maxJSONDepth)
        } catch {
            throw .malformed(type: type, field: "header", reason: error.description)
        }
        guard case .object = json else {
            throw .malformed(type: type, field: "header", reason: "expected an object, found \(json.kindName)")
        }
        return Header(type: type, json: json)
    }

    func requireBody() throws(WireError) -> [UInt8] {
        guard let body else { throw .malformed(type: type, field: "body", reason: "missing binary frame") }
        return body
    }

    func forbidBody() throws(WireError) {
        guard body == nil else { throw .malformed(type: type, field: "body", reason: "unexpected binary frame") }
    }
}

/// Typed field access on a header object; every failure names the field.
struct Header {
    let type: String
    let json: JSON
    /// Where `json` sits inside the header ("workers[2]."), for nested objects.
    var path: String = ""

    func fail(_ field: String, _ reason: String) -> WireError { .malformed(type: type, field: path + field, reason: reason) }

    /// A reader for the object at `key` (or the `index`-th element of the array at `key`).
    func nested(_ key: String, _ index: Int? = nil) throws(WireError) -> Header {
        var value = try value(key)
        var name = key
        if let index {
            guard case .array(let items) = value, index < items.count else { throw fail(key, "expected an array") }
            value = items[index]
            name += "[\(index)]"
        }
        guard case .object = value else { throw fail(name, "expected an object, found \(value.kindName)") }
        return Header(type: type, json: value, path: path + name + ".")
    }

    /// The elements of the array at `key` (empty when missing or null).
    func array(_ key: String) throws(WireError) -> [JSON] {
        guard let value = json[key], value != .null else { return [] }
        guard case .array(let items) = value else { throw fail(key, "expected an array, found \(value.kindName)") }
        return items
    }

    func value(_ key: String) throws(WireError) -> JSON {
        guard let value = json[key] else { throw fail(key, "missing") }
        return value
    }

    func int(_ key: String, atLeast minimum: Int = Int.min, atMost maximum: Int = Int.max) throws(WireError) -> Int {
        try Header.int(try value(key), field: key, atLeast: minimum, atMost: maximum, header: self)
    }

    func optionalInt(_ key: String, atLeast minimum: Int = Int.min, atMost maximum: Int = Int.max) throws(WireError) -> Int? {
        guard let value = json[key], value != .null else { return nil }
        return try Header.int(value, field: key, atLeast: minimum, atMost: maximum, header: self)
    }

    static func int(_ value: JSON, field: String, atLeast minimum: Int, atMost maximum: Int = Int.max, header: Header)
        throws(WireError) -> Int
    {
        guard case .integer(let number) = value else {
            throw header.fail(field, "expected an integer, found \(value.kindName)")
        }
        guard number >= minimum else { throw header.fail(field, "must be at least \(minimum), found \(number)") }
        guard number <= maximum else { throw header.fail(field, "must be at most \(maximum), found \(number)") }
        return number
    }

    func double(_ key: String, above minimum: Double) throws(WireError) -> Double {
        let value = try value(key)
        guard let number = value.doubleValue else { throw fail(key, "expected a number, found \(value.kindName)") }
        guard number > minimum, number.isFinite else {
            throw fail(key, "must be a finite number above \(minimum), found \(number)")
        }
        return number
    }

    func optionalDouble(_ key: String) throws(WireError) -> Double? {
        guard let value = json[key], value != .null else { return nil }
        guard let number = value.doubleValue else { throw fail(key, "expected a number, found \(value.kindName)") }
        return number
    }

    func string(_ key: String) throws(WireError) -> String {
        let value = try value(key)
        guard case .string(let text) = value else { throw fail(key, "expected a string, found \(value.kindName)") }
        return text
    }

    /// The optional `epoch` field (a journal's id, `Welcome.epoch`): 1–64 printable ASCII characters.
    func epoch() throws(WireError) -> String? {
        guard let epoch = try optionalString("epoch") else { return nil }
        guard (1...64).contains(epoch.utf8.count), epoch.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw fail("epoch", "expected 1–64 printable ASCII characters, found \(epoch.utf8.count) bytes")
        }
        return epoch
    }

    func optionalString(_ key: String) throws(WireError) -> String? {
        guard let value = json[key], value != .null else { return nil }
        guard case .string(let text) = value else { throw fail(key, "expected a string, found \(value.kindName)") }
        return text
    }

    func bool(_ key: String, default fallback: Bool) throws(WireError) -> Bool {
        guard let value = json[key], value != .null else { return fallback }
        guard case .bool(let flag) = value else { throw fail(key, "expected a boolean, found \(value.kindName)") }
        return flag
    }

    func hash(_ key: String) throws(WireError) -> BlobHash {
        let text = try string(key)
        guard let hash = BlobHash(hex: text) else {
            throw fail(key, "expected 64 hex digits (SHA-256), found \"\(text.prefix(80))\"")
        }
        return hash
    }

    func hashes(_ key: String) throws(WireError) -> [BlobHash] {
        guard let value = json[key], value != .null else { return [] }
        guard case .array(let items) = value else { throw fail(key, "expected an array of hashes, found \(value.kindName)") }
        var hashes: [BlobHash] = []
        hashes.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .string(let text) = item, let hash = BlobHash(hex: text) else {
                throw fail("\(key)[\(i)]", "expected 64 hex digits (SHA-256), found \(item.kindName)")
            }
            hashes.append(hash)
        }
        return hashes
    }

    /// `run`, `index` and `attempt` at the top level.
    func taskAttempt() throws(WireError) -> TaskAttempt {
        TaskAttempt(
            run: RunID(try int("run", atLeast: 1)), index: try int("index", atLeast: 0), attempt: try int("attempt", atLeast: 1))
    }

    /// The `count` bytes of `body` from `offset` on, moving `offset` past them: a body
    /// that carries several payloads one after another, with their lengths in the header
    /// (`field`, the length's field, is named when it runs past the body).
    func slice(of body: [UInt8], count: Int, at offset: inout Int, field: String) throws(WireError) -> [UInt8] {
        guard count <= body.count - offset else {
            throw fail(field, "\(count) bytes from offset \(offset) run past the body of \(body.count) bytes")
        }
        defer { offset += count }
        return Array(body[offset..<offset + count])
    }

    /// Fails unless the lengths read so far (`offset`) cover `body` exactly.
    func requireConsumed(_ body: [UInt8], upTo offset: Int, field: String) throws(WireError) {
        guard offset == body.count else {
            throw fail(field, "lengths add up to \(offset) bytes but the body has \(body.count)")
        }
    }

    /// An array of integers, each at least `minimum` (empty when missing or null).
    func ints(_ key: String, atLeast minimum: Int) throws(WireError) -> [Int] {
        var result: [Int] = []
        for (i, item) in try array(key).enumerated() {
            result.append(try Header.int(item, field: "\(key)[\(i)]", atLeast: minimum, header: self))
        }
        return result
    }

    /// An array of `[run, index, attempt]` triples.
    func attempts(_ key: String) throws(WireError) -> [TaskAttempt] {
        guard let value = json[key], value != .null else { return [] }
        guard case .array(let items) = value else {
            throw fail(key, "expected an array of [run, index, attempt], found \(value.kindName)")
        }
        var result: [TaskAttempt] = []
        result.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            result.append(try triple(item, field: "\(key)[\(i)]"))
        }
        return result
    }

    /// One `[run, index, attempt]` triple.
    func triple(_ item: JSON, field: String) throws(WireError) -> TaskAttempt {
        guard case .array(let triple) = item, triple.count == 3 else {
            throw fail(field, "expected [run, index, attempt]")
        }
        let run = try Header.int(triple[0], field: "\(field)[0]", atLeast: 1, header: self)
        let index = try Header.int(triple[1], field: "\(field)[1]", atLeast: 0, header: self)
        let attempt = try Header.int(triple[2], field: "\(field)[2]", atLeast: 1, header: self)
        return TaskAttempt(run: RunID(run), index: index, attempt: attempt)
    }
}

extension JSONWriter {
    mutating func field(_ name: String, _ value: Int) {
        key(name)
        int(value)
    }

    mutating func field(_ name: String, _ value: Double) {
        key(name)
        double(value)
    }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    mutating func field(_ name: String, _ value: JSON) {
        key(name)
        self.value(value)
    }

    mutating func taskAttempt(_ attempt: TaskAttempt) {
        field("run", attempt.task.run.rawValue)
        field("index", attempt.task.index)
        field("attempt", attempt.attempt)
    }

    mutating func field(_ name: String, attempts: [TaskAttempt]) {
        key(name)
        beginArray()
        for attempt in attempts {
            beginArray()
            int(attempt.task.run.rawValue)
            int(attempt.task.index)
            int(attempt.attempt)
            endArray()
        }
        endArray()
    }

    mutating func field(_ name: String, ints: [Int]) {
        key(name)
        beginArray()
        for value in ints { int(value) }
        endArray()
    }

    mutating func field(_ name: String, hashes: [BlobHash]) {
        key(name)
        beginArray()
        for hash in hashes { string(hash.hex) }
        endArray()
    }

    /// Builds one header object.
    static func object(capacity: Int = 96, _ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        writer.beginObject()
        body(&writer)
        writer.endObject()
        return writer.bytes
    }
}
