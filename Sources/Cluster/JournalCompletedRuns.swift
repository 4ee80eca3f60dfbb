// A completed run found again by what it computed (see `CoordinatorState.completedRun`),
// for runs the coordinator no longer holds in memory (older ones, or from before a
// restart).

import ClusterCore
import GRDB

extension Journal {
    /// The latest completed run of `kind` with this spec and task count whose every
    /// task is done (none failed or cancelled).
    func completedRun(kind: String, spec: BlobHash, taskCount: Int) throws(JournalError) -> RunID? {
        try read("looking for a completed \(kind) run") { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT id FROM runs WHERE kind = ? AND spec_hash = ? AND task_count = ? AND state = 'completed'
                    AND done = task_count AND failed = 0 ORDER BY id DESC LIMIT 1
                    """, arguments: [kind, spec.hex, taskCount]
            ).map { RunID($0) }
        }
    }
}
