import Foundation
import Testing

@testable import ZeroMQ

@Suite struct PollerTests {
    @Test func timesOutWithNothingReady() throws {
        let context = try Context()
        defer { context.close() }
        let a = try context.makeSocket(.pull)
        let b = try context.makeSocket(.pull)
        defer {
            a.close()
            b.close()
        }
        try a.bind(uniqueInproc("a"))
        try b.bind(uniqueInproc("b"))
        var poller = Poller()
        poller.add(a)
        poller.add(b)
        let start = ContinuousClock.now
        let ready = try poller.poll(timeoutMilliseconds: 50)
        let elapsed = ContinuousClock.now - start
        #expect(ready == [[], []])
        // zmq_poll may wake up to a millisecond early; it must not return at once.
        #expect(elapsed >= .milliseconds(45))
        #expect(elapsed < .seconds(1))
    }

    @Test func reportsWhichSocketIsReadable() throws {
        let context = try Context()
        defer { context.close() }
        let quiet = try context.makeSocket(.pull)
        let busy = try context.makeSocket(.pull)
        let push = try context.makeSocket(.push)
        defer {
            quiet.close()
            busy.close()
            push.close()
        }
        try quiet.bind(uniqueInproc("quiet"))
        let busyEndpoint = uniqueInproc("busy")
        try busy.bind(busyEndpoint)
        try push.connect(busyEndpoint)
        try push.send([bytes("hello")])

        var poller = Poller()
        let q = poller.add(quiet)
        let b = poller.add(busy)
        let w = poller.add(push, events: [.readable, .writable])
        let ready = try poller.poll(timeoutMilliseconds: 1000)
        #expect(ready[q] == [])
        #expect(ready[b] == .readable)
        #expect(ready[w] == .writable)  // PUSH never reads
        #expect(try busy.receive(dontWait: true) == [bytes("hello")])
        // Drained: a zero timeout just checks.
        #expect(try poller.poll(timeoutMilliseconds: 0)[b] == [])
    }

    @Test func pollingAClosedSocketThrows() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.pull)
        var poller = Poller()
        poller.add(socket)
        socket.close()
        let error = try #require(throws: ZMQError.self) { try poller.poll(timeoutMilliseconds: 0) }
        #expect(error.errno == ENOTSOCK)
    }
}
