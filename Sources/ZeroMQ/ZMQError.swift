import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed libzmq call: the C `errno` (from `zmq_errno()`), libzmq's text for it
/// (`zmq_strerror`), and the call that failed with its salient argument, e.g.
/// `zmq_bind(tcp://*:5555)`.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The error number; compare with `EAGAIN`, `EINVAL`, `ZMQError.contextTerminated`, ...
    public let errno: Int32
    /// libzmq's description of `errno` (`zmq_strerror`), or a description written here
    /// when the failure was detected before calling libzmq.
    public let message: String
    /// The call that failed, with its salient argument: `zmq_connect(tcp://10.0.0.1:5555)`.
    public let call: String

    public init(errno: Int32, message: String? = nil, call: String) {
        self.errno = errno
        self.message = message ?? String(cString: zmq_strerror(errno))
        self.call = call
    }

    /// The error libzmq reports right now (`zmq_errno()`), attributed to `call`.
    static func current(_ call: String) -> ZMQError {
        ZMQError(errno: zmq_errno(), call: call)
    }

    public var description: String { "\(call) failed: \(message) (errno \(errno))" }

    /// libzmq's `ETERM`: the context was shut down or is being terminated. A thread that
    /// sees it should close its sockets and return.
    public static var contextTerminated: Int32 { ETERM }

    /// True when the context was shut down or terminated (`ETERM`).
    public var isContextTerminated: Bool { errno == ETERM }
}

/// The one checked-call helper: runs `body` (a libzmq call returning `-1` on failure),
/// retries it while it fails with `EINTR` (a signal arrived while it blocked) when
/// `retryingEINTR` is true, and turns any other failure into a `ZMQError` naming `call`.
/// Returns the call's non-negative result.
@discardableResult
func zmqCheck(
    _ call: @autoclosure () -> String,
    retryingEINTR: Bool = true,
    _ body: () -> Int32
) throws(ZMQError) -> Int32 {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = zmq_errno()
        if code == EINTR && retryingEINTR { continue }
        throw ZMQError(errno: code, call: call())
    }
}
