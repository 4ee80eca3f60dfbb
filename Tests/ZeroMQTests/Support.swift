import Foundation

@testable import ZeroMQ

/// Bytes of a UTF-8 string, for terse frames.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A process-unique `inproc://` name.
func uniqueInproc(_ label: String) -> String { "inproc://\(label)-\(UUID().uuidString)" }

extension Socket {
    /// Binds to an OS-chosen loopback port and returns the real endpoint.
    func bindLoopback() throws -> String {
        try bind("tcp://127.0.0.1:*")
        return try lastEndpoint
    }

    /// The next message if one arrives within `milliseconds`, else nil.
    func receive(within milliseconds: Int) throws -> [[UInt8]]? {
        var poller = Poller()
        poller.add(self)
        guard try poller.poll(timeoutMilliseconds: milliseconds)[0].contains(.readable) else { return nil }
        return try receive(dontWait: true)
    }
}

/// A PAIR connected to `socket`'s monitor, set up before `socket` connects or binds.
func monitorSocket(of socket: Socket, in context: Context) throws -> Socket {
    let endpoint = uniqueInproc("monitor")
    try socket.monitor(endpoint)
    let monitor = try context.makeSocket(.pair)
    try monitor.connect(endpoint)
    return monitor
}

/// Reads monitor events until one in `wanted` arrives within `milliseconds` in total;
/// returns it, or nil on timeout.
func awaitEvent(_ wanted: MonitorEvents, on monitor: Socket, within milliseconds: Int) throws -> MonitorEvent? {
    let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
    while true {
        let left = Int(deadline.timeIntervalSinceNow * 1000)
        guard left > 0, let frames = try monitor.receive(within: left) else { return nil }
        if let event = MonitorEvent(frames: frames), !event.event.isDisjoint(with: wanted) { return event }
    }
}
