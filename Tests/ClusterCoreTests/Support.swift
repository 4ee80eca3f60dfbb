import Testing

@testable import ClusterCore

/// An in-memory stand-in for the SQLite journal with the same semantics: it applies
/// journal changes, inserts results exactly once and builds recovery snapshots.
struct JournalModel {
    struct TaskRow: Equatable {
        var state: String
        var attempts: Int
        var failures: Int
        var worker: String?
        var error: String?
    }

    var runs: [RunID: (record: RunRecord, phase: RunPhase)] = [:]
    var tasks: [TaskID: TaskRow] = [:]
    var results: [TaskID: [UInt8]] = [:]
    var blobs: [BlobHash: [UInt8]] = [:]
    /// `complete` changes for tasks that already had a result (must stay 0).
    var duplicateInserts = 0
    var changes = 0

    mutating func apply(_ change: JournalChange) {
        changes += 1
        switch change {
        case .createRun(let record): runs[record.id] = (record, .dispatching)
        case .storeBlob(let hash, let bytes): blobs[hash] = bytes
        case .lease(let attempt, let worker, _):
            var row = tasks[attempt.task] ?? TaskRow(state: "queued", attempts: 0, failures: 0)
            row.state = "leased"
            row.attempts = max(row.attempts, attempt.attempt)
            row.worker = worker
            tasks[attempt.task] = row
        case .requeue(let task, let failures, let error, _):
            tasks[task]!.state = "queued"
            tasks[task]!.failures = failures
            tasks[task]!.error = error
            tasks[task]!.worker = nil
        case .refund(let attempt, let failures, _):
            if let row = tasks[attempt.task], row.state == "queued" || row.state == "leased" {
                tasks[attempt.task]!.failures = failures
            }
        case .complete(let attempt, let worker, let payload, _):
            if results[attempt.task] != nil {
                duplicateInserts += 1
                return
            }
            results[attempt.task] = payload
            tasks[attempt.task, default: TaskRow(state: "queued", attempts: attempt.attempt, failures: 0)].state = "done"
            tasks[attempt.task]!.worker = worker
        case .fail(let attempt, let failures, let error, let worker, _):
            tasks[attempt.task]!.state = "failed"
            tasks[attempt.task]!.failures = failures
            tasks[attempt.task]!.error = error
            tasks[attempt.task]!.worker = worker
        case .setPhase(let id, let phase, _):
            runs[id]!.phase = phase
        case .workerJoined, .workerLeft, .coordinatorStarted:
            break
        }
    }

    func count(_ run: RunID, _ state: String) -> Int { tasks.filter { $0.key.run == run && $0.value.state == state }.count }

    func snapshot() -> JournalSnapshot {
        var recovered: [RecoveredRun] = []
        for (id, run) in runs.sorted(by: { $0.key < $1.key }) where !run.phase.isFinished {
            let rows = tasks.filter { $0.key.run == id }
            let generated = (rows.keys.map(\.index).max() ?? -1) + 1
            let pending = rows.filter { $0.value.state == "queued" || $0.value.state == "leased" }
                .map {
                    PendingTask(
                        index: $0.key.index, attempts: $0.value.attempts, failures: $0.value.failures, lastError: $0.value.error)
                }
                .sorted { $0.index < $1.index }
            recovered.append(
                RecoveredRun(
                    record: run.record, generated: generated, done: rows.values.filter { $0.state == "done" }.count,
                    failed: rows.values.filter { $0.state == "failed" }.count, pending: pending))
        }
        return JournalSnapshot(
            runs: recovered, nextRunID: RunID((runs.keys.map(\.rawValue).max() ?? 0) + 1), blobs: Set(blobs.keys))
    }
}

/// Drives a CoordinatorState with an injected clock and commits its journal changes to
/// a JournalModel, checking on the way that nothing is sent before the change it
/// depends on is in the batch ahead of it.
struct Harness {
    var state: CoordinatorState
    var journal = JournalModel()
    var now: Double = 1_000
    var all: [CoordinatorAction] = []

    init(_ configure: (inout CoordinatorConfig) -> Void = { _ in }) {
        var config = CoordinatorConfig()
        configure(&config)
        state = CoordinatorState(config: config)
    }

    @discardableResult
    mutating func step(_ event: (inout CoordinatorState, Double) -> [CoordinatorAction]) -> [CoordinatorAction] {
        let actions = event(&state, now)
        checkOrdering(actions)
        for action in actions { if let change = action.journalChange { journal.apply(change) } }
        all += actions
        return actions
    }

    /// Every ack of an accepted result follows its `complete`; every assign follows its `lease`.
    func checkOrdering(_ actions: [CoordinatorAction]) {
        var leased: Set<TaskAttempt> = []
        var acked: Set<TaskAttempt> = []
        for action in actions {
            switch action {
            case .journal(.complete(let attempt, _, _, _)):
                #expect(!acked.contains(attempt), "ack of \(attempt) before its result was journaled")
            case .journal(.lease(let attempt, _, _)): leased.insert(attempt)
            case .send(_, .ack(let attempt)): acked.insert(attempt)
            case .send(_, .assign(let assignment)):
                #expect(leased.contains(assignment.task), "assign of \(assignment.task) before its lease was journaled")
            default: break
            }
        }
    }

    mutating func advance(_ seconds: Double) { now += seconds }

    @discardableResult
    mutating func hello(_ worker: String, slots: Int, prefetch: Int = 0, pid: Int = 1, running: [TaskAttempt] = [])
        -> [CoordinatorAction]
    {
        step { state, now in
            state.workerHello(
                from: PeerID(worker),
                Hello(slots: slots, prefetch: prefetch, host: "host", pid: pid, version: "test", running: running),
                now: now)
        }
    }

    @discardableResult
    mutating func submit(_ count: Int, kind: String = "noop", spec: String = "spec", maxAttempts: Int? = nil) -> RunID {
        let actions = step { state, now in
            state.submit(
                from: PeerID("client"),
                RunSubmission(kind: kind, taskCount: count, maxAttempts: maxAttempts, spec: Array(spec.utf8)),
                now: now)
        }
        for case .reply(_, .submitted(let run, _)) in actions { return run }
        Issue.record("submit was not answered with a run: \(actions)")
        return RunID(0)
    }

    @discardableResult
    mutating func complete(_ attempt: TaskAttempt, by worker: String, payload: [UInt8]? = nil) -> [CoordinatorAction] {
        let bytes = payload ?? Array("r\(attempt.task.index)".utf8)
        return step { state, now in state.result(from: PeerID(worker), attempt, payload: bytes, now: now) }
    }

    @discardableResult
    mutating func fail(_ attempt: TaskAttempt, by worker: String, error: String) -> [CoordinatorAction] {
        step { state, now in state.failure(from: PeerID(worker), attempt, error: error, now: now) }
    }

    @discardableResult
    mutating func heartbeat(_ worker: String, running: [TaskAttempt]? = nil) -> [CoordinatorAction] {
        let held = running ?? state.leases(of: PeerID(worker))
        return step { state, now in state.heartbeat(from: PeerID(worker), running: held, now: now) }
    }

    @discardableResult
    mutating func tick() -> [CoordinatorAction] { step { state, now in state.tick(now: now) } }
}

/// Assignments in `actions`, optionally only those to `worker`.
func assigned(_ actions: [CoordinatorAction], to worker: String? = nil) -> [TaskAttempt] {
    actions.compactMap { action in
        guard case .send(let to, .assign(let assignment)) = action else { return nil }
        if let worker, to != PeerID(worker) { return nil }
        return assignment.task
    }
}

func assignments(_ actions: [CoordinatorAction]) -> [(worker: String, task: TaskAttempt)] {
    actions.compactMap { action in
        guard case .send(let to, .assign(let assignment)) = action else { return nil }
        return (to.description, assignment.task)
    }
}

func sent(_ actions: [CoordinatorAction], to worker: String) -> [CoordinatorMessage] {
    actions.compactMap { action in
        guard case .send(let to, let message) = action, to == PeerID(worker) else { return nil }
        return message
    }
}

func journalChanges(_ actions: [CoordinatorAction]) -> [JournalChange] { actions.compactMap(\.journalChange) }

func completes(_ actions: [CoordinatorAction]) -> [TaskAttempt] {
    journalChanges(actions).compactMap { change in
        if case .complete(let attempt, _, _, _) = change { return attempt }
        return nil
    }
}

func attempt(_ run: RunID, _ index: Int, _ attempt: Int) -> TaskAttempt { TaskAttempt(run: run, index: index, attempt: attempt) }
