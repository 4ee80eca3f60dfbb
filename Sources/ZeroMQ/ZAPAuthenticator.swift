import CZeroMQ
import Foundation

/// A ZeroMQ authentication (ZAP, RFC 27) handler that admits CURVE clients whose public
/// key is on an allow-list.
///
/// libzmq asks the handler bound at `inproc://zeromq.zap.01` *in the server socket's
/// context* about every CURVE (and PLAIN) handshake, and about NULL handshakes on
/// sockets that set `.zapDomain`. The authenticator binds a ROUTER there on its own
/// `Thread` (never Swift's cooperative pool) and answers each request: 200 for a CURVE
/// client on the list, 400 for anything else, including unknown mechanisms; NULL is
/// admitted only from loopback (127.0.0.0/8, ::1) and only when `allowNullFromLoopback`.
///
/// Pitfalls, all libzmq's:
/// - **No handler means no authentication.** A CURVE server whose context has no ZAP
///   handler bound accepts every client that knows the server key (libzmq 4.3's
///   "Stonehouse" legacy mode), unless the server socket sets `.zapEnforceDomain`: then
///   such handshakes fail. Create the authenticator before binding the server socket,
///   stop it only after closing it, set `.zapEnforceDomain` on it, and watch `failure`.
/// - `inproc://` connections skip security entirely: no CURVE, no ZAP.
/// - One handler per context (a second bind fails with `EADDRINUSE`).
///
/// Lifecycle: `init` returns once the handler is bound; `stop()` (or `deinit`) ends the
/// thread, unbinds and closes its sockets, and returns when they are gone. If the
/// context is shut down or closed first, the thread sees `ETERM` and ends by itself, so
/// `Context.close()` does not wait on a running authenticator; `stop()` then just
/// returns. Order for a server: authenticator, then bind; at the end close the server
/// socket, `stop()`, `Context.close()`.
///
/// **Failure.** If the handler thread ends for any other reason (a libzmq error other
/// than `ETERM`, or an error thrown by `onRequest`), it unbinds, records the cause in
/// `failure` and calls `onFailure` once, on its own thread. From then on the context has
/// no handler: the owner must stop serving (the coordinator exits), and a server socket
/// with `.zapEnforceDomain` refuses every handshake meanwhile. The request in hand when
/// it failed is never answered, so that client is not admitted either.
public final class ZAPAuthenticator: @unchecked Sendable {
    /// Where libzmq looks for the ZAP handler.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let context: Context
    private let policy: SharedPolicy
    private let lifecycle = Lifecycle()
    private let controlEndpoint: String

    /// Starts the handler in `context`. `allowedKeys` are Z85 client public keys.
    /// `onRequest` sees every request before it is answered (auditing; tests inject
    /// faults with it): if it throws, the handler fails as described above.
    /// `onFailure` is called once, on the handler's thread, if the handler fails; never
    /// after `stop()` or a context shutdown. Throws `CurveKeyError` for a malformed key,
    /// `ZMQError` when the handler cannot bind (e.g. `EADDRINUSE`: the context already
    /// has one).
    public init(
        context: Context,
        allowedKeys: Set<String> = [],
        allowNullFromLoopback: Bool = false,
        onRequest: (@Sendable (ZAPRequest) throws -> Void)? = nil,
        onFailure: (@Sendable (any Error) -> Void)? = nil
    ) throws {
        for key in allowedKeys { try CurveKeyPair.validate(key, role: "allowed client key") }
        self.context = context
        self.policy = SharedPolicy(ZAPPolicy(allowedKeys: allowedKeys, allowNullFromLoopback: allowNullFromLoopback))
        self.controlEndpoint = "inproc://duet.zap.control.\(UUID().uuidString)"

        let thread = Thread { [context, policy, lifecycle, controlEndpoint] in
            let failure = Self.run(
                context: context, policy: policy, lifecycle: lifecycle, controlEndpoint: controlEndpoint,
                onRequest: onRequest)
            if let failure, lifecycle.failed(failure) { onFailure?(failure) }
        }
        thread.name = "duet.zap"
        thread.start()
        if let error = lifecycle.waitUntilStarted() { throw error }
    }

    deinit { stop() }

    /// Why the handler thread ended on its own, if it did (nil while it serves, after
    /// `stop()`, and after a context shutdown). Once set, CURVE handshakes in this
    /// context are no longer checked against the allow-list: stop serving.
    public var failure: (any Error)? { lifecycle.failure }

    // MARK: The allow-list

    /// The Z85 public keys of the clients admitted.
    public var allowedKeys: Set<String> { policy.read { $0.allowedKeys } }

    /// Admits `key` from the next handshake on (existing connections are not re-checked).
    public func allow(_ key: String) throws(CurveKeyError) {
        try CurveKeyPair.validate(key, role: "allowed client key")
        policy.update { $0.allowedKeys.insert(key) }
    }

    /// Refuses `key` from the next handshake on; connections already made stay up.
    public func revoke(_ key: String) {
        policy.update { $0.allowedKeys.remove(key) }
    }

    /// Replaces the whole allow-list.
    public func setAllowedKeys(_ keys: Set<String>) throws(CurveKeyError) {
        for key in keys { try CurveKeyPair.validate(key, role: "allowed client key") }
        policy.update { $0.allowedKeys = keys }
    }

    // MARK: Stopping

    /// Ends the handler thread and closes its sockets; **blocks** until it has (it
    /// answers the request in hand first). Idempotent and callable from any thread.
    /// Afterwards CURVE servers in this context admit every client (see above).
    public func stop() {
        guard lifecycle.claimStop() else {
            lifecycle.waitUntilFinished()
            return
        }
        // The context may already be shut down; then the thread has seen ETERM.
        if let control = try? context.makeSocket(.pair) {
            try? control.connect(controlEndpoint)
            _ = try? control.send(strings: ["STOP"], dontWait: true)
            lifecycle.waitUntilFinished()
            control.close()
        } else {
            lifecycle.waitUntilFinished()
        }
    }

    // MARK: The thread

    /// Serves until told to stop or the context ends (nil), or until an error (returned).
    private static func run(
        context: Context, policy: SharedPolicy, lifecycle: Lifecycle, controlEndpoint: String,
        onRequest: (@Sendable (ZAPRequest) throws -> Void)?
    ) -> (any Error)? {
        let handler: Socket
        let control: Socket
        do {
            handler = try context.makeSocket(.router)
            try handler.bind(endpoint)
            control = try context.makeSocket(.pair)
            try control.bind(controlEndpoint)
        } catch {
            lifecycle.started(error)
            lifecycle.finished()
            return nil
        }
        lifecycle.started(nil)
        defer {
            // zmq_close frees an inproc name only later, in libzmq's reaper thread;
            // unbinding frees it now, so a new handler can bind as soon as stop() returns.
            try? handler.unbind(endpoint)
            handler.close()
            control.close()
            lifecycle.finished()
        }

        var poller = Poller()
        let requests = poller.add(handler)
        let stop = poller.add(control)
        do {
            while true {
                let ready = try poller.poll(timeoutMilliseconds: -1)
                if ready[stop].contains(.readable) { return nil }
                guard ready[requests].contains(.readable) else { continue }
                while let frames = try handler.receive(dontWait: true) {
                    if let onRequest, frames.count > 2, let request = ZAPRequest(frames: Array(frames[2...])) {
                        try onRequest(request)
                    }
                    if let reply = answer(frames, policy: policy.read { $0 }) {
                        // A ROUTER never blocks; a reply to a vanished session is dropped.
                        _ = try handler.send(reply, dontWait: true)
                    }
                }
            }
        } catch let error as ZMQError where error.errno == ETERM {
            // The context is shutting down: so are the server sockets it authenticates for.
            return nil
        } catch {
            // Anything else leaves the context without a handler (see the pitfalls): the
            // owner hears of it through `failure` and `onFailure`.
            return error
        }
    }

    /// The reply to the frames a ROUTER received: routing id, empty delimiter, then the
    /// ZAP request. Nil when the frames cannot be answered at all.
    static func answer(_ frames: [[UInt8]], policy: ZAPPolicy) -> [[UInt8]]? {
        guard frames.count >= 2, frames[1].isEmpty else { return nil }
        let envelope = Array(frames[0..<2])
        guard let request = ZAPRequest(frames: Array(frames[2...])) else {
            // Too short to carry a request id: libzmq never sends that.
            return nil
        }
        return envelope + policy.decide(request).frames(for: request)
    }
}

// MARK: - The protocol as values

/// A ZAP request (RFC 27): what libzmq tells the handler about one handshake.
public struct ZAPRequest: Sendable, Equatable {
    public var version: String
    public var requestID: [UInt8]
    public var domain: String
    /// The client's IP address, without port ("127.0.0.1", "::1").
    public var address: String
    /// The routing id the server socket will see for the client.
    public var routingID: [UInt8]
    /// "NULL", "PLAIN" or "CURVE".
    public var mechanism: String
    /// CURVE: the client's 32-byte public key. PLAIN: user name and password.
    public var credentials: [[UInt8]]

    public init(
        version: String = "1.0", requestID: [UInt8], domain: String = "", address: String,
        routingID: [UInt8] = [], mechanism: String, credentials: [[UInt8]] = []
    ) {
        self.version = version
        self.requestID = requestID
        self.domain = domain
        self.address = address
        self.routingID = routingID
        self.mechanism = mechanism
        self.credentials = credentials
    }

    /// Parses the frames after the envelope; nil when fewer than the six fixed ones.
    public init?(frames: [[UInt8]]) {
        guard frames.count >= 6 else { return nil }
        func text(_ index: Int) -> String { String(decoding: frames[index], as: UTF8.self) }
        self.init(
            version: text(0), requestID: frames[1], domain: text(2), address: text(3),
            routingID: frames[4], mechanism: text(5), credentials: Array(frames[6...]))
    }
}

/// A ZAP reply's status.
public struct ZAPDecision: Sendable, Equatable {
    /// "200" admitted, "400" refused, "500" malformed request.
    public var statusCode: String
    public var statusText: String
    /// For 200: the identity the server's messages carry as "User-Id" metadata (the
    /// client's Z85 key for CURVE).
    public var userID: String

    public static func allow(userID: String) -> ZAPDecision {
        ZAPDecision(statusCode: "200", statusText: "OK", userID: userID)
    }

    public static func deny(_ reason: String) -> ZAPDecision {
        ZAPDecision(statusCode: "400", statusText: reason, userID: "")
    }

    /// The reply frames (without envelope): version, request id, status code and text,
    /// user id, empty metadata.
    func frames(for request: ZAPRequest) -> [[UInt8]] {
        [Array("1.0".utf8), request.requestID, Array(statusCode.utf8), Array(statusText.utf8), Array(userID.utf8), []]
    }
}

/// The admission rules, as a value: what `ZAPAuthenticator` answers, testable without
/// sockets. Fails closed: anything not explicitly admitted is refused.
public struct ZAPPolicy: Sendable, Equatable {
    /// Z85 public keys of admitted CURVE clients.
    public var allowedKeys: Set<String>
    /// Admit NULL-mechanism (unauthenticated) clients from 127.0.0.0/8 and ::1.
    public var allowNullFromLoopback: Bool

    public init(allowedKeys: Set<String>, allowNullFromLoopback: Bool = false) {
        self.allowedKeys = allowedKeys
        self.allowNullFromLoopback = allowNullFromLoopback
    }

    public func decide(_ request: ZAPRequest) -> ZAPDecision {
        guard request.version == "1.0" else {
            return ZAPDecision(statusCode: "500", statusText: "unsupported ZAP version \(request.version)", userID: "")
        }
        switch request.mechanism {
        case "CURVE":
            guard request.credentials.count == 1, request.credentials[0].count == 32,
                let key = Z85.encode(request.credentials[0])
            else { return .deny("malformed CURVE credentials") }
            return allowedKeys.contains(key) ? .allow(userID: key) : .deny("client key not allowed")
        case "NULL":
            guard allowNullFromLoopback else { return .deny("NULL mechanism not allowed") }
            guard Self.isLoopback(request.address) else {
                return .deny("NULL mechanism allowed from loopback only")
            }
            return .allow(userID: "")
        default:
            return .deny("mechanism \(request.mechanism) not allowed")
        }
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }
}

// MARK: - Thread plumbing

/// The policy, shared between the owner (updates) and the handler thread (reads).
private final class SharedPolicy: @unchecked Sendable {
    private let lock = NSLock()
    private var policy: ZAPPolicy

    init(_ policy: ZAPPolicy) { self.policy = policy }

    func read<R>(_ body: (ZAPPolicy) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(policy)
    }

    func update(_ body: (inout ZAPPolicy) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&policy)
    }
}

/// Start-up result and termination of the handler thread.
private final class Lifecycle: @unchecked Sendable {
    private let condition = NSCondition()
    private var startup: ZMQError??
    private var isFinished = false
    private var stopClaimed = false
    private var failureCause: (any Error)?

    func started(_ error: ZMQError?) {
        condition.lock()
        startup = .some(error)
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilStarted() -> ZMQError? {
        condition.lock()
        defer { condition.unlock() }
        while startup == nil { condition.wait() }
        return startup!
    }

    func finished() {
        condition.lock()
        isFinished = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilFinished() {
        condition.lock()
        defer { condition.unlock() }
        while !isFinished { condition.wait() }
    }

    var failure: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return failureCause
    }

    /// Records the handler's failure; true unless `stop()` was called first (then the
    /// error is the stop's doing, not news for the owner).
    func failed(_ error: any Error) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopClaimed else { return false }
        failureCause = error
        return true
    }

    /// True for the first caller only.
    func claimStop() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if stopClaimed { return false }
        stopClaimed = true
        return true
    }
}
