import CZeroMQ

/// Socket events reported by `Socket.monitor(_:events:)` (`ZMQ_EVENT_*`).
public struct MonitorEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let connected = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_CONNECTED))
    public static let connectDelayed = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_CONNECT_DELAYED))
    public static let connectRetried = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_CONNECT_RETRIED))
    public static let listening = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_LISTENING))
    public static let bindFailed = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_BIND_FAILED))
    public static let accepted = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_ACCEPTED))
    public static let acceptFailed = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_ACCEPT_FAILED))
    public static let closed = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_CLOSED))
    public static let closeFailed = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_CLOSE_FAILED))
    public static let disconnected = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_DISCONNECTED))
    public static let monitorStopped = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_MONITOR_STOPPED))
    /// The handshake failed before the security mechanism said why (e.g. a CURVE HELLO
    /// that does not decrypt with the server key, or a timeout).
    public static let handshakeFailedNoDetail = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
    public static let handshakeSucceeded = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
    /// A ZMTP or mechanism protocol error; `value` is a `ZMQ_PROTOCOL_ERROR_*` code.
    public static let handshakeFailedProtocol = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
    /// ZAP refused the peer; `value` is the ZAP status code (e.g. 400).
    public static let handshakeFailedAuth = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
    public static let all = MonitorEvents(rawValue: UInt16(ZMQ_EVENT_ALL))
}

/// One event read from a monitor socket.
public struct MonitorEvent: Sendable, Equatable {
    /// Exactly one of the `MonitorEvents`.
    public let event: MonitorEvents
    /// Event-specific: a file descriptor, an errno, a reconnect interval, a ZAP status.
    public let value: UInt32
    /// The endpoint concerned, e.g. `tcp://127.0.0.1:40123`.
    public let endpoint: String

    /// Parses the two frames libzmq sends per event (2-byte event and 4-byte value in
    /// host order, then the endpoint); nil for anything else.
    public init?(frames: [[UInt8]]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        let head = frames[0]
        event = MonitorEvents(rawValue: head.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) })
        value = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
        endpoint = String(decoding: frames[1], as: UTF8.self)
    }
}

extension Socket {
    /// Publishes `events` of this socket on a PAIR socket that libzmq binds at
    /// `endpoint` (an `inproc://` name unique in the context). Connect your own PAIR
    /// there *before* connecting or binding this socket: events that happen while no
    /// one listens are dropped. Read events with `MonitorEvent(frames:)`.
    public func monitor(_ endpoint: String, events: MonitorEvents = .all) throws(ZMQError) {
        let socket = try checkedHandle("zmq_socket_monitor(\(endpoint))")
        try zmqCheck("zmq_socket_monitor(\(endpoint))", retryingEINTR: false) {
            zmq_socket_monitor(socket, endpoint, Int32(events.rawValue))
        }
    }

    /// Stops monitoring; the monitor PAIR receives `.monitorStopped`.
    public func stopMonitor() throws(ZMQError) {
        let socket = try checkedHandle("zmq_socket_monitor(nil)")
        try zmqCheck("zmq_socket_monitor(nil)", retryingEINTR: false) {
            zmq_socket_monitor(socket, nil, 0)
        }
    }
}
