import CZeroMQ

/// The version of the libzmq the process is running against (`zmq_version`), which can
/// differ from the headers it was built with.
public struct ZMQVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let major: Int32
    public let minor: Int32
    public let patch: Int32

    public init(major: Int32, minor: Int32, patch: Int32) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The loaded library's version.
    public static var current: ZMQVersion {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return ZMQVersion(major: major, minor: minor, patch: patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: ZMQVersion, rhs: ZMQVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}
