// The shells' log through swift-log: one text line per entry with the ids first, and
// `--log-format json` gives one object per line in the same order.

import ClusterCore
import DuetSupport
import Foundation
import Logging
import Testing

@testable import Cluster

@Suite("Logs")
struct LogTests {
    @Test("a JSON log line is one object: time, level, message, then metadata with the ids first")
    func jsonLine() throws {
        let entry = LogEntry(.warning, "task \"x\" failed", ["worker.id": "w1", "task.id": "3-7", "host": "h"])
        let line = DuetLogHandler.line(entry, format: .json, time: Date(timeIntervalSince1970: 0.25))
        #expect(line == #"{"time":"1970-01-01T00:00:00.250Z","level":"warning","message":"task \"x\" failed","metadata":{"task.id":"3-7","worker.id":"w1","host":"h"}}"# + "\n")
        #expect(DuetLogHandler.line(entry, format: .text, time: Date(timeIntervalSince1970: 0.25))
                == #"1970-01-01T00:00:00.250Z warning task "x" failed [task.id=3-7 worker.id=w1 host=h]"# + "\n")
    }

    @Test("a shell's entries go through the Logger's handler, from the Logger's level on")
    func throughLogger() {
        let lines = CollectedLines()
        var logger = Logger(label: "test") { _ in DuetLogHandler(format: .text, sink: { lines.append($0) }) }
        logger.logLevel = .info
        logger.log(.debug, "hidden")
        logger.log(LogEntry(.notice, "shown", ["worker.id": "w"]))
        #expect(lines.all.count == 1)
        #expect(lines.all.first?.hasSuffix(" notice  shown [worker.id=w]\n") == true, "\(lines.all)")
    }
}

/// Lines collected from several threads.
private final class CollectedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
