// Concise log lines on stderr for the cluster's long-running processes (coordinator,
// worker), one line per entry: time, level, message, then the metadata that says which
// task and which worker (`task.id`, `worker.id`, `run.id`) in a stable order.
//
//     2024-11-19T10:15:02.118Z info  worker joined with 2 slots [worker.id=node1-4242-a3f1 host=node1 pid=4242]
//
// The shells take a swift-log `Logger` and write through whatever the executable
// bootstrapped: `duet coordinator` and `duet worker` install `DuetLogHandler`, which
// writes these lines, or one JSON object per line with `--log-format json`:
//
//     {"time":"2024-11-19T10:15:02.118Z","level":"info","message":"worker joined with 2 slots",
//      "metadata":{"worker.id":"node1-4242-a3f1","host":"node1","pid":"4242"}}

import ClusterCore
import DuetSupport
import Foundation
import Logging

extension Logger {
    /// Logs an entry of the cluster's levels and string metadata: the shells' own
    /// lines and the entries the state machines return (`ClusterCore` has no swift-log).
    /// The message and metadata are built only when the level is logged: a worker logs
    /// every task it starts at debug level, and building the line cost more CPU per
    /// no-op task than running it.
    public func log(
        _ level: LogEntry.Level, _ message: @autoclosure () -> String,
        _ metadata: @autoclosure () -> [String: String] = [:]
    ) {
        let level = Logger.Level(level)
        guard level >= logLevel else { return }
        let metadata = metadata()
        log(level: level, "\(message())", metadata: metadata.isEmpty ? nil : metadata.mapValues { .string($0) })
    }

    public func log(_ entry: LogEntry) { log(entry.level, entry.message, entry.metadata) }

    /// Drops everything (tests).
    public static let silent = Logger(label: "silent") { _ in SwiftLogNoOpLogHandler() }
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

/// The executable's log handler: one line per entry on stderr (or a sink), as text
/// or as one JSON object.
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
            var line = timestamp(time) + " " + entry.level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0) + " "
                + entry.message
            let metadata = orderedMetadata(entry)
            if !metadata.isEmpty { line += " [" + metadata.map { "\($0)=\($1)" }.joined(separator: " ") + "]" }
            return line + "\n"
        case .json:
            let object = JSON.object([
                ("time", .string(timestamp(time))), ("level", .string(entry.level.rawValue)),
                ("message", .string(entry.message)), ("metadata", .object(orderedMetadata(entry).map { ($0, JSON.string($1)) })),
            ])
            return object.text + "\n"
        }
    }

    /// Metadata keys shown first, in this order; the rest follow sorted.
    static let leadingKeys = ["run.id", "task.id", "worker.id", "peer"]

    private static func orderedMetadata(_ entry: LogEntry) -> [(String, String)] {
        let leading = leadingKeys.compactMap { key in entry.metadata[key].map { (key, $0) } }
        let rest = entry.metadata.filter { !leadingKeys.contains($0.key) }.sorted { $0.key < $1.key }
        return leading + rest.map { ($0.key, $0.value) }
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
