import CZeroMQ

/// A socket option whose value is a `Value`: `Int32` for counts and milliseconds,
/// `Bool` for flags, `Int64` for sizes, `String` for text, `[UInt8]` for bytes.
/// Read and written with `Socket.get(_:)` and `Socket.set(_:_:)`:
///
///     try socket.set(.receiveTimeout, 250)
///     let endpoint = try socket.get(.lastEndpoint)
///
/// Options that shape connections (CURVE, ZAP domain, maxmsgsize, heartbeats, hwm, ...)
/// must be set before `bind`/`connect`.
public struct SocketOption<Value>: Sendable, CustomStringConvertible {
    let code: Int32
    let name: String
    /// The buffer `get` offers for text and bytes. libzmq insists on exactly 41 for a
    /// CURVE key in Z85 (32 would return it binary).
    let capacity: Int

    init(_ code: Int32, _ name: String, capacity: Int = 1024) {
        self.code = code
        self.name = name
        self.capacity = capacity
    }

    public var description: String { name }
}

extension SocketOption where Value == Int32 {
    /// How long unsent messages survive `close`, in ms (-1 forever; 0 here by default).
    public static var linger: Self { .init(ZMQ_LINGER, "ZMQ_LINGER") }
    /// Outgoing queue limit per peer, in messages (default 1000; 0 no limit).
    public static var sendHighWaterMark: Self { .init(ZMQ_SNDHWM, "ZMQ_SNDHWM") }
    /// Incoming queue limit per peer, in messages (default 1000; 0 no limit).
    public static var receiveHighWaterMark: Self { .init(ZMQ_RCVHWM, "ZMQ_RCVHWM") }
    /// How long `receive` blocks before returning nil, in ms (-1, the default, forever).
    public static var receiveTimeout: Self { .init(ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO") }
    /// How long `send` blocks before returning false, in ms (-1, the default, forever).
    public static var sendTimeout: Self { .init(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO") }
    /// Interval between ZMTP PINGs on each connection, in ms (0, the default, none).
    public static var heartbeatInterval: Self { .init(ZMQ_HEARTBEAT_IVL, "ZMQ_HEARTBEAT_IVL") }
    /// How long to wait for any traffic after a PING before dropping the connection,
    /// in ms (default: the heartbeat interval).
    public static var heartbeatTimeout: Self { .init(ZMQ_HEARTBEAT_TIMEOUT, "ZMQ_HEARTBEAT_TIMEOUT") }
    /// The time-to-live the peer should apply to this side, in ms (rounded to 100 ms).
    public static var heartbeatTTL: Self { .init(ZMQ_HEARTBEAT_TTL, "ZMQ_HEARTBEAT_TTL") }
    /// Delay before reconnecting, in ms (default 100; -1 never reconnect).
    public static var reconnectInterval: Self { .init(ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL") }
    /// Upper bound of the exponential reconnect back-off, in ms (0, the default, none).
    public static var reconnectIntervalMax: Self { .init(ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX") }
    /// Timeout of a TCP connect, in ms (0, the default, the OS's).
    public static var connectTimeout: Self { .init(ZMQ_CONNECT_TIMEOUT, "ZMQ_CONNECT_TIMEOUT") }
    /// Time allowed for the ZMTP/CURVE handshake, in ms (default 30000; 0 none).
    public static var handshakeInterval: Self { .init(ZMQ_HANDSHAKE_IVL, "ZMQ_HANDSHAKE_IVL") }
    /// SO_KEEPALIVE: -1 (default) the OS's setting, 0 off, 1 on.
    public static var tcpKeepalive: Self { .init(ZMQ_TCP_KEEPALIVE, "ZMQ_TCP_KEEPALIVE") }
    /// TCP_KEEPIDLE in seconds (-1 the OS's).
    public static var tcpKeepaliveIdle: Self { .init(ZMQ_TCP_KEEPALIVE_IDLE, "ZMQ_TCP_KEEPALIVE_IDLE") }
    /// TCP_KEEPINTVL in seconds (-1 the OS's).
    public static var tcpKeepaliveInterval: Self { .init(ZMQ_TCP_KEEPALIVE_INTVL, "ZMQ_TCP_KEEPALIVE_INTVL") }
    /// TCP_KEEPCNT (-1 the OS's).
    public static var tcpKeepaliveCount: Self { .init(ZMQ_TCP_KEEPALIVE_CNT, "ZMQ_TCP_KEEPALIVE_CNT") }
    /// The security mechanism in use (read-only): `ZMQ_NULL`, `ZMQ_PLAIN` or `ZMQ_CURVE`.
    public static var mechanism: Self { .init(ZMQ_MECHANISM, "ZMQ_MECHANISM") }
}

extension SocketOption where Value == Int64 {
    /// Largest inbound message accepted, in bytes (-1, the default, no limit). A peer
    /// that sends a larger one has its connection dropped (see `Socket`'s tests): the
    /// message is lost and a connecting peer reconnects.
    public static var maxMessageSize: Self { .init(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE") }
}

extension SocketOption where Value == Bool {
    /// ROUTER: fail sends to unknown routing ids with `EHOSTUNREACH` instead of
    /// dropping them silently.
    public static var routerMandatory: Self { .init(ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY") }
    /// ROUTER: a peer that connects with a routing id already in use takes it over (the
    /// old connection is dropped) instead of being refused, e.g. a worker that
    /// reconnects before the ROUTER noticed its previous connection die.
    public static var routerHandover: Self { .init(ZMQ_ROUTER_HANDOVER, "ZMQ_ROUTER_HANDOVER") }
    /// Queue messages only on completed connections (so DEALER/PUSH/REQ block or
    /// return false rather than queue for a peer that is not there).
    public static var immediate: Self { .init(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE") }
    /// Act as CURVE server; set before `curveSecretKey`.
    public static var curveServer: Self { .init(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER") }
    /// Act as PLAIN server (passwords in clear text; only for loopback tests).
    public static var plainServer: Self { .init(ZMQ_PLAIN_SERVER, "ZMQ_PLAIN_SERVER") }
    /// CURVE/PLAIN server: fail the handshake when no ZAP handler is bound in the
    /// socket's context, instead of admitting every client that knows the server key
    /// (libzmq's default, kept for backward compatibility). `ZMQ_ZAP_ENFORCE_DOMAIN` is
    /// a draft option in zmq.h (93, not visible without `ZMQ_BUILD_DRAFT_API`), but
    /// libzmq 4.3 honours it in every build; older libzmq refuses it with `EINVAL`.
    public static var zapEnforceDomain: Self { .init(93, "ZMQ_ZAP_ENFORCE_DOMAIN") }
    /// Accept IPv6 as well as IPv4.
    public static var ipv6: Self { .init(ZMQ_IPV6, "ZMQ_IPV6") }
    /// Whether more frames of the current message follow (read-only).
    public static var receiveMore: Self { .init(ZMQ_RCVMORE, "ZMQ_RCVMORE") }
}

extension SocketOption where Value == String {
    /// The endpoint last bound or connected, with the real port after binding `:*`.
    public static var lastEndpoint: Self { .init(ZMQ_LAST_ENDPOINT, "ZMQ_LAST_ENDPOINT") }
    /// This side's long-term CURVE public key, Z85 (40 characters).
    public static var curvePublicKey: Self { .init(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", capacity: 41) }
    /// This side's long-term CURVE secret key, Z85.
    public static var curveSecretKey: Self { .init(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", capacity: 41) }
    /// Client side: the server's CURVE public key, Z85.
    public static var curveServerKey: Self { .init(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", capacity: 41) }
    /// The ZAP domain passed to the authenticator. Setting it also makes NULL-mechanism
    /// connections ask ZAP (CURVE and PLAIN always ask when a handler is bound).
    public static var zapDomain: Self { .init(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN") }
    /// PLAIN client user name.
    public static var plainUsername: Self { .init(ZMQ_PLAIN_USERNAME, "ZMQ_PLAIN_USERNAME") }
    /// PLAIN client password.
    public static var plainPassword: Self { .init(ZMQ_PLAIN_PASSWORD, "ZMQ_PLAIN_PASSWORD") }
}

extension SocketOption where Value == [UInt8] {
    /// The routing id (formerly "identity") a ROUTER peer sees for this socket: 1 to 255
    /// bytes, not starting with a zero byte. Set before `connect`.
    public static var routingID: Self { .init(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID") }
    /// SUB: receive messages starting with these bytes (empty: everything).
    public static var subscribe: Self { .init(ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE") }
    /// SUB: drop a subscription.
    public static var unsubscribe: Self { .init(ZMQ_UNSUBSCRIBE, "ZMQ_UNSUBSCRIBE") }
}

// MARK: - Reading and writing options

extension Socket {
    public func set(_ option: SocketOption<Int32>, _ value: Int32) throws(ZMQError) {
        var value = value
        try setRaw(option.code, option.name, &value, MemoryLayout<Int32>.size)
    }

    public func set(_ option: SocketOption<Int64>, _ value: Int64) throws(ZMQError) {
        var value = value
        try setRaw(option.code, option.name, &value, MemoryLayout<Int64>.size)
    }

    public func set(_ option: SocketOption<Bool>, _ value: Bool) throws(ZMQError) {
        var value: Int32 = value ? 1 : 0
        try setRaw(option.code, option.name, &value, MemoryLayout<Int32>.size)
    }

    public func set(_ option: SocketOption<String>, _ value: String) throws(ZMQError) {
        var bytes = Array(value.utf8)
        try setRaw(option.code, option.name, &bytes, bytes.count)
    }

    public func set(_ option: SocketOption<[UInt8]>, _ value: [UInt8]) throws(ZMQError) {
        var bytes = value
        try setRaw(option.code, option.name, &bytes, bytes.count)
    }

    public func get(_ option: SocketOption<Int32>) throws(ZMQError) -> Int32 {
        var value: Int32 = 0
        _ = try getRaw(option.code, option.name, &value, MemoryLayout<Int32>.size)
        return value
    }

    public func get(_ option: SocketOption<Int64>) throws(ZMQError) -> Int64 {
        var value: Int64 = 0
        _ = try getRaw(option.code, option.name, &value, MemoryLayout<Int64>.size)
        return value
    }

    public func get(_ option: SocketOption<Bool>) throws(ZMQError) -> Bool {
        var value: Int32 = 0
        _ = try getRaw(option.code, option.name, &value, MemoryLayout<Int32>.size)
        return value != 0
    }

    /// Reads a text option; libzmq writes it NUL-terminated (CURVE keys come back as Z85).
    public func get(_ option: SocketOption<String>) throws(ZMQError) -> String {
        var buffer = [UInt8](repeating: 0, count: option.capacity)
        let size = try getRaw(option.code, option.name, &buffer, buffer.count)
        let text = buffer.prefix(size).prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    public func get(_ option: SocketOption<[UInt8]>) throws(ZMQError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: option.capacity)
        let size = try getRaw(option.code, option.name, &buffer, buffer.count)
        return Array(buffer.prefix(size))
    }

    /// The endpoint last bound or connected; after binding `tcp://127.0.0.1:*` it holds
    /// the port the OS chose.
    public var lastEndpoint: String {
        get throws(ZMQError) { try get(.lastEndpoint) }
    }

    private func setRaw(_ code: Int32, _ name: String, _ value: UnsafeRawPointer, _ size: Int) throws(ZMQError) {
        let socket = try checkedHandle("zmq_setsockopt(\(name))")
        try zmqCheck("zmq_setsockopt(\(name))") { zmq_setsockopt(socket, code, value, size) }
    }

    /// Returns the size libzmq wrote.
    private func getRaw(_ code: Int32, _ name: String, _ value: UnsafeMutableRawPointer, _ capacity: Int)
        throws(ZMQError) -> Int
    {
        let socket = try checkedHandle("zmq_getsockopt(\(name))")
        var size = capacity
        try zmqCheck("zmq_getsockopt(\(name))") { zmq_getsockopt(socket, code, value, &size) }
        return size
    }
}
