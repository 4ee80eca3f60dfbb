// Concise log lines on stderr for the cluster's long-running processes (coordinator,
// worker), one line per entry: time, level, message, then the metadata that says which
// task and which worker (`task.id`, `worker.id`, `run.id`) in a stable order.
//
//     2024-11-19T10:15:02.118Z info  worker joined with 2 slots [worker.id=node1-4242-a3f1 host=node1 pid=4242]
//
// swift-log is not a dependency of this package; `ClusterLog` is the one sink the
// shells write to, and the executable decides where it goes and how verbose it is.

import ClusterCore
import Foundation

/// Where the cluster's shells write their log entries. Thread-safe.
public final class ClusterLog: @unchecked Sendable {
    public let minimumLevel: LogEntry.Level
    private let lock = NSLock()
    private let sink: @Sendable (String) -> Void
    /// A prefix naming the process in shared logs ("coordinator", "worker 2").
    private let label: String?

    /// Logs to stderr from `minimumLevel` on.
    public init(minimumLevel: LogEntry.Level = .info, label: String? = nil) {
        self.minimumLevel = minimumLevel
        self.label = label
        self.sink = { line in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Logs through `sink` (tests, or a file).
    public init(minimumLevel: LogEntry.Level = .info, label: String? = nil, sink: @escaping @Sendable (String) -> Void) {
        self.minimumLevel = minimumLevel
        self.label = label
        self.sink = sink
    }

    /// Drops everything.
    public static let silent = ClusterLog(minimumLevel: .error, sink: { _ in })

    public func callAsFunction(_ entry: LogEntry) { write(entry) }

    public func callAsFunction(_ level: LogEntry.Level, _ message: String, _ metadata: [String: String] = [:]) {
        write(LogEntry(level, message, metadata))
    }

    public func write(_ entry: LogEntry) {
        guard entry.level >= minimumLevel else { return }
        let line = Self.format(entry, label: label, time: Date())
        lock.withLock { sink(line) }
    }

    public func log(_ level: LogEntry.Level, _ message: String, _ metadata: [String: String] = [:]) {
        write(LogEntry(level, message, metadata))
    }

    /// Metadata keys shown first, in this order; the rest follow sorted.
    static let leadingKeys = ["run.id", "task.id", "worker.id", "peer"]

    static func format(_ entry: LogEntry, label: String?, time: Date) -> String {
        var line = timestamp(time) + " " + entry.level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0) + " "
        if let label { line += "[\(label)] " }
        line += entry.message
        if !entry.metadata.isEmpty {
            let leading = leadingKeys.compactMap { key in entry.metadata[key].map { (key, $0) } }
            let rest = entry.metadata.filter { !leadingKeys.contains($0.key) }.sorted { $0.key < $1.key }
            line += " [" + (leading + rest.map { ($0.key, $0.value) }).map { "\($0)=\($1)" }.joined(separator: " ") + "]"
        }
        return line + "\n"
    }

    /// `2024-11-19T10:15:02.118Z`, UTC.
    static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let millis = Int((seconds - Double(whole)) * 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}
