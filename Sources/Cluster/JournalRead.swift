// Reading the journal: the recovery snapshot, status, results in index order, blobs.

import ClusterCore
import DuetSupport
import Foundation
import GRDB

/// A task's row, as the journal has it.
public struct JournalTask: Sendable, Hashable {
    public var state: String
    public var attempts: Int
    public var failures: Int
    public var worker: String?
    public var error: String?
}

extension Journal {
    // MARK: - Recovery

    /// What a restarting coordinator needs: unfinished runs with their generation cursor
    /// and the tasks that were queued or leased (they come back queued), the next run
    /// number, the blobs held, and recent failures. Finished tasks are not read: they
    /// are the complement of `pending` below `generated`.
    public func snapshot(recentFailures limit: Int = 20) throws(JournalError) -> JournalSnapshot {
        try read("reading the recovery snapshot") { db in
            let nextRunID = (try Int.fetchOne(db, sql: "SELECT max(id) FROM runs") ?? 0) + 1
            let blobs = Set(try String.fetchAll(db, sql: "SELECT hash FROM blobs").compactMap { BlobHash(hex: $0) })
            var runs: [RecoveredRun] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE state = 'running' ORDER BY id") {
                let record = try Self.runRecord(row, path: path)
                let id = record.id.rawValue
                let highest = try Int.fetchOne(
                    db, sql: "SELECT idx FROM tasks WHERE run = ? ORDER BY idx DESC LIMIT 1", arguments: [id])
                let generated = (highest ?? -1) + 1
                var pending = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT idx, attempts, failures, error FROM tasks WHERE run = ? AND state IN ('queued', 'leased') ORDER BY idx",
                    arguments: [id]
                ).map { PendingTask(index: $0[0], attempts: $0[1], failures: $0[2], lastError: $0[3]) }
                // Every index below `generated` should have a row (leases are committed in
                // index order); indices without one were never durably handed out: pending too.
                let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM tasks WHERE run = ?", arguments: [id]) ?? 0
                if rows < generated {
                    var expected = 0
                    let cursor = try Int.fetchCursor(db, sql: "SELECT idx FROM tasks WHERE run = ? ORDER BY idx", arguments: [id])
                    while let index = try cursor.next() {
                        while expected < index {
                            pending.append(PendingTask(index: expected, attempts: 0, failures: 0))
                            expected += 1
                        }
                        expected = index + 1
                    }
                    pending.sort { $0.index < $1.index }
                }
                runs.append(
                    RecoveredRun(record: record, generated: generated, done: row["done"], failed: row["failed"], pending: pending)
                )
            }
            return JournalSnapshot(
                runs: runs, nextRunID: RunID(nextRunID), blobs: blobs, recentFailures: try Self.recentFailures(db, limit: limit))
        }
    }

    // MARK: - Status

    /// How many of the latest finished runs `status` lists unless told otherwise.
    public static let listedFinishedRuns = 16

    /// Status from the file alone (`duet status --journal FILE`): runs with tasks by
    /// state, throughput and ETA from the latest results' times, workers present and
    /// the tasks leased to them, recent failures. `now`: the current time in the same
    /// clock the coordinator journals (seconds since 1970).
    public func status(now: Double, window: Double = 30, recentFailures limit: Int = 20,
                       finishedRuns: Int = Journal.listedFinishedRuns)
        throws(JournalError) -> ClusterStatus
    {
        try read("reading status") { db in
            var runRows = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE state = 'running' ORDER BY id")
            runRows += try Row.fetchAll(
                db, sql: "SELECT * FROM runs WHERE state != 'running' ORDER BY id DESC LIMIT ?", arguments: [finishedRuns])
            var runs: [RunStatus] = []
            var remaining = 0
            for row in runRows {
                let id: Int = row["id"]
                let phaseText: String = row["phase"]
                let phase = RunPhase(rawValue: phaseText) ?? .dispatching
                let taskCount: Int = row["task_count"]
                let done: Int = row["done"]
                let failed: Int = row["failed"]
                var leased = 0
                var throughput = 0.0
                if !phase.isFinished {
                    leased =
                        try Int.fetchOne(
                            db,
                            sql:
                                "SELECT count(*) FROM tasks WHERE run = ? AND state IN ('queued', 'leased') AND state = 'leased'",
                            arguments: [id]) ?? 0
                    throughput = try Self.rate(db, run: id, now: now, window: window)
                    remaining += taskCount - done - failed
                }
                let left = taskCount - done - failed
                runs.append(
                    RunStatus(
                        id: RunID(id), kind: row["kind"], label: row["label"], phase: phase, taskCount: taskCount,
                        queued: phase.isFinished ? 0 : left - leased, leased: leased, done: done, failed: failed,
                        throughput: throughput, eta: phase.isFinished || throughput <= 0 ? nil : Double(left) / throughput,
                        createdAt: row["created_at"], finishedAt: row["finished_at"]))
            }
            // Workers present, and the tasks leased to them.
            var leases: [String: [TaskAttempt]] = [:]
            var lastLease: [String: Double] = [:]
            for row in try Row.fetchAll(
                db,
                sql:
                    "SELECT run, idx, attempts, worker, leased_at FROM tasks WHERE state IN ('queued', 'leased') AND state = 'leased' ORDER BY run, idx"
            ) {
                guard let worker: String = row["worker"] else { continue }
                leases[worker, default: []].append(
                    TaskAttempt(run: RunID(row["run"]), index: row["idx"], attempt: row["attempts"]))
                lastLease[worker] = max(lastLease[worker] ?? 0, row["leased_at"] ?? 0)
            }
            let workers = try Row.fetchAll(db, sql: "SELECT * FROM workers WHERE left_at IS NULL ORDER BY id").map { row in
                let id: String = row["id"]
                let joined: Double = row["joined_at"]
                return WorkerStatus(
                    id: id, host: row["host"], pid: row["pid"], version: row["version"], slots: row["slots"], prefetch: 0,
                    running: leases[id] ?? [], lastHeartbeat: max(joined, lastLease[id] ?? 0), connectedAt: joined)
            }
            let throughput = try Self.rate(db, run: nil, now: now, window: window)
            var counters = ClusterCounters()
            counters.results = try Int.fetchOne(db, sql: "SELECT coalesce(sum(done), 0) FROM runs") ?? 0
            return ClusterStatus(
                source: .journal, time: now, workers: workers, runs: runs, throughput: throughput, window: window,
                eta: remaining == 0 || throughput <= 0 ? nil : Double(remaining) / throughput, counters: counters,
                recentFailures: try Self.recentFailures(db, limit: limit))
        }
    }

    /// Results per second, from the creation times of the latest (up to 1000) results:
    /// zero when the newest is older than `window`.
    static func rate(_ db: Database, run: Int?, now: Double, window: Double) throws -> Double {
        // NOT INDEXED: walk the table backwards by rowid (insertion order) and stop after
        // 1000 matches, instead of reading the run's whole (run, idx) index.
        let times =
            if let run {
                try Double.fetchAll(
                    db, sql: "SELECT created_at FROM results NOT INDEXED WHERE run = ? ORDER BY rowid DESC LIMIT 1000",
                    arguments: [run])
            } else {
                try Double.fetchAll(db, sql: "SELECT created_at FROM results ORDER BY rowid DESC LIMIT 1000")
            }
        guard times.count >= 2, let newest = times.first, let oldest = times.last, now - newest <= window else { return 0 }
        let span = max(newest, now) - oldest
        return span > 0 ? Double(times.count - 1) / span : 0
    }

    static func recentFailures(_ db: Database, limit: Int) throws -> [FailureRecord] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT run, idx, attempts, worker, error, failed_at, state FROM tasks
                WHERE failed_at IS NOT NULL ORDER BY failed_at DESC LIMIT ?
                """, arguments: [limit]
        ).map { row in
            FailureRecord(
                task: TaskAttempt(run: RunID(row["run"]), index: row["idx"], attempt: row["attempts"]), worker: row["worker"],
                error: row["error"] ?? "", time: row["failed_at"], final: (row["state"] as String) == "failed")
        }
    }

    // MARK: - Results

    /// Finished tasks of `run` from index `from` on, in index order, at most `limit` of
    /// them and about `maxBytes` of payload (at least one item). While the run is
    /// running the page stops at the first unfinished index, so a client streaming
    /// pages writes every result once, in order; `next` is where to ask again. Nil for
    /// an unknown run.
    public func results(run: RunID, from: Int, limit: Int, maxBytes: Int = 32 << 20) throws(JournalError) -> ResultPage? {
        try read("reading results of run \(run)") { db in
            guard let state = try String.fetchOne(db, sql: "SELECT state FROM runs WHERE id = ?", arguments: [run.rawValue])
            else {
                return nil
            }
            let running = state == "running"
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT t.idx, t.state, t.error, r.payload FROM tasks t
                    LEFT JOIN results r ON r.run = t.run AND r.idx = t.idx
                    WHERE t.run = ? AND t.idx >= ? ORDER BY t.idx
                    """, arguments: [run.rawValue, from])
            var items: [ResultItem] = []
            var bytes = 0
            var next = from
            var stoppedEarly = false
            while let row = try cursor.next() {
                let index: Int = row[0]
                let taskState: String = row[1]
                let finished = taskState == "done" || taskState == "failed"
                if running && (index != next || !finished) {
                    stoppedEarly = true
                    break
                }
                guard finished else { continue }
                guard items.count < limit else {
                    stoppedEarly = true
                    break
                }
                let item: ResultItem
                if taskState == "done" {
                    let payload: Data? = row[3]
                    let payloadBytes = payload.map { [UInt8]($0) } ?? []
                    if !items.isEmpty && bytes + payloadBytes.count > maxBytes {
                        stoppedEarly = true
                        break
                    }
                    bytes += payloadBytes.count
                    item = ResultItem(index: index, outcome: .done(payloadBytes))
                } else {
                    item = ResultItem(index: index, outcome: .failed(error: row[2] ?? ""))
                }
                items.append(item)
                next = index + 1
            }
            return ResultPage(
                run: run, items: items, next: next, complete: !running && !stoppedEarly, cancelled: state == "cancelled")
        }
    }

    // MARK: - Blobs

    /// Up to `maxBytes` of a blob from `offset`; nil when the journal has no such blob.
    public func blobChunk(_ hash: BlobHash, offset: Int, maxBytes: Int) throws(JournalError) -> BlobChunk? {
        try read("reading blob \(hash.short)") { db in
            // substr on a BLOB counts bytes, from 1.
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT size, substr(bytes, ?, ?) FROM blobs WHERE hash = ?",
                    arguments: [max(offset, 0) + 1, maxBytes, hash.hex])
            else { return nil }
            let size: Int = row[0]
            let data: Data? = row[1]
            let start = min(max(offset, 0), size)
            return BlobChunk(hash: hash, offset: start, total: size, bytes: data.map { [UInt8]($0) } ?? [])
        }
    }

    /// A whole blob; nil when the journal has no such blob.
    public func blob(_ hash: BlobHash) throws(JournalError) -> [UInt8]? {
        try read("reading blob \(hash.short)") { db in
            try Data.fetchOne(db, sql: "SELECT bytes FROM blobs WHERE hash = ?", arguments: [hash.hex]).map { [UInt8]($0) }
        }
    }

    // MARK: - Lookups

    public func run(_ id: RunID) throws(JournalError) -> RunRecord? {
        try read("reading run \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id.rawValue]).map { row in
                try Self.runRecord(row, path: path)
            }
        }
    }

    /// The run's phase as journaled.
    public func phase(of id: RunID) throws(JournalError) -> RunPhase? {
        try read("reading run \(id)") { db in
            try String.fetchOne(db, sql: "SELECT phase FROM runs WHERE id = ?", arguments: [id.rawValue]).flatMap(
                RunPhase.init(rawValue:))
        }
    }

    public func task(_ id: TaskID) throws(JournalError) -> JournalTask? {
        try read("reading task \(id)") { db in
            try Row.fetchOne(
                db, sql: "SELECT state, attempts, failures, worker, error FROM tasks WHERE run = ? AND idx = ?",
                arguments: [id.run.rawValue, id.index]
            ).map { JournalTask(state: $0[0], attempts: $0[1], failures: $0[2], worker: $0[3], error: $0[4]) }
        }
    }

    /// The number of stored results of a run.
    public func resultCount(run: RunID) throws(JournalError) -> Int {
        try read("counting results of run \(run)") { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM results WHERE run = ?", arguments: [run.rawValue]) ?? 0
        }
    }

    static func runRecord(_ row: Row, path: String) throws -> RunRecord {
        let id: Int = row["id"]
        func corrupt(_ column: String) -> JournalError {
            JournalError(.database, path: path, "run \(id): column \(column) is corrupt")
        }
        let specText: String = row["spec_hash"]
        guard let spec = BlobHash(hex: specText) else { throw corrupt("spec_hash") }
        let payloadText: String = row["payload"]
        guard let payload = try? JSON.parse(payloadText) else { throw corrupt("payload") }
        let blobsText: String = row["blobs"]
        guard case .array(let items)? = try? JSON.parse(blobsText) else { throw corrupt("blobs") }
        var blobs: [BlobHash] = []
        for item in items {
            guard case .string(let text) = item, let hash = BlobHash(hex: text) else { throw corrupt("blobs") }
            blobs.append(hash)
        }
        return RunRecord(
            id: RunID(id), kind: row["kind"], label: row["label"], spec: spec, taskCount: row["task_count"], payload: payload,
            blobs: blobs, maxAttempts: row["max_attempts"], createdAt: row["created_at"])
    }
}
