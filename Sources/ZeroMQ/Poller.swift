import CZeroMQ

/// What a socket is ready for.
public struct PollEvents: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// At least one whole message can be received without blocking.
    public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// At least one message can be sent without blocking.
    public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))

    public var description: String {
        switch (contains(.readable), contains(.writable)) {
        case (true, true): "[readable, writable]"
        case (true, false): "[readable]"
        case (false, true): "[writable]"
        case (false, false): "[]"
        }
    }
}

/// Waits on several sockets at once (`zmq_poll`). Like its sockets, a poller belongs to
/// one thread.
///
///     var poller = Poller()
///     let jobs = poller.add(router)
///     let control = poller.add(pair)
///     let ready = try poller.poll(timeoutMilliseconds: 100)
///     if ready[jobs].contains(.readable) { ... }
public struct Poller {
    private var sockets: [Socket] = []
    private var interests: [PollEvents] = []

    public init() {}

    /// Registers `socket` for `events` and returns its index into `poll`'s result.
    @discardableResult
    public mutating func add(_ socket: Socket, events: PollEvents = .readable) -> Int {
        sockets.append(socket)
        interests.append(events)
        return sockets.count - 1
    }

    public var count: Int { sockets.count }

    /// **Blocks** until at least one registered socket is ready for what it was
    /// registered for, or `timeoutMilliseconds` pass (-1 waits forever, 0 just checks).
    /// Returns, per registered socket in order of `add`, the events it is ready for
    /// (empty for all on timeout). A signal restarts the wait for the time remaining.
    /// Throws `ETERM` when the context is shut down, `ENOTSOCK` for a closed socket.
    public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [PollEvents] {
        var items: [zmq_pollitem_t] = []
        items.reserveCapacity(sockets.count)
        for (socket, events) in zip(sockets, interests) {
            let handle = try socket.checkedHandle("zmq_poll")
            items.append(zmq_pollitem_t(socket: handle, fd: -1, events: events.rawValue, revents: 0))
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(max(timeoutMilliseconds, 0))
        var timeout = timeoutMilliseconds
        let call = "zmq_poll(\(items.count) sockets, \(timeoutMilliseconds) ms)"
        while true {
            do {
                try zmqCheck(call, retryingEINTR: false) { zmq_poll(&items, Int32(items.count), timeout) }
                break
            } catch where error.errno == EINTR && timeoutMilliseconds > 0 {
                let left = clock.now.duration(to: deadline).components
                timeout = max(0, Int(left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000))
            } catch where error.errno == EINTR {
                continue
            }
        }
        return items.map { PollEvents(rawValue: $0.revents).intersection([.readable, .writable]) }
    }
}
