// The journal's per-task statements (a lease; a result and its task marked done),
// bound and stepped through SQLite's C API on statements GRDB prepared and caches.
//
// Why: at tens of thousands of tasks a second these three statements are most of the
// journal's work, and GRDB's general path (an argument array of boxed values, a
// lookup of the statement by its SQL text, hooks for observers the journal does not
// use) cost about as much as SQLite's own execution of them (`perf` of `duet bench
// dispatch`, issue #16). GRDB still owns each statement (it finalizes them with the
// connection) and the transaction around them; only the binding and stepping are
// done here. Every other journal change goes through GRDB as before.

import GRDB
import GRDBSQLite

/// The per-task statements of one commit, looked up once for the whole batch.
struct JournalTaskStatements {
    private let db: Database
    private let leaseStatement: Statement
    private let resultStatement: Statement
    private let doneStatement: Statement

    init(_ db: Database) throws {
        self.db = db
        leaseStatement = try db.cachedStatement(
            sql: """
                INSERT INTO tasks (run, idx, state, attempts, worker, leased_at) VALUES (?, ?, 'leased', ?, ?, ?)
                ON CONFLICT (run, idx) DO UPDATE SET state = 'leased', attempts = max(attempts, excluded.attempts),
                    worker = excluded.worker, leased_at = excluded.leased_at
                """)
        resultStatement = try db.cachedStatement(
            sql: """
                INSERT INTO results (run, idx, attempt, worker, created_at, payload) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (run, idx) DO NOTHING
                """)
        doneStatement = try db.cachedStatement(
            sql: """
                INSERT INTO tasks (run, idx, state, attempts, worker, finished_at) VALUES (?, ?, 'done', ?, ?, ?)
                ON CONFLICT (run, idx) DO UPDATE SET state = 'done', attempts = max(attempts, excluded.attempts),
                    worker = excluded.worker, finished_at = excluded.finished_at
                """)
    }

    /// The attempt is leased to `worker` (the task's row is created on its first lease).
    func lease(run: Int, index: Int, attempt: Int, worker: String, at: Double) throws {
        try execute(leaseStatement, run: run, index: index, attempt: attempt, worker: worker, at: at)
    }

    /// Stores the result unless the task has one; returns false for a duplicate.
    func insertResult(run: Int, index: Int, attempt: Int, worker: String, at: Double, payload: [UInt8]) throws -> Bool {
        try execute(resultStatement, run: run, index: index, attempt: attempt, worker: worker, at: at) { $0.blob(payload) }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    /// The task is done (its row created if it was never leased under this journal).
    func markDone(run: Int, index: Int, attempt: Int, worker: String, at: Double) throws {
        try execute(doneStatement, run: run, index: index, attempt: attempt, worker: worker, at: at)
    }

    /// Binds the columns the three statements share, in their order (run, index,
    /// attempt, worker, time), then `more`; steps the statement to its end and resets
    /// it (SQLite copies text and blobs). A failure is GRDB's `DatabaseError`, as from GRDB.
    private func execute(
        _ statement: Statement, run: Int, index: Int, attempt: Int, worker: String, at: Double,
        more: (inout Binder) -> Void = { _ in }
    ) throws {
        let handle = statement.sqliteStatement
        var binder = Binder(handle: handle)
        binder.int(run)
        binder.int(index)
        binder.int(attempt)
        binder.text(worker)
        binder.double(at)
        more(&binder)
        var code = binder.failure ?? sqlite3_step(handle)
        while code == SQLITE_ROW { code = sqlite3_step(handle) }
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
    }

    /// Binds parameters 1, 2, ... in turn; the first failing bind is kept.
    struct Binder {
        let handle: OpaquePointer
        private var index: Int32 = 0
        private(set) var failure: Int32?

        init(handle: OpaquePointer) { self.handle = handle }

        /// SQLite's SQLITE_TRANSIENT: copy the bytes before the call returns.
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        private mutating func check(_ code: Int32) {
            if code != SQLITE_OK, failure == nil { failure = code }
        }

        mutating func int(_ value: Int) {
            index += 1
            check(sqlite3_bind_int64(handle, index, Int64(value)))
        }

        mutating func double(_ value: Double) {
            index += 1
            check(sqlite3_bind_double(handle, index, value))
        }

        mutating func text(_ value: String) {
            index += 1
            var value = value
            let code = value.withUTF8 { bytes in
                // An empty string's buffer may have no address: bind "" then.
                guard let start = bytes.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
                return sqlite3_bind_text(
                    handle, index, UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
            }
            check(code)
        }

        mutating func blob(_ value: [UInt8]) {
            index += 1
            let code = value.withUnsafeBytes { bytes in
                // A zero-length blob, not NULL, for an empty payload (the column is NOT NULL).
                bytes.count == 0
                    ? sqlite3_bind_zeroblob(handle, index, 0)
                    : sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
            }
            check(code)
        }
    }
}
