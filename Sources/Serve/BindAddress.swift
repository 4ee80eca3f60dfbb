// `--bind HOST:PORT` for `duet serve`, and whether it stays on this machine (a
// non-loopback bind needs a bearer token).

public struct ServeBind: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback); nil when it is not one.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard !host.contains(" ") else { return nil }
        self.host = host
        self.port = port
    }

    /// True for `localhost`, `127.0.0.0/8` and `::1`: reachable from this machine only.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
