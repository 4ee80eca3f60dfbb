import CZeroMQ
import Foundation

/// A libzmq context: the I/O threads and the registry of `inproc://` endpoints that
/// its sockets share. Contexts are thread-safe, so a `Context` is `Sendable`; sockets
/// are not (see `Socket`).
///
/// Every `Socket` keeps its context alive, so `deinit` (which terminates the context)
/// runs only after all its sockets are gone and never blocks on one. An explicit
/// `close()` can block; see there.
public final class Context: @unchecked Sendable {
    private enum State {
        case open(UnsafeMutableRawPointer)
        case terminating
        case closed
    }

    // Guards `state`. Held while a socket is created so that termination cannot free
    // the C context under `zmq_socket`; never held while `zmq_ctx_term` blocks.
    private let condition = NSCondition()
    private var state: State

    /// Creates a context with `ioThreads` background I/O threads (one is plenty below
    /// about a gigabyte per second).
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.current("zmq_ctx_new") }
        if ioThreads != 1 {
            do {
                try zmqCheck("zmq_ctx_set(ZMQ_IO_THREADS, \(ioThreads))") {
                    zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
                }
            } catch {
                Self.terminate(handle)
                throw error
            }
        }
        state = .open(handle)
    }

    deinit {
        // No socket can be open here: each one retains its context.
        if case .open(let handle) = state { Self.terminate(handle) }
    }

    /// Creates a socket of `type`. Its linger is set to 0 (see `Socket`).
    /// Throws `ETERM` once the context is shut down or closed.
    public func makeSocket(_ type: SocketType) throws(ZMQError) -> Socket {
        try Socket(context: self, type: type)
    }

    /// Runs `body` with the C context while holding the state lock, so the context
    /// cannot be terminated meanwhile. `body` must not block.
    func withOpenHandle<R>(
        _ call: String,
        _ body: (UnsafeMutableRawPointer) throws(ZMQError) -> R
    ) throws(ZMQError) -> R {
        condition.lock()
        defer { condition.unlock() }
        guard case .open(let handle) = state else {
            throw ZMQError(errno: ETERM, call: call)
        }
        return try body(handle)
    }

    /// True once `close()` has begun.
    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        if case .open = state { return false }
        return true
    }

    /// Shuts the context down without waiting (`zmq_ctx_shutdown`): every blocking call
    /// on its sockets, in any thread, returns `ETERM` from now on, and so does creating
    /// a socket. Owners of sockets should then close them; `close()` still has to run
    /// (or `deinit`) to free the context. Does nothing once `close()` has begun.
    public func shutdown() {
        condition.lock()
        defer { condition.unlock() }
        if case .open(let handle) = state { zmq_ctx_shutdown(handle) }
    }

    /// Terminates the context (`zmq_ctx_term`). **Blocks** until every socket of this
    /// context has been closed and, for sockets closed with a positive linger, their
    /// pending messages were sent or the linger ran out. Blocking calls in other threads
    /// return `ETERM` as soon as this starts, and those threads must close their sockets
    /// for it to return (a running `ZAPAuthenticator` does so by itself). Calling it while
    /// this thread still holds an open `Socket` deadlocks: close or drop sockets first.
    /// Idempotent: a second call waits for the first to finish.
    public func close() {
        condition.lock()
        switch state {
        case .open(let handle):
            state = .terminating
            condition.unlock()
            Self.terminate(handle)
            condition.lock()
            state = .closed
            condition.broadcast()
            condition.unlock()
        case .terminating:
            while case .terminating = state { condition.wait() }
            condition.unlock()
        case .closed:
            condition.unlock()
        }
    }

    private static func terminate(_ handle: UnsafeMutableRawPointer) {
        // zmq_ctx_term fails only with EINTR (retry, as its manual says) or EFAULT.
        _ = try? zmqCheck("zmq_ctx_term") { zmq_ctx_term(handle) }
    }
}
