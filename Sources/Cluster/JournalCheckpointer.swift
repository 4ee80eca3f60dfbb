// Checkpoints of the journal's write-ahead log, off the coordinator's loop.
//
// With `synchronous = NORMAL` a WAL commit does not fsync; a checkpoint (copying the
// WAL back into the database) does. SQLite runs one automatically in whichever commit
// crosses `wal_autocheckpoint` pages, so every few dozen batches one of the
// coordinator's commits also copied megabytes and waited for the disk: 35-60 ms
// usually, and 2 s once on the shared machine's busy disk, with every STATUS, ASSIGN
// and ACK of that turn waiting behind it. Here a second connection on a thread of its
// own runs PASSIVE checkpoints (they wait for no reader or writer) every `interval`;
// the coordinator's connection keeps an automatic checkpoint only as a backstop, at a
// WAL of 64 MiB, should this thread ever fall behind.

import Foundation
import GRDB

public final class JournalCheckpointer: @unchecked Sendable {
    /// Pages of WAL at which the coordinator's own connection still checkpoints.
    static let backstopPages = 16_384

    private let queue: DatabaseQueue
    private let interval: Double
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, interval: Double) throws(JournalError) {
        var config = Configuration()
        config.label = "duet.journal.checkpoints"
        config.busyMode = .immediateError
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw Journal.classify(error, path: path, doing: "opening a connection for checkpoints")
        }
        self.interval = interval
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            while !lock.withLock({ stopping }) {
                Thread.sleep(forTimeInterval: interval)
                // A checkpoint that finds the database busy simply does less (or nothing) this time.
                try? queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            }
        }
    }

    /// Stops the thread (after its checkpoint in progress) and closes its connection.
    public func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + interval + 10)
        try? queue.close()
    }
}

extension Journal {
    /// Moves WAL checkpoints off this connection onto a thread of their own (see
    /// `JournalCheckpointer`); call `stop()` on the result before closing the journal.
    public func checkpointInBackground(every interval: Double = 0.25) throws(JournalError) -> JournalCheckpointer {
        do {
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(JournalCheckpointer.backstopPages)")
            }
        } catch {
            throw Self.classify(error, path: path, doing: "setting wal_autocheckpoint")
        }
        return try JournalCheckpointer(path: path, interval: interval)
    }
}
