import Foundation
import Testing

@testable import ZeroMQ

@Suite struct SocketTests {
    @Test(arguments: ["inproc", "tcp"])
    func routerDealerMultipartRoundTripWithRoutingIDs(transport: String) throws {
        let context = try Context()
        defer { context.close() }
        let router = try context.makeSocket(.router)
        let dealer = try context.makeSocket(.dealer)
        defer {
            router.close()
            dealer.close()
        }
        let endpoint: String
        if transport == "tcp" {
            endpoint = try router.bindLoopback()
        } else {
            endpoint = uniqueInproc("router")
            try router.bind(endpoint)
        }
        try dealer.set(.routingID, bytes("worker-7"))
        try dealer.connect(endpoint)

        let payload = Data([0, 1, 2, 255])
        #expect(try dealer.send([bytes("task"), [], Array(payload)]))
        let request = try #require(try router.receive(within: 2000))
        #expect(request == [bytes("worker-7"), bytes("task"), [], [0, 1, 2, 255]])

        // Reply to that routing id, mixing Data and [UInt8] frames via the generic send.
        #expect(try router.send([Data("worker-7".utf8), Data(), Data("done".utf8)]))
        let reply = try #require(try dealer.receive(within: 2000))
        #expect(reply == [[], bytes("done")])
    }

    @Test func dontWaitReceiveReturnsNilWhenEmpty() throws {
        let context = try Context()
        defer { context.close() }
        let pull = try context.makeSocket(.pull)
        defer { pull.close() }
        try pull.bind(uniqueInproc("empty"))
        #expect(try pull.receive(dontWait: true) == nil)
    }

    @Test func receiveTimeoutReturnsNil() throws {
        let context = try Context()
        defer { context.close() }
        let pull = try context.makeSocket(.pull)
        defer { pull.close() }
        try pull.bind(uniqueInproc("timeout"))
        try pull.set(.receiveTimeout, 20)
        #expect(try pull.receive() == nil)
    }

    @Test func dontWaitSendReturnsFalseWithoutPeer() throws {
        let context = try Context()
        defer { context.close() }
        let push = try context.makeSocket(.push)
        defer { push.close() }
        // No connection at all: PUSH has nowhere to queue.
        #expect(try push.send([bytes("x")], dontWait: true) == false)
    }

    @Test func routerMandatoryReportsUnknownPeer() throws {
        let context = try Context()
        defer { context.close() }
        let router = try context.makeSocket(.router)
        defer { router.close() }
        try router.set(.routerMandatory, true)
        let error = try #require(throws: ZMQError.self) {
            try router.send([bytes("nobody"), bytes("hi")])
        }
        #expect(error.errno == EHOSTUNREACH)
        #expect(error.call == "zmq_send(ROUTER, frame 1 of 2)")
    }

    @Test func lastEndpointHasTheRealPort() throws {
        let context = try Context()
        defer { context.close() }
        let router = try context.makeSocket(.router)
        defer { router.close() }
        let endpoint = try router.bindLoopback()
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        let port = try #require(Int(endpoint.split(separator: ":").last ?? ""))
        #expect(port > 0)
        // The reported endpoint is the one unbind accepts.
        try router.unbind(endpoint)
    }

    @Test func optionsRoundTrip() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        #expect(try socket.get(.linger) == 0)
        try socket.set(.sendHighWaterMark, 10)
        try socket.set(.receiveHighWaterMark, 20)
        try socket.set(.heartbeatInterval, 1000)
        try socket.set(.heartbeatTimeout, 3000)
        try socket.set(.heartbeatTTL, 5000)
        try socket.set(.reconnectInterval, 50)
        try socket.set(.reconnectIntervalMax, 2000)
        try socket.set(.tcpKeepalive, 1)
        try socket.set(.tcpKeepaliveIdle, 30)
        try socket.set(.maxMessageSize, 1 << 20)
        try socket.set(.immediate, true)
        try socket.set(.routingID, bytes("me"))
        try socket.set(.zapDomain, "duet")
        #expect(try socket.get(.sendHighWaterMark) == 10)
        #expect(try socket.get(.receiveHighWaterMark) == 20)
        #expect(try socket.get(.heartbeatInterval) == 1000)
        #expect(try socket.get(.heartbeatTimeout) == 3000)
        #expect(try socket.get(.heartbeatTTL) == 5000)
        #expect(try socket.get(.reconnectInterval) == 50)
        #expect(try socket.get(.reconnectIntervalMax) == 2000)
        #expect(try socket.get(.tcpKeepalive) == 1)
        #expect(try socket.get(.tcpKeepaliveIdle) == 30)
        #expect(try socket.get(.maxMessageSize) == 1 << 20)
        #expect(try socket.get(.immediate))
        #expect(try socket.get(.routingID) == bytes("me"))
        #expect(try socket.get(.zapDomain) == "duet")
        #expect(try socket.get(.mechanism) == 0)  // ZMQ_NULL
    }

    @Test func bindingAnInvalidEndpointNamesTheCall() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.router)
        defer { socket.close() }
        let error = try #require(throws: ZMQError.self) { try socket.bind("tcp://no-such-interface-x:5555") }
        #expect(error.errno == ENODEV)
        #expect(error.call == "zmq_bind(tcp://no-such-interface-x:5555)")
        #expect(error.message == "No such device")
        #expect("\(error)" == "zmq_bind(tcp://no-such-interface-x:5555) failed: No such device (errno \(ENODEV))")
    }

    @Test func connectingWithAnUnknownTransportFails() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        let error = try #require(throws: ZMQError.self) { try socket.connect("carrier-pigeon://coop:1") }
        #expect(error.errno == EPROTONOSUPPORT)
        #expect(error.message == "Protocol not supported")
        #expect(error.call == "zmq_connect(carrier-pigeon://coop:1)")
    }

    @Test func malformedEndpointIsInvalid() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        let error = try #require(throws: ZMQError.self) { try socket.connect("tcp://127.0.0.1") }
        #expect(error.errno == EINVAL)
        #expect(error.message == "Invalid argument")
    }

    @Test func bindingATakenPortFails() throws {
        let context = try Context()
        defer { context.close() }
        let first = try context.makeSocket(.router)
        let second = try context.makeSocket(.router)
        defer {
            first.close()
            second.close()
        }
        let endpoint = try first.bindLoopback()
        let error = try #require(throws: ZMQError.self) { try second.bind(endpoint) }
        #expect(error.errno == EADDRINUSE)
        #expect(error.call == "zmq_bind(\(endpoint))")
    }

    @Test func usingAClosedSocketThrows() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        socket.close()
        socket.close()  // idempotent
        #expect(socket.isClosed)
        let error = try #require(throws: ZMQError.self) { try socket.send([bytes("x")]) }
        #expect(error.errno == ENOTSOCK)
        #expect(error.message == "socket already closed")
    }

    @Test func sendingNoFramesIsRejected() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        let error = try #require(throws: ZMQError.self) { try socket.send([[UInt8]]()) }
        #expect(error.errno == EINVAL)
    }

    /// libzmq checks `ZMQ_MAXMSGSIZE` when the frame header arrives: the receiver does
    /// not deliver the message, it drops the whole connection (the monitor reports a
    /// disconnect). The sender's engine has already taken the message, so it is lost;
    /// a connecting sender reconnects and later messages get through.
    @Test func maxMessageSizeDropsTheConnection() throws {
        let context = try Context()
        defer { context.close() }
        let server = try context.makeSocket(.router)
        let client = try context.makeSocket(.dealer)
        defer {
            server.close()
            client.close()
        }
        try server.set(.maxMessageSize, 100)
        let endpoint = try server.bindLoopback()
        try client.set(.reconnectInterval, 20)
        let monitor = try monitorSocket(of: client, in: context)
        defer { monitor.close() }
        try client.connect(endpoint)
        #expect(try awaitEvent(.connected, on: monitor, within: 2000) != nil)

        try client.send([[UInt8](repeating: 7, count: 1000)])
        #expect(try awaitEvent(.disconnected, on: monitor, within: 2000) != nil)
        #expect(try server.receive(within: 100) == nil)

        // After the reconnect, small messages flow again.
        try client.send([bytes("small")])
        let message = try #require(try server.receive(within: 2000))
        #expect(message.last == bytes("small"))
    }

    /// Sockets start with linger 0; closing with a linger lets a message queued before
    /// the connection exists still go out, and `Context.close()` waits for it.
    @Test func closeWithLingerDeliversQueuedMessages() throws {
        let context = try Context()
        defer { context.close() }
        let pull = try context.makeSocket(.pull)
        defer { pull.close() }
        let endpoint = try pull.bindLoopback()
        let push = try context.makeSocket(.push)
        try push.connect(endpoint)
        try push.send([bytes("last words")])
        push.close(linger: 2000)
        #expect(try pull.receive(within: 2000) == [bytes("last words")])
    }

    @Test func pubSubFiltersByPrefix() throws {
        let context = try Context()
        defer { context.close() }
        let pub = try context.makeSocket(.pub)
        let sub = try context.makeSocket(.sub)
        defer {
            pub.close()
            sub.close()
        }
        let endpoint = uniqueInproc("pubsub")
        try pub.bind(endpoint)
        try sub.set(.subscribe, bytes("a."))
        try sub.connect(endpoint)
        // Over inproc the subscription is in place once connect returns.
        try pub.send([bytes("b.skip")])
        try pub.send([bytes("a.keep"), bytes("body")])
        #expect(try sub.receive(within: 1000) == [bytes("a.keep"), bytes("body")])
        #expect(try sub.receive(dontWait: true) == nil)
    }
}
