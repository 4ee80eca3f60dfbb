// Identifiers that travel on the wire: runs, tasks, attempts, peers and blobs.

import DuetSupport

/// A run (one sweep, one search): numbered by the coordinator from 1, stable across
/// coordinator restarts because the journal keeps them.
public struct RunID: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// A task: the `index`-th task (0-based) of a run. A worker derives what to compute
/// from the run's spec blob and the index; the coordinator never looks inside.
public struct TaskID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var run: RunID
    public var index: Int
    public init(run: RunID, index: Int) {
        self.run = run
        self.index = index
    }
    public static func < (lhs: TaskID, rhs: TaskID) -> Bool { (lhs.run, lhs.index) < (rhs.run, rhs.index) }
    /// `run/index`, as in logs (`task.id` metadata).
    public var description: String { "\(run.rawValue)/\(index)" }
}

/// One attempt at a task. Attempt numbers start at 1 and grow with every lease the
/// coordinator grants for the task; a report names the attempt it belongs to.
public struct TaskAttempt: Sendable, Hashable, CustomStringConvertible {
    public var task: TaskID
    public var attempt: Int
    public init(_ task: TaskID, attempt: Int) {
        self.task = task
        self.attempt = attempt
    }
    public init(run: RunID, index: Int, attempt: Int) {
        self.task = TaskID(run: run, index: index)
        self.attempt = attempt
    }
    /// `run/index#attempt`.
    public var description: String { "\(task)#\(attempt)" }
}

/// A peer of the coordinator as its ROUTER socket names it: the routing identity bytes.
/// Workers should set a readable, stable identity (`host-pid-random`) so that a
/// reconnecting worker is recognised and logs read well.
public struct PeerID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public static func < (lhs: PeerID, rhs: PeerID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
    /// Hashes the bytes as one block: the synthesised hash feeds them one at a time,
    /// and the coordinator looks a worker up several times per task.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Printable ASCII identities as they are, anything else as `0x` and hex.
    public var description: String {
        if !bytes.isEmpty, bytes.allSatisfy({ (0x21..<0x7F).contains($0) }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return "0x" + hexString(bytes)
    }
}

/// The SHA-256 of a blob's bytes, as 64 lowercase hex digits. Tasks name datasets,
/// model weights and specs by hash; workers cache them by hash.
public struct BlobHash: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let hex: String

    /// Accepts 64 hex digits (either case); nil otherwise.
    public init?(hex: String) {
        let utf8 = hex.utf8
        guard utf8.count == 64, utf8.allSatisfy({ isHexDigit($0) }) else { return nil }
        self.hex = hex.lowercased()
    }

    /// The hash of `bytes`.
    public init(of bytes: some Collection<UInt8>) {
        self.hex = hexString(SHA256Hasher.digest(bytes))
    }

    /// The hash a finished hasher produced.
    public init(digest: [UInt8]) {
        self.hex = hexString(digest)
    }

    public static func < (lhs: BlobHash, rhs: BlobHash) -> Bool { lhs.hex < rhs.hex }
    public var description: String { hex }
    /// The first 12 digits, for logs.
    public var short: String { String(hex.prefix(12)) }
}

/// The coordinator's answer to a `progress` report (ASHA rungs): go on training, or stop
/// and report the result so far.
public enum Decision: String, Sendable, Hashable, CaseIterable {
    case `continue`
    case stop
}

@inline(__always) func isHexDigit(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
}
