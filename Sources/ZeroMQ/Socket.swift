import CZeroMQ
import Foundation

/// The socket patterns Duet uses.
public enum SocketType: Sendable, CaseIterable, CustomStringConvertible {
    case pair, pub, sub, req, rep, dealer, router, pull, push

    var cValue: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pull: ZMQ_PULL
        case .push: ZMQ_PUSH
        }
    }

    public var description: String {
        switch self {
        case .pair: "PAIR"
        case .pub: "PUB"
        case .sub: "SUB"
        case .req: "REQ"
        case .rep: "REP"
        case .dealer: "DEALER"
        case .router: "ROUTER"
        case .pull: "PULL"
        case .push: "PUSH"
        }
    }
}

/// A libzmq socket, created by `Context.makeSocket(_:)`.
///
/// **Not thread-safe, and therefore not `Sendable`:** use a socket from the one thread
/// that created it (typically a dedicated `Thread` running a poll loop; never Swift's
/// cooperative pool, because `send`, `receive` and `Poller.poll` block). Other code
/// talks to that thread through an `inproc://` socket or a queue.
///
/// **Linger:** libzmq's default linger is infinite, which makes `Context.close()` hang
/// while messages wait for an unreachable peer. Sockets made here start with linger 0:
/// closing one drops what it has not yet sent. Use `close(linger:)` (or set `.linger`)
/// when the last messages matter, e.g. a worker's final result.
///
/// `deinit` closes the socket if `close` was not called (closing never blocks; the
/// linger happens in the context's I/O thread).
public final class Socket {
    public let type: SocketType
    /// The context; retained so that it is never terminated under an open socket.
    public let context: Context
    private var handle: UnsafeMutableRawPointer?
    /// A message reused by `receive`, allocated once (a `zmq_msg_t` must not move).
    private let scratch = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)

    init(context: Context, type: SocketType) throws(ZMQError) {
        self.type = type
        self.context = context
        let handle = try context.withOpenHandle("zmq_socket(\(type))") { ctx throws(ZMQError) in
            guard let socket = zmq_socket(ctx, type.cValue) else {
                throw ZMQError.current("zmq_socket(\(type))")
            }
            return socket
        }
        self.handle = handle
        var zero: Int32 = 0
        zmq_setsockopt(handle, ZMQ_LINGER, &zero, MemoryLayout<Int32>.size)
    }

    deinit {
        if let handle { zmq_close(handle) }
        scratch.deallocate()
    }

    /// The C socket, or `ENOTSOCK` once closed.
    func checkedHandle(_ call: @autoclosure () -> String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else {
            throw ZMQError(errno: ENOTSOCK, message: "socket already closed", call: call())
        }
        return handle
    }

    // MARK: Endpoints

    /// Binds to `endpoint`, e.g. `tcp://127.0.0.1:*` (then read `lastEndpoint` for the
    /// port), `ipc:///tmp/x` or `inproc://name`. Set options (CURVE, maxmsgsize, ...)
    /// before binding: they are copied into each connection when it is made.
    public func bind(_ endpoint: String) throws(ZMQError) {
        let socket = try checkedHandle("zmq_bind(\(endpoint))")
        try zmqCheck("zmq_bind(\(endpoint))") { zmq_bind(socket, endpoint) }
    }

    /// Connects to `endpoint`. Returns at once: the connection (and its reconnects) is
    /// made in the background, and messages queue meanwhile unless `.immediate` is set.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let socket = try checkedHandle("zmq_connect(\(endpoint))")
        try zmqCheck("zmq_connect(\(endpoint))") { zmq_connect(socket, endpoint) }
    }

    /// Stops listening on `endpoint`, which must be spelled as `lastEndpoint` reports it
    /// (the real port, not `*`). Connections already accepted are closed.
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let socket = try checkedHandle("zmq_unbind(\(endpoint))")
        try zmqCheck("zmq_unbind(\(endpoint))") { zmq_unbind(socket, endpoint) }
    }

    /// Disconnects from an endpoint given to `connect`.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let socket = try checkedHandle("zmq_disconnect(\(endpoint))")
        try zmqCheck("zmq_disconnect(\(endpoint))") { zmq_disconnect(socket, endpoint) }
    }

    // MARK: Closing

    /// True after `close`.
    public var isClosed: Bool { handle == nil }

    /// Closes the socket; later calls on it throw `ENOTSOCK`. With `linger` (in
    /// milliseconds; -1 waits forever) unsent messages keep being delivered for that
    /// long in the background, and `Context.close()` waits for them. Without it the
    /// socket's current linger applies (0 unless changed). Never blocks. Idempotent.
    public func close(linger: Int32? = nil) {
        guard let handle else { return }
        if var linger {
            zmq_setsockopt(handle, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        }
        zmq_close(handle)
        self.handle = nil
    }

    // MARK: Messages

    /// Sends one multipart message made of `frames` (at least one). **Blocks** while the
    /// socket cannot queue it (high-water mark reached, no peer yet for DEALER/PUSH/REQ),
    /// up to `.sendTimeout`, unless `dontWait`.
    ///
    /// Returns false when the message was not queued because it would have blocked
    /// (`EAGAIN`: `dontWait`, or the send timeout expired). A multipart message is
    /// atomic: libzmq queues all frames or none. A ROUTER drops messages to unknown
    /// routing ids silently unless `.routerMandatory` is set, in which case this throws
    /// `EHOSTUNREACH`.
    ///
    /// Byte arrays, the common case, take this non-generic path: a generic function is
    /// not specialised across modules, and the coordinator sends a message per task.
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        let socket = try checkedHandle("zmq_send")
        guard !frames.isEmpty else {
            throw ZMQError(errno: EINVAL, message: "a message needs at least one frame", call: "zmq_send")
        }
        let last = frames.count - 1
        for index in 0...last {
            var flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
            if index < last { flags |= ZMQ_SNDMORE }
            do {
                // The call's text is built only if it fails.
                try zmqCheck("zmq_send(\(type), frame \(index + 1) of \(frames.count))") {
                    frames[index].withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, flags) }
                }
            } catch where error.errno == EAGAIN && index == 0 {
                return false
            }
        }
        return true
    }

    /// `send` for frames of any contiguous bytes (copied into byte arrays first).
    @discardableResult
    public func send<Frame: ContiguousBytes>(_ frames: [Frame], dontWait: Bool = false) throws(ZMQError) -> Bool {
        try send(frames.map { $0.withUnsafeBytes { [UInt8]($0) } }, dontWait: dontWait)
    }

    /// Receives one whole multipart message. **Blocks** until one arrives, up to
    /// `.receiveTimeout`, unless `dontWait`. Returns nil when none was there (`EAGAIN`:
    /// `dontWait`, or the receive timeout expired). A ROUTER's first frame is the
    /// sender's routing id.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        let socket = try checkedHandle("zmq_msg_recv")
        zmq_msg_init(scratch)
        defer { zmq_msg_close(scratch) }
        var frames: [[UInt8]] = []
        repeat {
            // The remaining frames of a message arrive with its first, so only the first
            // can find nothing.
            do {
                try zmqCheck("zmq_msg_recv(\(type), frame \(frames.count + 1))") {
                    zmq_msg_recv(scratch, socket, dontWait ? ZMQ_DONTWAIT : 0)
                }
            } catch where error.errno == EAGAIN && frames.isEmpty {
                return nil
            }
            let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(scratch), count: zmq_msg_size(scratch))
            frames.append([UInt8](bytes))
        } while zmq_msg_more(scratch) != 0
        return frames
    }

    /// Sends a message of UTF-8 strings.
    @discardableResult
    public func send(strings: [String], dontWait: Bool = false) throws(ZMQError) -> Bool {
        try send(strings.map { Array($0.utf8) }, dontWait: dontWait)
    }
}

@available(*, unavailable, message: "a ZeroMQ socket must stay on the thread that uses it")
extension Socket: Sendable {}
