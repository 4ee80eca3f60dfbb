// Which run a submission names when the same work was submitted before (same kind,
// spec hash and task count): an unfinished one is resumed by `submit`; a completed one
// whose every task is done is served again (its results are in the journal), so a
// client that comes back after its run finished without it reads the results instead
// of computing them a second time.

extension CoordinatorState {
    /// The unfinished run `submission` resumes, if any.
    public func unfinishedRun(like submission: RunSubmission) -> RunID? {
        let spec = BlobHash(of: submission.spec)
        return dispatchOrder.first { id in
            guard let record = runs[id]?.record else { return false }
            return record.kind == submission.kind && record.spec == spec && record.taskCount == submission.taskCount
        }
    }

    /// The latest run like `submission` that completed with every task done and is
    /// still held in memory (the coordinator keeps the last few finished runs).
    public func completedRun(like submission: RunSubmission) -> RunID? {
        let spec = BlobHash(of: submission.spec)
        return runs.values.filter { run in
            run.phase == .completed && run.failed == 0 && run.done == run.record.taskCount
                && run.record.kind == submission.kind && run.record.spec == spec
                && run.record.taskCount == submission.taskCount
        }.map(\.record.id).max()
    }
}
