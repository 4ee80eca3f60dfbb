// What `duet bench dispatch` watches while a run goes through the coordinator: how
// fast `STATUS` is answered (on its own connection, as `duet status` asks), the
// coordinator's resident memory over time, and afterwards whether every task of the
// run has exactly one result (in the journal, and as a client reads them back).

import ClusterCore
import Foundation
import GRDB

/// Latencies of `STATUS` requests, in seconds.
public struct StatusLatencies: Sendable {
    public var answered: [Double]
    /// Requests that got no answer within the probe's timeout.
    public var unanswered: Int

    public var count: Int { answered.count }
    public var maximum: Double { answered.max() ?? 0 }
    public func percentile(_ p: Double) -> Double {
        guard !answered.isEmpty else { return 0 }
        let sorted = answered.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
    public func over(_ limit: Double) -> Int { answered.filter { $0 > limit }.count }
}

/// Asks a coordinator for its status every `interval` seconds on a thread of its own
/// and records how long each answer took.
final class StatusProbe: @unchecked Sendable {
    private let endpoint: String
    private let keys: ClientKeys?
    private let interval: Double
    private let timeout: Double
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var unanswered = 0
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(endpoint: String, keys: ClientKeys? = nil, interval: Double, timeout: Double = 2) {
        self.endpoint = endpoint
        self.keys = keys
        self.interval = interval
        self.timeout = timeout
    }

    func start() {
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            guard let client = try? ClusterClient(endpoint: endpoint, keys: keys) else { return }
            defer { client.close() }
            while !lock.withLock({ stopping }) {
                let started = DispatchTime.now().uptimeNanoseconds
                let reply = try? client.request(.status, timeout: timeout)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                lock.withLock {
                    if case .status? = reply { latencies.append(seconds) } else { unanswered += 1 }
                }
                Thread.sleep(forTimeInterval: max(0, interval - seconds))
            }
        }
    }

    /// Stops the thread (waits for its last request) and returns what it measured.
    func stop() -> StatusLatencies {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + timeout + interval + 1)
        return lock.withLock { StatusLatencies(answered: latencies, unanswered: unanswered) }
    }
}

/// Whether each task of a run ended with exactly one result.
public struct ExactlyOnceAudit: Sendable, Hashable {
    public var taskCount: Int
    /// From the journal: result rows, and the indices with none, and with more than one.
    public var journalRows = 0
    public var journalMissing = 0
    public var journalDuplicated = 0
    /// Rows in the tasks table that are not `done`.
    public var tasksNotDone = 0
    /// From `RESULTS` pages read from index 0 to the end, as a client does.
    public var streamed = 0
    public var streamedMissing = 0
    public var streamedDuplicated = 0

    public var holds: Bool {
        journalRows == taskCount && journalMissing == 0 && journalDuplicated == 0 && tasksNotDone == 0
            && streamed == taskCount && streamedMissing == 0 && streamedDuplicated == 0
    }
}

extension Journal {
    /// Counts the results of `run` per task index.
    func audit(run: RunID, taskCount: Int) throws(JournalError) -> ExactlyOnceAudit {
        try read("auditing run \(run)") { db in
            var audit = ExactlyOnceAudit(taskCount: taskCount)
            var counts = [UInt8](repeating: 0, count: taskCount)
            let cursor = try Int.fetchCursor(db, sql: "SELECT idx FROM results WHERE run = ?", arguments: [run.rawValue])
            while let index = try cursor.next() {
                audit.journalRows += 1
                if (0..<taskCount).contains(index) { counts[index] = counts[index] &+ 1 } else { audit.journalDuplicated += 1 }
            }
            for count in counts {
                if count == 0 { audit.journalMissing += 1 } else if count > 1 { audit.journalDuplicated += 1 }
            }
            audit.tasksNotDone =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM tasks WHERE run = ? AND state != 'done'", arguments: [run.rawValue]) ?? 0
            return audit
        }
    }
}

extension ExactlyOnceAudit {
    /// Adds what a client reading `RESULTS` pages from 0 receives.
    mutating func stream(from client: ClusterClient, run: RunID) throws {
        var counts = [UInt8](repeating: 0, count: taskCount)
        var next = 0
        while true {
            guard case .results(let page) = try client.request(.results(run: run, from: next, limit: 10_000), timeout: 30)
            else { throw LocalClusterError("the coordinator did not answer RESULTS for run \(run)") }
            for item in page.items {
                streamed += 1
                if (0..<taskCount).contains(item.index) { counts[item.index] = counts[item.index] &+ 1 } else { streamedDuplicated += 1 }
            }
            if page.complete || page.next <= next && page.items.isEmpty { break }
            next = page.next
        }
        for count in counts {
            if count == 0 { streamedMissing += 1 } else if count > 1 { streamedDuplicated += 1 }
        }
    }
}
