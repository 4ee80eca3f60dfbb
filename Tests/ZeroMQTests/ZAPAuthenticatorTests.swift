import CZeroMQ
import Foundation
import Testing

@testable import ZeroMQ

/// A CURVE server (ROUTER on tcp loopback) with its keys, in its own context.
private struct CurveServer {
    let context: Context
    let socket: Socket
    let keys: CurveKeyPair
    let endpoint: String
    /// The server socket's monitor, when asked for (close it).
    let monitor: Socket?

    init(context: Context, zapDomain: String? = nil, enforceDomain: Bool = false, monitored: Bool = false) throws {
        self.context = context
        keys = try CurveKeyPair.generate()
        socket = try context.makeSocket(.router)
        try socket.configureCurveServer(keys: keys)
        if let zapDomain { try socket.set(.zapDomain, zapDomain) }
        if enforceDomain { try socket.set(.zapEnforceDomain, true) }
        monitor = monitored ? try monitorSocket(of: socket, in: context) : nil
        endpoint = try socket.bindLoopback()
    }

    /// A DEALER client with `keys` that trusts `serverKey`, connected, with a monitor
    /// (returned second; close both).
    func client(keys: CurveKeyPair, serverKey: String? = nil) throws -> (Socket, Socket) {
        let client = try context.makeSocket(.dealer)
        try client.configureCurveClient(serverKey: serverKey ?? self.keys.publicKey, keys: keys)
        try client.set(.reconnectInterval, 20)
        let monitor = try monitorSocket(of: client, in: context)
        try client.connect(endpoint)
        return (client, monitor)
    }
}

@Suite struct ZAPAuthenticatorTests {
    @Test func allowedClientTalksToCurveServer() throws {
        let context = try Context()
        defer { context.close() }
        let clientKeys = try CurveKeyPair.generate()
        let auth = try ZAPAuthenticator(context: context, allowedKeys: [clientKeys.publicKey])
        defer { auth.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let (client, monitor) = try server.client(keys: clientKeys)
        defer {
            client.close()
            monitor.close()
        }

        try client.send([bytes("hello")])
        let request = try #require(try server.socket.receive(within: 2000))
        #expect(request.count == 2)
        #expect(request[1] == bytes("hello"))
        try server.socket.send([request[0], bytes("welcome")])
        #expect(try client.receive(within: 2000) == [bytes("welcome")])
        #expect(try awaitEvent(.handshakeSucceeded, on: monitor, within: 100) != nil)
    }

    @Test func clientNotOnTheAllowListGetsNothingThrough() throws {
        let context = try Context()
        defer { context.close() }
        let allowed = try CurveKeyPair.generate()
        let intruder = try CurveKeyPair.generate()
        let auth = try ZAPAuthenticator(context: context, allowedKeys: [allowed.publicKey])
        defer { auth.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let (client, monitor) = try server.client(keys: intruder)
        defer {
            client.close()
            monitor.close()
        }

        try client.send([bytes("let me in")])
        let refusal = try #require(try awaitEvent(.handshakeFailedAuth, on: monitor, within: 2000))
        #expect(refusal.value == 400)
        #expect(try server.socket.receive(within: 200) == nil)
    }

    @Test func clientWithTheWrongServerKeyGetsNothingThrough() throws {
        let context = try Context()
        defer { context.close() }
        let clientKeys = try CurveKeyPair.generate()
        let auth = try ZAPAuthenticator(context: context, allowedKeys: [clientKeys.publicKey])
        defer { auth.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let serverMonitor = try monitorSocket(of: server.socket, in: context)
        defer { serverMonitor.close() }
        let impostorKey = try CurveKeyPair.generate().publicKey
        let (client, monitor) = try server.client(keys: clientKeys, serverKey: impostorKey)
        defer {
            client.close()
            monitor.close()
        }

        try client.send([bytes("hello?")])
        // The server cannot open the client's HELLO box: it reports a cryptographic
        // protocol error and drops the connection (the client sees a handshake failure
        // without detail, and keeps reconnecting).
        let failure = try #require(try awaitEvent(.handshakeFailedProtocol, on: serverMonitor, within: 2000))
        #expect(failure.value == UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC))
        #expect(try awaitEvent(.handshakeFailedNoDetail, on: monitor, within: 2000) != nil)
        #expect(try server.socket.receive(within: 200) == nil)
    }

    /// libzmq 4.3 treats a ZAP refusal as a protocol error: the client's session for
    /// that endpoint ends for good (no reconnect) and its queued messages are dropped.
    /// After the key is allowed the client has to disconnect and connect again.
    @Test func allowListUpdatesApplyToTheNextHandshake() throws {
        let context = try Context()
        defer { context.close() }
        let latecomer = try CurveKeyPair.generate()
        let auth = try ZAPAuthenticator(context: context)
        defer { auth.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let (client, monitor) = try server.client(keys: latecomer)
        defer {
            client.close()
            monitor.close()
        }
        try client.send([bytes("lost")])
        #expect(try awaitEvent(.handshakeFailedAuth, on: monitor, within: 2000) != nil)
        // Reconnect interval is 20 ms, yet no retry comes.
        #expect(try awaitEvent(.connectRetried, on: monitor, within: 200) == nil)

        try auth.allow(latecomer.publicKey)
        #expect(auth.allowedKeys == [latecomer.publicKey])
        try client.disconnect(server.endpoint)
        try client.connect(server.endpoint)
        try client.send([bytes("again")])
        let message = try #require(try server.socket.receive(within: 2000))
        #expect(message.last == bytes("again"))
        #expect(try server.socket.receive(within: 50) == nil)  // "lost" is gone

        auth.revoke(latecomer.publicKey)
        #expect(auth.allowedKeys.isEmpty)
        #expect(throws: CurveKeyError.wrongLength(role: "allowed client key", length: 3)) {
            try auth.allow("abc")
        }
    }

    @Test(arguments: [true, false])
    func nullMechanismFromLoopbackOnlyWhenConfigured(allowNull: Bool) throws {
        let context = try Context()
        defer { context.close() }
        let auth = try ZAPAuthenticator(context: context, allowNullFromLoopback: allowNull)
        defer { auth.stop() }
        let server = try context.makeSocket(.router)
        defer { server.close() }
        try server.set(.zapDomain, "duet")  // without a domain NULL never asks ZAP
        let endpoint = try server.bindLoopback()
        let client = try context.makeSocket(.dealer)
        let monitor = try monitorSocket(of: client, in: context)
        defer {
            client.close()
            monitor.close()
        }
        try client.connect(endpoint)
        try client.send([bytes("plain text")])
        if allowNull {
            #expect(try server.receive(within: 2000)?.last == bytes("plain text"))
        } else {
            #expect(try awaitEvent(.handshakeFailedAuth, on: monitor, within: 2000)?.value == 400)
            #expect(try server.receive(within: 100) == nil)
        }
    }

    /// The pitfall the authenticator exists for: with no ZAP handler bound in the
    /// server's context, libzmq 4.3 admits any CURVE client that knows the server key.
    @Test func withoutAHandlerCurveAdmitsAnyClient() throws {
        let context = try Context()
        defer { context.close() }
        let auth = try ZAPAuthenticator(context: context, allowedKeys: [])
        auth.stop()  // and after stop() the same holds
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let (client, monitor) = try server.client(keys: try CurveKeyPair.generate())
        defer {
            client.close()
            monitor.close()
        }
        try client.send([bytes("anyone")])
        #expect(try server.socket.receive(within: 2000)?.last == bytes("anyone"))
    }

    /// With `.zapEnforceDomain`, the same situation fails closed: the handshake fails.
    @Test func withoutAHandlerAnEnforcingServerRefusesEveryone() throws {
        let context = try Context()
        defer { context.close() }
        let server = try CurveServer(context: context, zapDomain: "test", enforceDomain: true, monitored: true)
        #expect(try server.socket.get(.zapEnforceDomain))
        let serverMonitor = try #require(server.monitor)
        defer {
            server.socket.close()
            serverMonitor.close()
        }
        let (client, monitor) = try server.client(keys: try CurveKeyPair.generate())
        defer {
            client.close()
            monitor.close()
        }
        try client.send([bytes("anyone")])
        let failed = try awaitEvent(.handshakeFailed, on: serverMonitor, within: 5000)
        #expect(failed != nil)
        #expect(try server.socket.receive(within: 100) == nil)
    }

    /// A handler that dies says so (`failure`, `onFailure`), leaves the request in hand
    /// unanswered, and an enforcing server admits no one after it, allowed key or not.
    @Test func aFailedHandlerIsReportedAndAdmitsNoOne() throws {
        struct InjectedFault: Error {}
        let context = try Context()
        defer { context.close() }
        let allowed = try CurveKeyPair.generate()
        let reported = DispatchSemaphore(value: 0)
        let auth = try ZAPAuthenticator(
            context: context, allowedKeys: [allowed.publicKey],
            onRequest: { _ in throw InjectedFault() },
            onFailure: { error in if error is InjectedFault { reported.signal() } })
        defer { auth.stop() }
        #expect(auth.failure == nil)
        let server = try CurveServer(context: context, zapDomain: "test", enforceDomain: true, monitored: true)
        let serverMonitor = try #require(server.monitor)
        defer {
            server.socket.close()
            serverMonitor.close()
        }

        let (first, firstMonitor) = try server.client(keys: allowed)
        defer {
            first.close()
            firstMonitor.close()
        }
        try first.send([bytes("first")])
        #expect(reported.wait(timeout: .now() + 10) == .success)
        #expect(auth.failure is InjectedFault)

        for keys in [allowed, try CurveKeyPair.generate()] {
            let (client, monitor) = try server.client(keys: keys)
            defer {
                client.close()
                monitor.close()
            }
            try client.send([bytes("later")])
            // The handshake fails (no handler, and the server enforces ZAP) or, while
            // libzmq's reaper has not yet unbound the dead handler's inproc socket, its
            // request goes there and is never answered: either way, no admission. (A
            // fresh clone's run saw the second: no event at all within 5 s.)
            let event = try awaitEvent([.handshakeFailed, .handshakeSucceeded], on: serverMonitor, within: 2000)
            #expect(event.map { !$0.event.contains(.handshakeSucceeded) } ?? true, "admitted: \(String(describing: event))")
        }
        #expect(try server.socket.receive(within: 500) == nil)
        auth.stop()
        #expect(auth.failure is InjectedFault)  // stop() does not clear it
    }

    @Test func stoppingIsNotAFailure() throws {
        let context = try Context()
        defer { context.close() }
        let auth = try ZAPAuthenticator(context: context, onFailure: { _ in Issue.record("stop() reported as a failure") })
        auth.stop()
        #expect(auth.failure == nil)
        // A context shut down under a running handler (ETERM) is not a failure either.
        let second = try Context()
        let ended = try ZAPAuthenticator(context: second, onFailure: { _ in Issue.record("ETERM reported as a failure") })
        second.shutdown()
        ended.stop()
        #expect(ended.failure == nil)
        second.close()
    }

    @Test func oneHandlerPerContext() throws {
        let context = try Context()
        defer { context.close() }
        let first = try ZAPAuthenticator(context: context)
        let error = try #require(throws: ZMQError.self) { try ZAPAuthenticator(context: context) }
        #expect(error.errno == EADDRINUSE)
        #expect(error.call == "zmq_bind(inproc://zeromq.zap.01)")
        first.stop()
        first.stop()  // idempotent
        // The endpoint is free again once stopped.
        let second = try ZAPAuthenticator(context: context)
        second.stop()
    }

    @Test func contextShutdownEndsTheHandler() throws {
        let context = try Context()
        let auth = try ZAPAuthenticator(context: context)
        context.shutdown()
        auth.stop()  // returns: the thread saw ETERM and closed its sockets
        context.close()
    }

    @Test func contextCloseDoesNotWaitForStop() throws {
        let context = try Context()
        let auth = try ZAPAuthenticator(context: context)
        context.close()  // the handler thread sees ETERM and closes its sockets
        auth.stop()
    }

    @Test func droppingTheAuthenticatorStopsIt() throws {
        let context = try Context()
        do { _ = try ZAPAuthenticator(context: context) }
        // deinit stopped it, so the endpoint is free and the context terminates.
        try ZAPAuthenticator(context: context).stop()
        context.close()
    }
}

@Suite struct ZAPPolicyTests {
    let allowed = try! CurveKeyPair.generate()
    let stranger = try! CurveKeyPair.generate()

    func curveRequest(_ keys: CurveKeyPair) -> ZAPRequest {
        ZAPRequest(
            requestID: bytes("1"), address: "10.0.0.5", mechanism: "CURVE",
            credentials: [Z85.decode(keys.publicKey)!])
    }

    @Test func curveKeysOnTheListAreAdmittedWithTheKeyAsUserID() {
        let policy = ZAPPolicy(allowedKeys: [allowed.publicKey])
        #expect(policy.decide(curveRequest(allowed)) == .allow(userID: allowed.publicKey))
        #expect(policy.decide(curveRequest(stranger)).statusCode == "400")
    }

    @Test func malformedCredentialsAreRefused() {
        let policy = ZAPPolicy(allowedKeys: [allowed.publicKey])
        var request = curveRequest(allowed)
        request.credentials = [[1, 2, 3]]
        #expect(policy.decide(request) == .deny("malformed CURVE credentials"))
    }

    @Test(arguments: [
        ("NULL", "127.0.0.1", true, "200"),
        ("NULL", "::1", true, "200"),
        ("NULL", "10.0.0.5", true, "400"),
        ("NULL", "127.0.0.1", false, "400"),
        ("PLAIN", "127.0.0.1", true, "400"),
        ("GSSAPI", "127.0.0.1", true, "400"),
    ])
    func otherMechanismsFailClosed(mechanism: String, address: String, allowNull: Bool, status: String) {
        let policy = ZAPPolicy(allowedKeys: [allowed.publicKey], allowNullFromLoopback: allowNull)
        let request = ZAPRequest(requestID: bytes("7"), address: address, mechanism: mechanism)
        #expect(policy.decide(request).statusCode == status)
    }

    @Test func unknownVersionIsA500() {
        var request = curveRequest(allowed)
        request.version = "2.0"
        #expect(ZAPPolicy(allowedKeys: [allowed.publicKey]).decide(request).statusCode == "500")
    }

    @Test func answerKeepsTheEnvelopeAndRequestID() {
        let frames: [[UInt8]] = [
            bytes("peer"), [], bytes("1.0"), bytes("42"), bytes(""), bytes("127.0.0.1"), [], bytes("CURVE"),
            Z85.decode(allowed.publicKey)!,
        ]
        let reply = ZAPAuthenticator.answer(frames, policy: ZAPPolicy(allowedKeys: [allowed.publicKey]))
        #expect(
            reply == [
                bytes("peer"), [], bytes("1.0"), bytes("42"), bytes("200"), bytes("OK"), bytes(allowed.publicKey), [],
            ])
        #expect(ZAPAuthenticator.answer([bytes("peer"), [], bytes("1.0")], policy: ZAPPolicy(allowedKeys: [])) == nil)
    }
}

extension MonitorEvents {
    /// Any failed handshake: no detail (e.g. no ZAP handler under `.zapEnforceDomain`),
    /// protocol, or refused by ZAP.
    static let handshakeFailed: MonitorEvents = [.handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth]
}
