// Concise log lines on stderr for the cluster's long-running processes (coordinator,
// worker), one line per entry: time, level, message, then the metadata that says which
// task and which worker (`task.id`, `worker.id`, `run.id`) in a stable order.
//
//     2024-11-19T10:15:02.118Z info  worker joined with 2 slots [worker.id=node1-4242-a3f1 host=node1 pid=4242]
//
// `ClusterLog` is the one sink the shells write to. Built on a swift-log `Logger`
// (`init(logger:)`), it writes through whatever the executable bootstrapped:
// `duet coordinator` and `duet worker` install `DuetLogHandler`, which writes these
// lines, or one JSON object per line with `--log-format json`:
//
//     {"time":"2024-11-19T10:15:02.118Z","level":"info","message":"worker joined with 2 slots",
//      "metadata":{"worker.id":"node1-4242-a3f1","host":"node1","pid":"4242"}}

import ClusterCore
import DuetSupport
import Foundation
import Logging

/// Where the cluster's shells write their log entries. Thread-safe.
public final class ClusterLog: @unchecked Sendable {
    public let minimumLevel: LogEntry.Level
    private let lock = NSLock()
    private let sink: @Sendable (String) -> Void
    /// A prefix naming the process in shared logs ("coordinator", "worker 2").
    private let label: String?
    /// Set: entries go through it instead of `sink`.
    private let logger: Logger?

    /// Logs to stderr from `minimumLevel` on.
    public init(minimumLevel: LogEntry.Level = .info, label: String? = nil) {
        self.minimumLevel = minimumLevel
        self.label = label
        self.sink = { line in FileHandle.standardError.write(Data(line.utf8)) }
        logger = nil
    }

    /// Logs through `sink` (tests, or a file).
    public init(minimumLevel: LogEntry.Level = .info, label: String? = nil, sink: @escaping @Sendable (String) -> Void) {
        self.minimumLevel = minimumLevel
        self.label = label
        self.sink = sink
        logger = nil
    }

    /// Logs through a swift-log `Logger` (its level decides what is written).
    public init(logger: Logger) {
        minimumLevel = LogEntry.Level(logger.logLevel)
        label = nil
        sink = { _ in }
        self.logger = logger
    }

    /// Drops everything.
    public static let silent = ClusterLog(minimumLevel: .error, sink: { _ in })

    public func callAsFunction(_ entry: LogEntry) { write(entry) }

    public func callAsFunction(_ level: LogEntry.Level, _ message: String, _ metadata: [String: String] = [:]) {
        write(LogEntry(level, message, metadata))
    }

    public func write(_ entry: LogEntry) {
        if let logger {
            // Under the lock, so that lines from several threads never interleave.
            lock.withLock {
                logger.log(level: Logger.Level(entry.level), "\(entry.message)",
                           metadata: entry.metadata.isEmpty ? nil : entry.metadata.mapValues { .string($0) })
            }
            return
        }
        guard entry.level >= minimumLevel else { return }
        let line = Self.format(entry, label: label, time: Date())
        lock.withLock { sink(line) }
    }

    public func log(_ level: LogEntry.Level, _ message: String, _ metadata: [String: String] = [:]) {
        write(LogEntry(level, message, metadata))
    }

    /// Metadata keys shown first, in this order; the rest follow sorted.
    static let leadingKeys = ["run.id", "task.id", "worker.id", "peer"]

    public static func format(_ entry: LogEntry, label: String?, time: Date) -> String {
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
    public static func timestamp(_ date: Date) -> String {
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

extension LogEntry.Level {
    /// swift-log's level as the cluster's: trace is debug, critical is error.
    public init(_ level: Logger.Level) {
        switch level {
        case .trace, .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error, .critical: self = .error
        }
    }
}

extension Logger.Level {
    public init(_ level: LogEntry.Level) {
        switch level {
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        }
    }
}

/// The executable's log handler: one line per entry on stderr (or a sink), as
/// `ClusterLog` formats it, or one JSON object per line.
public struct DuetLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public let format: Format
    private let sink: @Sendable (String) -> Void

    public init(format: Format, sink: @escaping @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }) {
        self.format = format
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var merged = metadata
        if let explicit { merged.merge(explicit) { $1 } }
        let entry = LogEntry(LogEntry.Level(level), message.description, merged.mapValues { "\($0)" })
        sink(Self.line(entry, format: format, time: Date()))
    }

    /// One entry as a line (with its newline).
    public static func line(_ entry: LogEntry, format: Format, time: Date) -> String {
        switch format {
        case .text:
            return ClusterLog.format(entry, label: nil, time: time)
        case .json:
            let leading = ClusterLog.leadingKeys.compactMap { key in entry.metadata[key].map { (key, $0) } }
            let rest = entry.metadata.filter { !ClusterLog.leadingKeys.contains($0.key) }.sorted { $0.key < $1.key }
            let metadata = (leading + rest.map { ($0.key, $0.value) }).map { JSON.Member($0.0, .string($0.1)) }
            let object = JSON.object([
                JSON.Member("time", .string(ClusterLog.timestamp(time))), JSON.Member("level", .string(entry.level.rawValue)),
                JSON.Member("message", .string(entry.message)), JSON.Member("metadata", .object(metadata)),
            ])
            return String(decoding: object.bytes, as: UTF8.self) + "\n"
        }
    }
}
