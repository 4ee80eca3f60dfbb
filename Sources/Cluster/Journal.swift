// The coordinator's journal: an SQLite file (through GRDB) in WAL mode holding runs,
// tasks, results and blobs. The coordinator commits every state change its state
// machine emits before acknowledging or assigning anything, so a coordinator killed at
// any moment restarts from the file (`snapshot()`) and finishes its runs with each
// task's result stored exactly once.
//
//     runs     (id, kind, label, spec_hash, task_count, payload, blobs, max_attempts,
//               state, phase, created_at, finished_at, done, failed)
//     tasks    (run, idx, state, attempts, failures, worker, leased_at, finished_at,
//               failed_at, error)                         PRIMARY KEY (run, idx)
//     results  (run, idx, attempt, worker, created_at, payload BLOB)   UNIQUE (run, idx)
//     blobs    (hash PRIMARY KEY, size, bytes BLOB)
//     workers  (id PRIMARY KEY, host, pid, version, slots, joined_at, left_at, reason)
//
// A task's row appears with its first lease: a 1,000,000-task run costs nothing until
// its tasks are handed out, and the rows below the highest leased index that are not
// queued or leased are the finished ones (see `RecoveredRun`).

import ClusterCore
import DuetSupport
import Foundation
import GRDB

/// Why the journal could not be opened or written.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The file is not a Duet journal (not SQLite, or another application's database).
        case notAJournal
        /// The journal was written by a newer Duet.
        case newerSchema
        /// No journal at the path (read-only opening).
        case missing
        /// SQLite failed (disk full, I/O error, locked...).
        case database
    }

    public var kind: Kind
    public var path: String
    public var message: String

    public init(_ kind: Kind, path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "journal \(path): \(message)" }
}

/// What a commit found: results that were already stored (ignored, exactly once).
public struct JournalCommit: Sendable, Hashable {
    public var changes: Int
    public var duplicates: [TaskAttempt]
}

public final class Journal: Sendable {
    /// `PRAGMA application_id` of Duet journals: "DUET" in ASCII.
    public static let applicationID: Int32 = 0x4455_4554
    /// The schema migrations this build knows, oldest first.
    static let migrationNames = ["v1", "epoch"]

    public struct Options: Sendable {
        /// `NORMAL` survives a killed process (the WAL is in the OS's hands once
        /// written); `FULL` also survives power loss, at an fsync per commit.
        public var durableAgainstPowerLoss = false
        /// For `duet status --journal`: read without writing, without migrating.
        public var readOnly = false
        /// How long a writer waits for a lock held by another connection.
        public var busyTimeout: Double = 5

        public init(durableAgainstPowerLoss: Bool = false, readOnly: Bool = false) {
            self.durableAgainstPowerLoss = durableAgainstPowerLoss
            self.readOnly = readOnly
        }
    }

    public let path: String
    let queue: DatabaseQueue

    /// Opens the journal at `path`, creating it (and migrating an older schema) unless
    /// read-only. A file that is not a Duet journal, or one from a newer Duet, is refused.
    public init(path: String, options: Options = Options()) throws(JournalError) {
        self.path = path
        if options.readOnly, !FileManager.default.fileExists(atPath: path) {
            throw JournalError(.missing, path: path, "no such file")
        }
        var config = Configuration()
        config.readonly = options.readOnly
        config.busyMode = .timeout(options.busyTimeout)
        config.label = "duet.journal"
        if !options.readOnly { config.journalMode = .wal }
        let synchronous = options.durableAgainstPowerLoss ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw Self.classify(error, path: path, doing: "opening")
        }
        try checkIdentity(readOnly: options.readOnly)
        if !options.readOnly {
            do {
                try Self.migrator.migrate(queue)
            } catch {
                throw Self.classify(error, path: path, doing: "creating the schema")
            }
        }
    }

    /// Closes the connection. (Also happens when the journal is released.)
    public func close() throws(JournalError) {
        do { try queue.close() } catch { throw Self.classify(error, path: path, doing: "closing") }
    }

    /// The SQLite journal mode in effect ("wal").
    public func journalMode() throws(JournalError) -> String {
        try read("reading the journal mode") { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: - Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "PRAGMA application_id = \(Journal.applicationID)")
            try db.execute(
                sql: """
                    CREATE TABLE runs (
                        id INTEGER PRIMARY KEY,
                        kind TEXT NOT NULL,
                        label TEXT NOT NULL DEFAULT '',
                        spec_hash TEXT NOT NULL,
                        task_count INTEGER NOT NULL,
                        payload TEXT NOT NULL,
                        blobs TEXT NOT NULL,
                        max_attempts INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        phase TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        finished_at REAL,
                        done INTEGER NOT NULL DEFAULT 0,
                        failed INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE tasks (
                        run INTEGER NOT NULL REFERENCES runs(id),
                        idx INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        failures INTEGER NOT NULL DEFAULT 0,
                        worker TEXT,
                        leased_at REAL,
                        finished_at REAL,
                        failed_at REAL,
                        error TEXT,
                        PRIMARY KEY (run, idx)
                    ) WITHOUT ROWID;
                    CREATE INDEX tasks_pending ON tasks(run, idx) WHERE state IN ('queued', 'leased');
                    CREATE INDEX tasks_failures ON tasks(failed_at) WHERE failed_at IS NOT NULL;
                    CREATE TABLE results (
                        run INTEGER NOT NULL,
                        idx INTEGER NOT NULL,
                        attempt INTEGER NOT NULL,
                        worker TEXT,
                        created_at REAL NOT NULL,
                        payload BLOB NOT NULL,
                        UNIQUE (run, idx)
                    );
                    CREATE TABLE blobs (
                        hash TEXT PRIMARY KEY,
                        size INTEGER NOT NULL,
                        bytes BLOB NOT NULL
                    );
                    CREATE TABLE workers (
                        id TEXT PRIMARY KEY,
                        host TEXT NOT NULL,
                        pid INTEGER NOT NULL,
                        version TEXT NOT NULL,
                        slots INTEGER NOT NULL,
                        joined_at REAL NOT NULL,
                        left_at REAL,
                        reason TEXT
                    );
                    """)
        }
        // The journal's epoch: a random id made once with the journal (or when an older
        // journal is first opened by this build) and never changed, so that a worker's
        // attempts leased under another journal are told apart from this one's.
        migrator.registerMigration("epoch") { db in
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('epoch', ?)", arguments: [Journal.newEpoch()])
        }
        return migrator
    }

    /// 128 random bits as 32 lowercase hex digits.
    static func newEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (word: UInt64) in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// The journal's epoch (`CoordinatorConfig.epoch`, said in `WELCOME`); nil only for a
    /// journal opened read-only that no epoch-aware Duet has opened for writing yet.
    public func epoch() throws(JournalError) -> String? {
        try read("reading the journal's epoch") { db in
            guard try db.tableExists("meta") else { return nil }
            return try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'epoch'")
        }
    }

    /// Refuses files that are not Duet journals before anything is written to them.
    private func checkIdentity(readOnly: Bool) throws(JournalError) {
        let path = self.path
        let (applicationID, tables, superseded) = try read("checking the file") { db in
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            let superseded = tables.contains("grdb_migrations") ? try Self.migrator.hasBeenSuperseded(db) : false
            return (applicationID, tables, superseded)
        }
        if applicationID == Self.applicationID {
            if superseded {
                let applied = (try? read("reading migrations") { db in try Self.migrator.appliedIdentifiers(db) }) ?? []
                let unknown = applied.subtracting(Self.migrationNames).sorted()
                throw JournalError(
                    .newerSchema, path: path,
                    "written by a newer Duet (schema \(unknown.joined(separator: ", ")); this build knows \(Self.migrationNames.joined(separator: ", "))); upgrade duet to open it"
                )
            }
            return
        }
        if applicationID == 0 && tables.isEmpty {
            guard !readOnly else { throw JournalError(.notAJournal, path: path, "not a Duet journal: an empty database") }
            return
        }
        let what =
            applicationID == 0
            ? "an SQLite database with tables \(tables.prefix(5).joined(separator: ", ")) but no Duet journal"
            : "an SQLite database of another application (application_id 0x\(String(UInt32(bitPattern: applicationID), radix: 16)))"
        throw JournalError(.notAJournal, path: path, "not a Duet journal: \(what)")
    }

    static func classify(_ error: any Error, path: String, doing: String) -> JournalError {
        if let error = error as? JournalError { return error }
        if let error = error as? DatabaseError {
            if error.resultCode == .SQLITE_NOTADB {
                return JournalError(.notAJournal, path: path, "not a Duet journal: the file is not an SQLite database")
            }
            if error.resultCode == .SQLITE_CANTOPEN {
                return JournalError(
                    .database, path: path, "cannot open the file while \(doing) (\(error.message ?? "unknown error"))")
            }
            return JournalError(
                .database, path: path,
                "SQLite error while \(doing): \(error.message ?? "") (code \(error.extendedResultCode.rawValue))")
        }
        return JournalError(.database, path: path, "error while \(doing): \(error)")
    }

    func read<T>(_ doing: String, _ body: (Database) throws -> T) throws(JournalError) -> T {
        do { return try queue.read(body) } catch { throw Self.classify(error, path: path, doing: doing) }
    }

    // MARK: - Writing

    /// Commits the journal changes among `actions` (in one transaction): call it with a
    /// batch of the state machine's actions before performing any of their sends.
    @discardableResult
    public func commit(_ actions: [CoordinatorAction]) throws(JournalError) -> JournalCommit {
        try apply(actions.compactMap(\.journalChange))
    }

    /// Applies `changes` in order, in one transaction, committed before returning.
    /// A `complete` for a task that already has a result inserts nothing and is
    /// reported in `duplicates`.
    @discardableResult
    public func apply(_ changes: [JournalChange]) throws(JournalError) -> JournalCommit {
        guard !changes.isEmpty else { return JournalCommit(changes: 0, duplicates: []) }
        var duplicates: [TaskAttempt] = []
        do {
            try queue.inTransaction(.immediate) { db in
                var counts: [Int: (done: Int, failed: Int)] = [:]
                let taskStatements = try JournalTaskStatements(db)
                for change in changes {
                    try Self.apply(change, db, taskStatements, counts: &counts, duplicates: &duplicates)
                }
                let bump = try db.cachedStatement(sql: "UPDATE runs SET done = done + ?, failed = failed + ? WHERE id = ?")
                for (run, delta) in counts.sorted(by: { $0.key < $1.key }) {
                    try bump.execute(arguments: [delta.done, delta.failed, run])
                }
                return .commit
            }
        } catch {
            throw Self.classify(error, path: path, doing: "committing \(changes.count) changes")
        }
        return JournalCommit(changes: changes.count, duplicates: duplicates)
    }

    private static func apply(
        _ change: JournalChange, _ db: Database, _ taskStatements: JournalTaskStatements,
        counts: inout [Int: (done: Int, failed: Int)], duplicates: inout [TaskAttempt]
    ) throws {
        switch change {
        case .createRun(let record):
            try db.cachedStatement(
                sql: """
                    INSERT INTO runs (id, kind, label, spec_hash, task_count, payload, blobs, max_attempts, state, phase, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', 'dispatching', ?)
                    """
            ).execute(arguments: [
                record.id.rawValue, record.kind, record.label, record.spec.hex, record.taskCount, record.payload.text,
                JSON.array(record.blobs.map { .string($0.hex) }).text, record.maxAttempts, record.createdAt,
            ])

        case .storeBlob(let hash, let bytes):
            try db.cachedStatement(
                sql: "INSERT INTO blobs (hash, size, bytes) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING"
            ).execute(arguments: [hash.hex, bytes.count, Data(bytes)])

        case .lease(let attempt, let worker, let at):
            try taskStatements.lease(
                run: attempt.task.run.rawValue, index: attempt.task.index, attempt: attempt.attempt, worker: worker, at: at)

        case .requeue(let task, let failures, let error, let at):
            // A requeue that counts a new failure stamps failed_at (recent failures).
            try db.cachedStatement(
                sql: """
                    UPDATE tasks SET state = 'queued', error = ?, failed_at = CASE WHEN ? > failures THEN ? ELSE failed_at END,
                        failures = ? WHERE run = ? AND idx = ?
                    """
            ).execute(arguments: [error, failures, at, failures, task.run.rawValue, task.index])

        case .refund(let attempt, let failures, _):
            // Only while the task is unfinished: a refund never reopens a task.
            try db.cachedStatement(
                sql: "UPDATE tasks SET failures = ? WHERE run = ? AND idx = ? AND state IN ('queued', 'leased')"
            ).execute(arguments: [failures, attempt.task.run.rawValue, attempt.task.index])

        case .complete(let attempt, let worker, let payload, let at):
            let task = attempt.task
            let stored = try taskStatements.insertResult(
                run: task.run.rawValue, index: task.index, attempt: attempt.attempt, worker: worker, at: at, payload: payload)
            guard stored else {
                duplicates.append(attempt)
                return
            }
            try taskStatements.markDone(
                run: task.run.rawValue, index: task.index, attempt: attempt.attempt, worker: worker, at: at)
            counts[task.run.rawValue, default: (0, 0)].done += 1

        case .fail(let attempt, let failures, let error, let worker, let at):
            let task = attempt.task
            try db.cachedStatement(
                sql: """
                    INSERT INTO tasks (run, idx, state, attempts, failures, worker, finished_at, failed_at, error)
                    VALUES (?, ?, 'failed', ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (run, idx) DO UPDATE SET state = 'failed', attempts = max(attempts, excluded.attempts),
                        failures = excluded.failures, worker = excluded.worker, finished_at = excluded.finished_at,
                        failed_at = excluded.failed_at, error = excluded.error
                    """
            ).execute(arguments: [task.run.rawValue, task.index, attempt.attempt, failures, worker, at, at, error])
            counts[task.run.rawValue, default: (0, 0)].failed += 1

        case .setPhase(let run, let phase, let at):
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET phase = ?, state = ?, finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?
                    """
            ).execute(arguments: [phase.rawValue, phase.state, phase.isFinished, at, run.rawValue])
            if phase == .cancelled {
                try db.cachedStatement(
                    sql: "UPDATE tasks SET state = 'cancelled', finished_at = ? WHERE run = ? AND state IN ('queued', 'leased')"
                ).execute(arguments: [at, run.rawValue])
            }

        case .workerJoined(let worker):
            try db.cachedStatement(
                sql: """
                    INSERT INTO workers (id, host, pid, version, slots, joined_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
                        slots = excluded.slots, joined_at = excluded.joined_at, left_at = NULL, reason = NULL
                    """
            ).execute(arguments: [worker.id, worker.host, worker.pid, worker.version, worker.slots, worker.at])

        case .workerLeft(let id, let reason, let at):
            try db.cachedStatement(sql: "UPDATE workers SET left_at = ?, reason = ? WHERE id = ? AND left_at IS NULL")
                .execute(arguments: [at, reason, id])

        case .coordinatorStarted(let at):
            try db.cachedStatement(
                sql: "UPDATE workers SET left_at = ?, reason = 'coordinator restarted' WHERE left_at IS NULL"
            ).execute(arguments: [at])
        }
    }
}
