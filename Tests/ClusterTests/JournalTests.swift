import ClusterCore
import Foundation
import GRDB
import Testing

@testable import Cluster

/// A temporary directory removed when the test is done.
final class TempDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("duet-journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

private let spec = Array("vary: {x: {uniform: [0, 1]}}".utf8)
private let specHash = BlobHash(of: spec)

private func record(_ id: Int, tasks: Int, at: Double = 100) -> RunRecord {
    RunRecord(
        id: RunID(id), kind: "sweep", label: "test", spec: specHash, taskCount: tasks, payload: ["precision": 0.01],
        blobs: [], maxAttempts: 3, createdAt: at)
}

private func ta(_ run: Int, _ index: Int, _ attempt: Int) -> TaskAttempt {
    TaskAttempt(run: RunID(run), index: index, attempt: attempt)
}

@Suite("Journal")
struct JournalTests {
    @Test func roundTripsRunsTasksResultsAndBlobs() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        try journal.apply([
            .storeBlob(specHash, spec),
            .createRun(record(1, tasks: 4)),
            .lease(ta(1, 0, 1), worker: "w1", at: 101),
            .lease(ta(1, 1, 1), worker: "w1", at: 101),
            .lease(ta(1, 2, 1), worker: "w2", at: 101),
            .complete(ta(1, 0, 1), worker: "w1", payload: [1, 2, 3], at: 102),
            .requeue(TaskID(run: RunID(1), index: 1), failures: 1, error: "boom", at: 103),
            .lease(ta(1, 1, 2), worker: "w2", at: 104),
        ])
        #expect(try journal.run(RunID(1)) == record(1, tasks: 4))
        #expect(try journal.blob(specHash) == spec)
        #expect(
            try journal.blobChunk(specHash, offset: 5, maxBytes: 4)
                == BlobChunk(hash: specHash, offset: 5, total: spec.count, bytes: Array(spec[5..<9])))
        #expect(try journal.blobChunk(specHash, offset: spec.count, maxBytes: 4)?.bytes == [])
        #expect(try journal.blobChunk(BlobHash(of: [0]), offset: 0, maxBytes: 4) == nil)
        #expect(
            try journal.task(TaskID(run: RunID(1), index: 0))
                == JournalTask(state: "done", attempts: 1, failures: 0, worker: "w1", error: nil))
        #expect(
            try journal.task(TaskID(run: RunID(1), index: 1))
                == JournalTask(state: "leased", attempts: 2, failures: 1, worker: "w2", error: "boom"))
        #expect(try journal.task(TaskID(run: RunID(1), index: 3)) == nil, "rows appear with the first lease")

        try journal.apply([
            .fail(ta(1, 1, 2), failures: 3, error: "gave up", worker: "w2", at: 105),
            .complete(ta(1, 2, 1), worker: "w2", payload: [], at: 106),
            .lease(ta(1, 3, 1), worker: "w1", at: 106),
            .complete(ta(1, 3, 1), worker: "w1", payload: [9], at: 107),
            .setPhase(RunID(1), .completed, at: 107),
        ])
        let page = try #require(try journal.results(run: RunID(1), from: 0, limit: 10))
        #expect(
            page.items == [
                ResultItem(index: 0, outcome: .done([1, 2, 3])), ResultItem(index: 1, outcome: .failed(error: "gave up")),
                ResultItem(index: 2, outcome: .done([])), ResultItem(index: 3, outcome: .done([9])),
            ])
        #expect(page.next == 4)
        #expect(page.complete)
        #expect(try journal.results(run: RunID(9), from: 0, limit: 10) == nil)

        let status = try journal.status(now: 108)
        let run = try #require(status.runs.first)
        #expect(run.phase == .completed)
        #expect((run.done, run.failed, run.queued, run.leased) == (3, 1, 0, 0))
        #expect(run.finishedAt == 107)
        #expect(status.recentFailures.first?.error == "gave up")
        #expect(status.recentFailures.first?.final == true)
        // One row per task: the journal keeps a task's latest failed attempt (103 was superseded by 105).
        #expect(status.recentFailures.map(\.time) == [105])
    }

    @Test func aRefundSetsTheFailuresOfAnUnfinishedTaskOnly() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        try journal.apply([
            .storeBlob(specHash, spec),
            .createRun(record(1, tasks: 2)),
            .lease(ta(1, 0, 1), worker: "w1", at: 101),
            .lease(ta(1, 1, 1), worker: "w1", at: 101),
            .requeue(TaskID(run: RunID(1), index: 0), failures: 1, error: "worker w1 lost", at: 104),
            .requeue(TaskID(run: RunID(1), index: 1), failures: 1, error: "worker w1 lost", at: 104),
            // w1 is back: task 0 is adopted, task 1's result arrives after a retry failed it for good.
            .lease(ta(1, 0, 1), worker: "w1", at: 105),
            .refund(ta(1, 0, 1), failures: 0, at: 105),
            .fail(ta(1, 1, 1), failures: 3, error: "gave up", worker: "w2", at: 106),
            .refund(ta(1, 1, 1), failures: 2, at: 107),
        ])
        #expect(try journal.task(TaskID(run: RunID(1), index: 0))?.failures == 0)
        #expect(try journal.task(TaskID(run: RunID(1), index: 0))?.state == "leased")
        #expect(try journal.task(TaskID(run: RunID(1), index: 1))?.failures == 3, "a finished task is not changed")
        // A restart sees the refunded count.
        let pending = try #require(try journal.snapshot().runs.first?.pending)
        #expect(pending == [PendingTask(index: 0, attempts: 1, failures: 0, lastError: "worker w1 lost")])
    }

    @Test func resultsAreInsertedExactlyOnce() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        try journal.apply([
            .createRun(record(1, tasks: 2)), .lease(ta(1, 0, 1), worker: "w1", at: 1), .lease(ta(1, 0, 2), worker: "w2", at: 2),
        ])
        let first = try journal.apply([.complete(ta(1, 0, 2), worker: "w2", payload: [2], at: 3)])
        #expect(first.duplicates.isEmpty)
        // A second insert for the same task, in another commit or the same one, is a reported no-op.
        let second = try journal.apply([.complete(ta(1, 0, 1), worker: "w1", payload: [1], at: 4)])
        #expect(second.duplicates == [ta(1, 0, 1)])
        let third = try journal.apply([
            .complete(ta(1, 0, 2), worker: "w2", payload: [2], at: 5), .complete(ta(1, 0, 1), worker: "w1", payload: [1], at: 5),
        ])
        #expect(third.duplicates == [ta(1, 0, 2), ta(1, 0, 1)])
        #expect(try journal.resultCount(run: RunID(1)) == 1)
        #expect(try journal.results(run: RunID(1), from: 0, limit: 5)?.items == [ResultItem(index: 0, outcome: .done([2]))])
        #expect(try journal.status(now: 6).runs.first?.done == 1, "the done counter counts the first result only")
    }

    /// The per-task statements are bound through SQLite's C API: a statement SQLite
    /// refuses must fail the whole commit with SQLite's message (nothing of it kept),
    /// and leave the statement usable for the next commit.
    @Test func aRefusedTaskStatementFailsTheCommitAndKeepsNothingOfIt() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        try journal.apply([.createRun(record(1, tasks: 3)), .lease(ta(1, 0, 1), worker: "w1", at: 1)])
        try journal.queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse BEFORE INSERT ON results WHEN NEW.idx = 1
                    BEGIN SELECT RAISE(ABORT, 'no room for task 1'); END
                    """)
        }
        #expect {
            try journal.apply([
                .lease(ta(1, 1, 1), worker: "w2", at: 2),
                .complete(ta(1, 0, 1), worker: "w1", payload: [7], at: 2),
                .complete(ta(1, 1, 1), worker: "w2", payload: [8], at: 3),
            ])
        } throws: { error in
            guard let error = error as? JournalError else { return false }
            return error.kind == .database && error.message.contains("no room for task 1")
        }
        #expect(try journal.task(TaskID(run: RunID(1), index: 1)) == nil, "the lease of the failed commit is rolled back")
        #expect(try journal.task(TaskID(run: RunID(1), index: 0))?.state == "leased")
        #expect(try journal.resultCount(run: RunID(1)) == 0)

        // The same statements work again once SQLite accepts them.
        try journal.apply([
            .complete(ta(1, 0, 1), worker: "w1", payload: [7], at: 4), .lease(ta(1, 2, 1), worker: "w3", at: 4),
            .complete(ta(1, 2, 1), worker: "w3", payload: [9], at: 5),
        ])
        #expect(
            try journal.task(TaskID(run: RunID(1), index: 2))
                == JournalTask(state: "done", attempts: 1, failures: 0, worker: "w3", error: nil))
        #expect(try journal.resultCount(run: RunID(1)) == 2)
        // Results stream up to the first unfinished task (1).
        #expect(try journal.results(run: RunID(1), from: 0, limit: 5)?.items == [ResultItem(index: 0, outcome: .done([7]))])
    }

    @Test func usesWriteAheadLogging() throws {
        let dir = try TempDirectory()
        let path = dir.path("j.duet")
        let journal = try Journal(path: path)
        #expect(try journal.journalMode() == "wal")
        try journal.apply([.createRun(record(1, tasks: 1))])
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        // A reader opens it while the writer holds it (duet status --journal).
        let reader = try Journal(path: path, options: Journal.Options(readOnly: true))
        #expect(try reader.status(now: 1).runs.map(\.id) == [RunID(1)])
        #expect(try reader.status(now: 1).source == .journal)
    }

    @Test func recoversAfterACrashWithoutRerunningFinishedTasks() throws {
        let dir = try TempDirectory()
        let path = dir.path("j.duet")
        var coordinator = CoordinatorState()
        var journal: Journal? = try Journal(path: path)
        var now = 1_000.0
        func drive(_ actions: [CoordinatorAction]) throws -> [CoordinatorAction] {
            try journal!.commit(actions)  // commit, then (in a shell) send
            return actions
        }
        _ = try drive(coordinator.recovered(from: try journal!.snapshot(), now: now))
        let submit = try drive(
            coordinator.submit(from: PeerID("client"), RunSubmission(kind: "noop", taskCount: 50, spec: spec), now: now))
        guard
            case .reply(_, .submitted(let run, _))? = submit.first(where: {
                if case .reply = $0 { return true } else { return false }
            })
        else {
            Issue.record("not submitted")
            return
        }
        var leases = try drive(
            coordinator.workerHello(from: PeerID("w1"), Hello(slots: 4, host: "h", pid: 1, version: "t"), now: now)
        )
        .compactMap { action -> TaskAttempt? in if case .send(_, .assign(let a)) = action { return a.task } else { return nil } }
        // Finish 20 tasks, then kill -9.
        var finished: Set<Int> = []
        while finished.count < 20 {
            now += 0.01
            let task = leases.removeFirst()
            let actions = try drive(
                coordinator.result(from: PeerID("w1"), task, payload: Array("r\(task.task.index)".utf8), now: now))
            finished.insert(task.task.index)
            leases += actions.compactMap { action -> TaskAttempt? in
                if case .send(_, .assign(let a)) = action { return a.task } else { return nil }
            }
        }
        // The crash: copy the files as they are on disk (main file and WAL, not checkpointed)
        // while the old connection is still open, and never close it cleanly.
        let crashed = dir.path("crashed.duet")
        try FileManager.default.copyItem(atPath: path, toPath: crashed)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: crashed + "-wal")
        journal = nil

        let reopened = try Journal(path: crashed)
        let snapshot = try reopened.snapshot()
        let recovered = try #require(snapshot.runs.first)
        #expect(recovered.record.id == run)
        #expect(recovered.done == 20)
        #expect(recovered.generated == 24)
        #expect(Set(recovered.pending.map(\.index)) == Set(leases.map(\.task.index)), "leased tasks come back queued")
        #expect(snapshot.blobs.contains(specHash))

        var fresh = CoordinatorState()
        journal = reopened
        now += 5
        _ = try drive(fresh.recovered(from: snapshot, now: now))
        var handed = try drive(fresh.workerHello(from: PeerID("w2"), Hello(slots: 8, host: "h", pid: 2, version: "t"), now: now))
            .compactMap { action -> TaskAttempt? in
                if case .send(_, .assign(let a)) = action { return a.task } else { return nil }
            }
        var rerun: [Int] = []
        while let task = handed.first {
            handed.removeFirst()
            now += 0.01
            if finished.contains(task.task.index) { rerun.append(task.task.index) }
            let actions = try drive(fresh.result(from: PeerID("w2"), task, payload: Array("r\(task.task.index)".utf8), now: now))
            handed += actions.compactMap { action -> TaskAttempt? in
                if case .send(_, .assign(let a)) = action { return a.task } else { return nil }
            }
        }
        #expect(rerun.isEmpty, "finished tasks were handed out again: \(rerun)")
        // The old worker's in-flight result arrives late: acknowledged, stored once.
        let late = try journal!.commit(
            fresh.result(from: PeerID("w1"), TaskAttempt(run: run, index: 0, attempt: 1), payload: [0], now: now))
        #expect(late.changes == 0)
        #expect(try reopened.phase(of: run) == .completed)
        #expect(try reopened.resultCount(run: run) == 50)
        let page = try #require(try reopened.results(run: run, from: 0, limit: 100))
        #expect(page.items.map(\.index) == Array(0..<50))
        #expect(page.items.allSatisfy { $0.outcome == .done(Array("r\($0.index)".utf8)) })
        #expect(try reopened.snapshot().runs.isEmpty)
        #expect(try reopened.snapshot().nextRunID == RunID(run.rawValue + 1))
    }

    @Test func snapshotTreatsIndicesWithoutRowsAsPending() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        // Index 1 has no row although 2 does (not written by the coordinator, but tolerated).
        try journal.apply([
            .createRun(record(1, tasks: 5)), .lease(ta(1, 0, 1), worker: "w", at: 1), .lease(ta(1, 2, 1), worker: "w", at: 1),
            .complete(ta(1, 0, 1), worker: "w", payload: [], at: 2), .complete(ta(1, 2, 1), worker: "w", payload: [], at: 2),
        ])
        let run = try #require(try journal.snapshot().runs.first)
        #expect(run.generated == 3)
        #expect(run.pending == [PendingTask(index: 1, attempts: 0, failures: 0)])
    }

    @Test func streamingStopsAtTheFirstUnfinishedIndexWhileRunning() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        try journal.apply([.createRun(record(1, tasks: 6))] + (0..<6).map { .lease(ta(1, $0, 1), worker: "w", at: 1) })
        try journal.apply([0, 1, 3, 4].map { .complete(ta(1, $0, 1), worker: "w", payload: [UInt8($0)], at: 2) })
        let first = try #require(try journal.results(run: RunID(1), from: 0, limit: 10))
        #expect(first.items.map(\.index) == [0, 1])
        #expect(first.next == 2)
        #expect(!first.complete)
        try journal.apply([.complete(ta(1, 2, 1), worker: "w", payload: [2], at: 3)])
        let second = try #require(try journal.results(run: RunID(1), from: first.next, limit: 2))
        #expect(second.items.map(\.index) == [2, 3])
        #expect(second.next == 4)
        // Byte limit: at least one item per page.
        let third = try #require(try journal.results(run: RunID(1), from: 0, limit: 10, maxBytes: 2))
        #expect(third.items.map(\.index) == [0, 1])
        let tiny = try #require(try journal.results(run: RunID(1), from: 0, limit: 10, maxBytes: 0))
        #expect(tiny.items.map(\.index) == [0])
        // Once cancelled, the remaining unfinished tasks are skipped and the stream completes.
        try journal.apply([.setPhase(RunID(1), .cancelled, at: 4)])
        let last = try #require(try journal.results(run: RunID(1), from: 4, limit: 10))
        #expect(last.items.map(\.index) == [4])
        #expect(last.complete)
        #expect(try journal.task(TaskID(run: RunID(1), index: 5))?.state == "cancelled")
    }

    @Test func statusShowsLiveWorkersLeasesThroughputAndETA() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        try journal.apply([
            .createRun(record(1, tasks: 1000)),
            .workerJoined(WorkerRecord(id: "w1", host: "node", pid: 7, version: "v", slots: 2, at: 10)),
            .workerJoined(WorkerRecord(id: "w2", host: "node", pid: 8, version: "v", slots: 2, at: 10)),
            .workerLeft("w2", reason: "said goodbye", at: 11),
        ])
        // 101 results 0.01 s apart: 100 per second.
        var changes: [JournalChange] = []
        for i in 0...100 {
            changes.append(.lease(ta(1, i, 1), worker: "w1", at: 20))
            changes.append(.complete(ta(1, i, 1), worker: "w1", payload: [], at: 20 + Double(i) * 0.01))
        }
        changes.append(.lease(ta(1, 101, 1), worker: "w1", at: 21))
        try journal.apply(changes)
        let status = try journal.status(now: 21)
        #expect(status.workers.map(\.id) == ["w1"])
        #expect(status.workers.first?.running == [ta(1, 101, 1)])
        let run = try #require(status.runs.first)
        #expect((run.done, run.leased, run.queued) == (101, 1, 898))
        // Tolerance: times are exact binary fractions of 0.01 s steps; 1e-6 covers rounding.
        #expect(abs(run.throughput - 100) < 1e-6)
        #expect(abs((run.eta ?? 0) - 8.99) < 1e-6)
        #expect(try journal.status(now: 100).runs.first?.throughput == 0, "nothing finished within the window")
        // The coordinator restarting marks every worker gone.
        try journal.apply([.coordinatorStarted(at: 30)])
        #expect(try journal.status(now: 31).workers.isEmpty)
    }

    // MARK: Refusing other files

    @Test func refusesAFileThatIsNotSQLite() throws {
        let dir = try TempDirectory()
        let path = dir.path("notes.txt")
        try Data(String(repeating: "not a database at all\n", count: 100).utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: JournalError.self) { try Journal(path: path) }
        #expect(error?.kind == .notAJournal)
        #expect(error?.description.contains("not an SQLite database") == true)
        // And the file is left as it was.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == 2200)
    }

    @Test func refusesAnotherApplicationsDatabase() throws {
        let dir = try TempDirectory()
        let path = dir.path("other.sqlite")
        let other = try DatabaseQueue(path: path)
        try other.write { db in try db.execute(sql: "CREATE TABLE photos (id INTEGER PRIMARY KEY)") }
        try other.close()
        let error = #expect(throws: JournalError.self) { try Journal(path: path) }
        #expect(error?.kind == .notAJournal)
        #expect(error?.description.contains("photos") == true)

        let path2 = dir.path("other2.sqlite")
        let tagged = try DatabaseQueue(path: path2)
        try tagged.write { db in try db.execute(sql: "PRAGMA application_id = 1234") }
        try tagged.close()
        #expect(throws: JournalError.self) { try Journal(path: path2) }
    }

    @Test func refusesAJournalFromANewerDuet() throws {
        let dir = try TempDirectory()
        let path = dir.path("j.duet")
        try Journal(path: path).close()
        let raw = try DatabaseQueue(path: path)
        try raw.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v2')") }
        try raw.close()
        let error = #expect(throws: JournalError.self) { try Journal(path: path) }
        #expect(error?.kind == .newerSchema)
        #expect(error?.description.contains("v2") == true)
    }

    @Test func reopensItsOwnJournalAndCreatesAnEmptyOne() throws {
        let dir = try TempDirectory()
        let path = dir.path("j.duet")
        let missing = #expect(throws: JournalError.self) { try Journal(path: path, options: Journal.Options(readOnly: true)) }
        #expect(missing?.kind == .missing)
        try Journal(path: path).apply([.createRun(record(1, tasks: 3))])
        let again = try Journal(path: path)
        #expect(try again.run(RunID(1))?.taskCount == 3)
        #expect(try again.snapshot().nextRunID == RunID(2))
        // An empty file is an empty database: it becomes a journal.
        let empty = dir.path("empty.duet")
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(try Journal(path: empty).snapshot() == .empty)
    }

    // MARK: Size and speed

    @Test func aMillionTaskRunCostsRowsOnlyForHandedOutTasks() throws {
        let dir = try TempDirectory()
        let journal = try Journal(path: dir.path("j.duet"))
        var coordinator = CoordinatorState()
        try journal.commit(coordinator.recovered(from: .empty, now: 0))
        try journal.commit(
            coordinator.submit(from: PeerID("c"), RunSubmission(kind: "noop", taskCount: 1_000_000, spec: spec), now: 0))
        try journal.commit(coordinator.workerHello(from: PeerID("w"), Hello(slots: 8, host: "h", pid: 1, version: "t"), now: 0))
        // Drive 5,000 tasks through in batches of 100 events, one commit per batch (group commit).
        var leased = coordinator.leases(of: PeerID("w"))
        var now = 0.0
        var batch: [CoordinatorAction] = []
        var done = 0
        let start = Date()
        while done < 5_000 {
            now += 0.001
            let task = leased.removeFirst()
            let actions = coordinator.result(from: PeerID("w"), task, payload: [], now: now)
            batch += actions
            done += 1
            leased += actions.compactMap { if case .send(_, .assign(let a)) = $0 { return a.task } else { return nil } }
            if batch.count >= 300 {
                try journal.commit(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try journal.commit(batch)
        let seconds = Date().timeIntervalSince(start)
        let snapshot = try journal.snapshot()
        let run = try #require(snapshot.runs.first)
        #expect(run.done == 5_000)
        #expect(run.generated == 5_008)
        #expect(run.pending.count == 8)
        #expect(try journal.resultCount(run: run.record.id) == 5_000)
        // Debug build, shared machine: generous bound, just to catch pathologies (e.g. a full scan per commit).
        #expect(seconds < 20, "5,000 tasks took \(seconds) s")
    }
}
