// The coordinator's bookkeeping as a value: events in, actions out, time injected.
//
// Leases. A task's attempt number grows with every lease. A result is valid when its
// task is unfinished and its attempt is one that was issued (1 ... attempts): the
// first valid result wins, even from a lease that was revoked meanwhile (a worker
// declared lost that comes back); every later one is acknowledged and ignored. A
// failure only counts for the current lease.
//
// Deadlines. Every lease ends by its kind's deadline (`CoordinatorConfig.taskDeadline`),
// counted from the lease, whatever the worker's heartbeats say: a task hanging on a live
// worker is taken back at the first `tick` after it (re-queued as a failed attempt, the
// worker told `CANCEL`). A result of that attempt arriving later is still valid if it is
// the first (the rule above). Adopted leases (after a coordinator restart) start afresh.
//
// Refunds. A worker declared lost is charged a failed attempt for each task it held.
// If it was only paused and comes back with the attempt (adopted by its HELLO, or its
// result accepted as the first valid one), the attempt did not fail: the charge is
// given back (`.journal(.refund)`, counted in `refunded`), so a few pauses cannot fail
// a task that never failed. Only the latest loss this coordinator charged is refunded.
//
// Memory. A run is a task count and a cursor: task `i` is generated (handed out for the
// first time) when the cursor reaches it. Only unfinished tasks that were handed out are
// tracked (`active`: leased ones and those waiting for a retry), so a 1,000,000-task
// run costs O(slots), not O(tasks). Indices below the cursor that are not active are
// finished: that is how late and duplicate results are recognised without a done set.
//
// Durability. Every change the journal must keep comes out as `.journal(change)`
// before the sends that depend on it; the shell commits before sending.

import DuetSupport

public struct CoordinatorState: Sendable {
    public let config: CoordinatorConfig

    struct Lease: Sendable {
        var worker: PeerID
        var attempt: Int
        var at: Double
        /// When the coordinator takes the lease back (`.infinity`: never).
        var deadline: Double
    }

    struct ActiveTask: Sendable {
        /// Leases issued so far; the current or next attempt number.
        var attempts: Int
        var failures: Int
        var lease: Lease?
        var lastError: String?
        /// An attempt taken back at its deadline: never adopted again.
        var overdueAttempt: Int? = nil
        /// The attempt whose worker was declared lost, charged as a failed attempt; the
        /// charge is refunded if that attempt is adopted or its result accepted.
        var lostAttempt: Int? = nil
    }

    struct Run: Sendable {
        var record: RunRecord
        var phase: RunPhase
        /// The generation cursor: indices below it were handed out at least once.
        var nextIndex: Int
        /// Indices waiting for another attempt (entries whose task finished meanwhile
        /// are skipped when popped).
        var retry = Deque<Int>()
        var leased = 0
        var done = 0
        var failed = 0
        var rate: RateWindow
        var finishedAt: Double?
        /// When a client last asked about the run (submitted it, read its results).
        var lastClient: Double

        var remaining: Int { record.taskCount - done - failed }
    }

    struct Worker: Sendable {
        var id: PeerID
        var hello: Hello
        /// Leases it may hold: slots plus prefetch.
        var credit: Int
        var leases: [TaskAttempt]
        var lastSeen: Double
        var lastSent: Double
        var connectedAt: Double
        /// The token of its entry in `ready`, nil when it has none.
        var readyToken: Int?
    }

    var runs: [RunID: Run] = [:]
    /// Unfinished runs, oldest first; dispatch goes round them.
    var dispatchOrder: [RunID] = []
    var dispatchCursor = 0
    /// Finished runs still in `runs`, oldest first.
    var finishedOrder = Deque<RunID>()
    var active: [TaskID: ActiveTask] = [:]
    var workers: [PeerID: Worker] = [:]
    /// Workers with free credit, each at most once (round robin: one task per turn). An
    /// entry is valid while its token matches the worker's: a worker that left or said
    /// hello again leaves a stale entry behind, skipped when popped.
    var ready = Deque<ReadyEntry>()
    var nextReadyToken = 0

    struct ReadyEntry: Sendable {
        var worker: PeerID
        var token: Int
    }
    var nextRunID = 1
    var knownBlobs: Set<BlobHash> = []
    var counters = ClusterCounters()
    var rate: RateWindow
    /// Oldest first, at most `recentFailureLimit`.
    var failures = Deque<FailureRecord>()
    /// No lease ends by its deadline before this (a lower bound: `tick` scans the leases
    /// only once it has passed).
    var earliestDeadline = Double.infinity
    /// Tasks finished since this coordinator started, for metrics: done, failed for good,
    /// and abandoned by a cancelled run (queued, leased or not yet handed out).
    public private(set) var tasksDone = 0
    public private(set) var tasksFailed = 0
    public private(set) var tasksCancelled = 0

    public init(config: CoordinatorConfig = CoordinatorConfig()) {
        self.config = config
        rate = RateWindow(window: config.throughputWindow)
    }

    // MARK: - Dispatching events

    /// Handles a decoded worker message.
    public mutating func receive(_ message: WorkerMessage, from worker: PeerID, now: Double) -> [CoordinatorAction] {
        switch message {
        case .hello(let hello): return workerHello(from: worker, hello, now: now)
        case .heartbeat(let running): return heartbeat(from: worker, running: running, now: now)
        case .result(let attempt, let payload, let epoch):
            if let refused = refusedForEpoch(epoch, attempt, "result", from: worker, now: now) { return refused }
            return result(from: worker, attempt, payload: payload, now: now)
        case .resultBatch(let results, let epoch):
            // Each as its own RESULT would be: counted, checked and acknowledged one by one.
            var actions: [CoordinatorAction] = []
            for item in results {
                if let refused = refusedForEpoch(epoch, item.attempt, "result", from: worker, now: now) {
                    actions += refused
                } else {
                    actions += result(from: worker, item.attempt, payload: item.payload, now: now)
                }
            }
            return actions
        case .failure(let attempt, let error, let epoch):
            if let refused = refusedForEpoch(epoch, attempt, "failure", from: worker, now: now) { return refused }
            return failure(from: worker, attempt, error: error, now: now)
        case .progress(let attempt, let report): return progress(from: worker, attempt, report: report, now: now)
        case .blobRequest(let hash, let offset): return blobRequest(from: worker, hash, offset: offset, now: now)
        case .goodbye(let returning): return goodbye(from: worker, returning: returning, now: now)
        }
    }

    /// Handles a decoded client request.
    public mutating func receive(_ request: ClientRequest, from client: PeerID, now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        switch request {
        case .submit(let submission): return submit(from: client, submission, now: now)
        case .putBlob(let bytes): return putBlob(from: client, bytes, now: now)
        case .status: return [.reply(to: client, .status(status(now: now)))]
        case .results(let run, let from, let limit):
            heardFromClient(about: run, now: now)
            return resultsRequest(from: client, run: run, from: from, limit: limit)
        case .cancel(let run): return cancel(run, from: client, now: now)
        }
    }

    /// A message from `peer` that could not be decoded: logged, counted, dropped.
    public mutating func dropped(from peer: PeerID, _ error: WireError, now: Double) -> [CoordinatorAction] {
        counters.dropped[error.kind.rawValue, default: 0] += 1
        let total = counters.droppedTotal
        // Log the first few and then every thousandth, so a flood cannot drown the log.
        guard total <= 20 || total % 1000 == 0 else { return [] }
        return [.log(LogEntry(.warning, "dropped a message: \(error) (\(total) dropped so far)", ["peer": peer.description]))]
    }

    // MARK: - Worker events

    /// Whether `epoch` (a worker's, for what it reports or holds) names another journal
    /// than this coordinator's: then the attempt's run id means another run here.
    func isForeign(_ epoch: String?) -> Bool {
        guard let epoch, let mine = config.epoch else { return false }
        return epoch != mine
    }

    /// A result or failure leased under another journal's epoch: acknowledged (the worker
    /// may forget it), counted and logged, never recorded.
    mutating func refusedForEpoch(_ epoch: String?, _ attempt: TaskAttempt, _ what: String, from id: PeerID, now: Double)
        -> [CoordinatorAction]?
    {
        guard isForeign(epoch) else { return nil }
        counters.messagesIn += 1
        counters.foreignEpoch += 1
        touch(id, now)
        return [
            .log(
                LogEntry(
                    .warning, "\(what) from another journal (epoch \(epoch ?? "")) ignored",
                    ["worker.id": id.description, "task.id": attempt.description, "epoch": config.epoch ?? ""])),
            .send(to: id, .ack(attempt)),
        ]
    }

    public mutating func workerHello(from id: PeerID, _ hello: Hello, now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        var actions: [CoordinatorAction] = []
        // Attempts held under another journal's epoch name runs of that journal: none is
        // kept or adopted (each gets `CANCEL`; the worker drops them on the welcome anyway).
        let foreign = isForeign(hello.epoch)
        if foreign && !hello.running.isEmpty {
            counters.foreignEpoch += hello.running.count
            actions.append(
                .log(
                    LogEntry(
                        .warning, "worker holds \(hello.running.count) attempts from another journal (epoch \(hello.epoch ?? "")); none adopted",
                        ["worker.id": id.description, "epoch": config.epoch ?? ""])))
        }
        let held = foreign ? [] : Set(hello.running)
        var kept: [TaskAttempt] = []
        if let old = workers[id] {
            // The same identity again: a reconnect (same process) or a restart.
            let sameProcess = old.hello.pid == hello.pid && old.hello.host == hello.host
            let reason =
                sameProcess
                ? nil : "worker \(id) restarted (pid \(old.hello.pid) → \(hello.pid)) while holding the task"
            workers[id] = nil
            for lease in old.leases {
                if held.contains(lease) {
                    kept.append(lease)
                } else {
                    if sameProcess { counters.lostAssignments += 1 }
                    endLease(lease, worker: id, error: reason, countsAsFailure: !sameProcess, now: now, into: &actions)
                }
            }
            actions.append(.log(LogEntry(.notice, "worker said hello again", ["worker.id": id.description])))
        }
        var worker = Worker(
            id: id, hello: hello, credit: hello.slots + min(hello.prefetch, config.maxPrefetch), leases: kept,
            lastSeen: now, lastSent: now, connectedAt: now)
        // Adopt what it still holds from an earlier session, if nobody else has it.
        for attempt in hello.running where !kept.contains(attempt) {
            if !foreign, var entry = active[attempt.task], entry.lease == nil, entry.attempts == attempt.attempt,
                entry.overdueAttempt != attempt.attempt, let run = runs[attempt.task.run], !run.phase.isFinished
            {
                entry.lease = Lease(worker: id, attempt: attempt.attempt, at: now, deadline: deadline(run.record.kind, now))
                let refund = refundLoss(of: attempt, &entry, worker: id, now: now)
                active[attempt.task] = entry
                runs[attempt.task.run]!.leased += 1
                worker.leases.append(attempt)
                actions.append(.journal(.lease(attempt, worker: id.description, at: now)))
                actions += refund
                actions.append(
                    .log(
                        LogEntry(
                            .info, "adopted a task the worker still held",
                            ["worker.id": id.description, "task.id": attempt.description])))
            } else {
                actions.append(.send(to: id, .cancel(attempt)))
            }
        }
        workers[id] = worker
        actions.append(
            .journal(
                .workerJoined(
                    WorkerRecord(
                        id: id.description, host: hello.host, pid: hello.pid, version: hello.version, slots: hello.slots, at: now)
                )))
        actions.append(
            .send(
                to: id,
                .welcome(
                    Welcome(
                        workerID: id.description, heartbeatInterval: config.heartbeatInterval, liveness: config.liveness,
                        maxMessageBytes: config.limits.maxMessageBytes, blobChunkBytes: config.blobChunkBytes,
                        epoch: config.epoch, batches: true))))
        actions.append(
            .log(
                LogEntry(
                    .info, "worker joined with \(hello.slots) slots",
                    ["worker.id": id.description, "host": hello.host, "pid": String(hello.pid), "version": hello.version])))
        markReady(id)
        dispatch(now: now, into: &actions)
        return actions
    }

    public mutating func heartbeat(from id: PeerID, running: [TaskAttempt], now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        guard workers[id] != nil else {
            return [.send(to: id, .reconnect(reason: "unknown worker: say hello"))]
        }
        workers[id]!.lastSeen = now
        var actions: [CoordinatorAction] = []
        let held = Set(running)
        // Leases the worker does not know about, old enough that the assignment cannot
        // still be in flight, were lost on the way: re-queue them (not a failure).
        for lease in workers[id]!.leases where !held.contains(lease) {
            guard let at = active[lease.task]?.lease?.at, now - at > config.grace else { continue }
            counters.lostAssignments += 1
            actions.append(
                .log(
                    LogEntry(
                        .warning, "assignment lost in transit; re-queued",
                        ["worker.id": id.description, "task.id": lease.description])))
            removeLease(lease, from: id)
            endLease(lease, worker: id, error: nil, countsAsFailure: false, now: now, into: &actions)
        }
        // Tasks it holds that are not its leases are stale copies: cancel them.
        let leases = workers[id]!.leases
        for attempt in running where !leases.contains(attempt) {
            actions.append(.send(to: id, .cancel(attempt)))
        }
        if !actions.isEmpty { dispatch(now: now, into: &actions) }
        return actions
    }

    public mutating func result(from id: PeerID, _ attempt: TaskAttempt, payload: [UInt8], now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        touch(id, now)
        var actions: [CoordinatorAction] = []
        let task = attempt.task
        guard let phase = runs[task.run]?.phase, !phase.isFinished else {
            counters.stale += 1
            actions.append(.send(to: id, .ack(attempt)))
            return actions
        }
        guard task.index < runs[task.run]!.nextIndex else {
            counters.stale += 1
            actions.append(
                .log(
                    LogEntry(
                        .warning, "result for a task never handed out; ignored",
                        ["worker.id": id.description, "task.id": attempt.description])))
            actions.append(.send(to: id, .ack(attempt)))
            return actions
        }
        guard let entry = active[task] else {
            counters.duplicates += 1
            actions.append(
                .log(LogEntry(.debug, "duplicate result ignored", ["worker.id": id.description, "task.id": attempt.description])))
            actions.append(.send(to: id, .ack(attempt)))
            return actions
        }
        guard attempt.attempt <= entry.attempts else {
            counters.stale += 1
            actions.append(
                .log(
                    LogEntry(
                        .warning, "result for an attempt never issued; ignored",
                        ["worker.id": id.description, "task.id": attempt.description])))
            actions.append(.send(to: id, .ack(attempt)))
            return actions
        }
        // The first valid result wins.
        var finished = entry
        actions += refundLoss(of: attempt, &finished, worker: id, now: now)
        active[task] = nil
        if let lease = entry.lease {
            let leased = TaskAttempt(task, attempt: lease.attempt)
            removeLease(leased, from: lease.worker)
            runs[task.run]!.leased -= 1
            if lease.worker != id || lease.attempt != attempt.attempt {
                actions.append(.send(to: lease.worker, .cancel(leased)))
            }
        }
        runs[task.run]!.done += 1
        tasksDone += 1
        runs[task.run]!.rate.record(now)
        rate.record(now)
        counters.results += 1
        actions.append(.journal(.complete(attempt, worker: id.description, payload: payload, at: now)))
        actions.append(.send(to: id, .ack(attempt)))
        finishIfComplete(task.run, now: now, into: &actions)
        dispatch(now: now, into: &actions)
        return actions
    }

    public mutating func failure(from id: PeerID, _ attempt: TaskAttempt, error: String, now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        touch(id, now)
        var actions: [CoordinatorAction] = []
        guard let entry = active[attempt.task], let lease = entry.lease, lease.worker == id, lease.attempt == attempt.attempt,
            runs[attempt.task.run]?.phase.isFinished == false
        else {
            counters.stale += 1
            actions.append(
                .log(
                    LogEntry(
                        .debug, "failure for a stale attempt ignored",
                        ["worker.id": id.description, "task.id": attempt.description])))
            actions.append(.send(to: id, .ack(attempt)))
            return actions
        }
        removeLease(attempt, from: id)
        endLease(attempt, worker: id, error: truncated(error), countsAsFailure: true, now: now, into: &actions)
        actions.append(.send(to: id, .ack(attempt)))
        dispatch(now: now, into: &actions)
        return actions
    }

    public mutating func progress(from id: PeerID, _ attempt: TaskAttempt, report: JSON, now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        touch(id, now)
        guard let lease = active[attempt.task]?.lease, lease.worker == id, lease.attempt == attempt.attempt,
            let run = runs[attempt.task.run], !run.phase.isFinished
        else {
            counters.stale += 1
            return [.send(to: id, .cancel(attempt))]
        }
        return [.progress(ProgressReport(task: attempt, kind: run.record.kind, worker: id, report: report, time: now))]
    }

    /// Answers a progress report: sent to the worker holding the attempt, if it still does.
    public mutating func decide(_ attempt: TaskAttempt, _ decision: Decision, now: Double) -> [CoordinatorAction] {
        guard let lease = active[attempt.task]?.lease, lease.attempt == attempt.attempt else {
            return [.log(LogEntry(.debug, "decision for an attempt no longer leased dropped", ["task.id": attempt.description]))]
        }
        var actions: [CoordinatorAction] = []
        send(.decision(attempt, decision), to: lease.worker, now: now, into: &actions)
        return actions
    }

    public mutating func blobRequest(from id: PeerID, _ hash: BlobHash, offset: Int, now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        guard workers[id] != nil else { return [.send(to: id, .reconnect(reason: "unknown worker: say hello"))] }
        touch(id, now)
        workers[id]!.lastSent = now
        guard knownBlobs.contains(hash) else {
            return [
                .log(LogEntry(.warning, "worker asked for an unknown blob", ["worker.id": id.description, "blob": hash.short])),
                .send(to: id, .blobMissing(hash)),
            ]
        }
        return [.serveBlob(to: id, hash, offset: offset, maxBytes: config.blobChunkBytes)]
    }

    public mutating func goodbye(from id: PeerID, returning: [TaskAttempt], now: Double) -> [CoordinatorAction] {
        counters.messagesIn += 1
        guard workers[id] != nil else { return [] }
        var actions: [CoordinatorAction] = []
        removeWorker(id, reason: "said goodbye", countsAsFailure: false, now: now, into: &actions)
        dispatch(now: now, into: &actions)
        return actions
    }

    /// Time passes: declares silent workers lost (their tasks re-queued, each loss
    /// counting as a failed attempt) and sends heartbeats to workers that have had no
    /// message for an interval. Call it at least every `heartbeatInterval / 2`.
    public mutating func tick(now: Double) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = []
        expireDeadlines(now: now, into: &actions)
        cancelAbandoned(now: now, into: &actions)
        let ids = workers.keys.sorted()
        for id in ids {
            let worker = workers[id]!
            let silence = now - worker.lastSeen
            if silence > config.silenceLimit {
                counters.lostWorkers += 1
                let reason = "worker \(id) lost: silent for \(formatSeconds(silence)) (\(config.liveness) heartbeat intervals)"
                actions.append(
                    .log(LogEntry(.warning, reason, ["worker.id": id.description, "tasks": String(worker.leases.count)])))
                removeWorker(id, reason: reason, countsAsFailure: true, now: now, into: &actions)
            } else if now - worker.lastSent >= config.heartbeatInterval {
                send(.heartbeat, to: id, now: now, into: &actions)
            }
        }
        dispatch(now: now, into: &actions)
        return actions
    }

    /// Tells every worker to exit (a graceful coordinator shutdown).
    public mutating func shutdown(reason: String, now: Double) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = []
        for id in workers.keys.sorted() { send(.shutdown(reason: reason), to: id, now: now, into: &actions) }
        return actions
    }

    // MARK: - Client events

    public mutating func submit(from client: PeerID, _ submission: RunSubmission, now: Double) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = []
        if let unknown = submission.blobs.first(where: { !knownBlobs.contains($0) }) {
            return [.reply(to: client, .error("unknown blob \(unknown): upload it with PUTBLOB before submitting the run"))]
        }
        let spec = BlobHash(of: submission.spec)
        // The same unfinished run submitted again (a client retrying after a restart) resumes it.
        if let existing = dispatchOrder.first(where: { id in
            let record = runs[id]!.record
            return record.kind == submission.kind && record.spec == spec && record.taskCount == submission.taskCount
        }) {
            heardFromClient(about: existing, now: now)
            actions.append(.log(LogEntry(.info, "submission resumes an unfinished run", ["run.id": existing.description])))
            actions.append(.reply(to: client, .submitted(run: existing, resumed: true)))
            return actions
        }
        if !knownBlobs.contains(spec) {
            knownBlobs.insert(spec)
            actions.append(.journal(.storeBlob(spec, submission.spec)))
        }
        let id = RunID(nextRunID)
        nextRunID += 1
        let record = RunRecord(
            id: id, kind: submission.kind, label: submission.label, spec: spec, taskCount: submission.taskCount,
            payload: submission.payload, blobs: submission.blobs, maxAttempts: submission.maxAttempts ?? config.maxAttempts,
            createdAt: now)
        runs[id] = Run(
            record: record, phase: .dispatching, nextIndex: 0, rate: RateWindow(window: config.throughputWindow, start: now),
            lastClient: now)
        dispatchOrder.append(id)
        actions.append(.journal(.createRun(record)))
        actions.append(.reply(to: client, .submitted(run: id, resumed: false)))
        actions.append(
            .log(
                LogEntry(
                    .info, "run submitted: \(record.taskCount) \(record.kind) tasks",
                    ["run.id": id.description, "label": record.label])))
        finishIfComplete(id, now: now, into: &actions)
        dispatch(now: now, into: &actions)
        return actions
    }

    public mutating func putBlob(from client: PeerID, _ bytes: [UInt8], now: Double) -> [CoordinatorAction] {
        let hash = BlobHash(of: bytes)
        var actions: [CoordinatorAction] = []
        if !knownBlobs.contains(hash) {
            knownBlobs.insert(hash)
            actions.append(.journal(.storeBlob(hash, bytes)))
        }
        actions.append(.reply(to: client, .blobStored(hash, size: bytes.count)))
        return actions
    }

    public mutating func resultsRequest(from client: PeerID, run: RunID, from index: Int, limit: Int) -> [CoordinatorAction] {
        [.serveResults(to: client, run: run, from: index, limit: min(max(limit, 1), config.maxResultsPerPage))]
    }

    public mutating func cancel(_ id: RunID, from client: PeerID, now: Double) -> [CoordinatorAction] {
        guard let run = runs[id] else { return [.reply(to: client, .error("no run \(id) is known to the coordinator"))] }
        guard !run.phase.isFinished else {
            return [.reply(to: client, .error("run \(id) is already \(run.phase.rawValue)"))]
        }
        var actions: [CoordinatorAction] = []
        cancelRun(id, now: now, into: &actions)
        actions.append(.reply(to: client, .cancelled(run: id)))
        dispatch(now: now, into: &actions)
        return actions
    }

    /// Cancels an unfinished run: `CANCEL` for every lease, its unfinished tasks dropped
    /// (the journal marks their rows cancelled), its phase `cancelled`.
    private mutating func cancelRun(_ id: RunID, now: Double, into actions: inout [CoordinatorAction]) {
        guard let run = runs[id], !run.phase.isFinished else { return }
        // O(tasks in flight): only active tasks are in memory.
        let tasks = active.keys.filter { $0.run == id }.sorted()
        for task in tasks {
            if let lease = active[task]?.lease {
                let leased = TaskAttempt(task, attempt: lease.attempt)
                removeLease(leased, from: lease.worker)
                send(.cancel(leased), to: lease.worker, now: now, into: &actions)
            }
            active[task] = nil
        }
        tasksCancelled += run.remaining
        runs[id]!.leased = 0
        runs[id]!.retry.removeAll()
        finish(id, .cancelled, now: now, into: &actions)
    }

    /// A client asked about `run`: it is not abandoned.
    private mutating func heardFromClient(about run: RunID, now: Double) {
        if runs[run] != nil { runs[run]!.lastClient = now }
    }

    /// Cancels the unfinished runs no client has asked about for `config.abandonAfter`.
    private mutating func cancelAbandoned(now: Double, into actions: inout [CoordinatorAction]) {
        let limit = config.abandonAfter
        guard limit.isFinite else { return }
        for id in dispatchOrder {
            guard let run = runs[id], !run.phase.isFinished, now - run.lastClient > limit else { continue }
            actions.append(
                .log(
                    LogEntry(
                        .warning,
                        "run cancelled: no client asked about it for \(formatSeconds(now - run.lastClient)) "
                            + "(abandoned after \(formatSeconds(limit))); \(run.done) done, \(run.remaining) not finished",
                        ["run.id": id.description, "label": run.record.label])))
            cancelRun(id, now: now, into: &actions)
        }
    }

    // MARK: - Recovery

    /// Starts from what the journal kept. Call once, before any other event.
    public mutating func recovered(from snapshot: JournalSnapshot, now: Double) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = [.journal(.coordinatorStarted(at: now))]
        nextRunID = max(nextRunID, snapshot.nextRunID.rawValue)
        knownBlobs.formUnion(snapshot.blobs)
        for record in snapshot.recentFailures.prefix(config.recentFailureLimit).reversed() { failures.append(record) }
        for recovered in snapshot.runs.sorted(by: { $0.record.id < $1.record.id }) {
            let id = recovered.record.id
            nextRunID = max(nextRunID, id.rawValue + 1)
            var run = Run(
                record: recovered.record, phase: .dispatching, nextIndex: min(recovered.generated, recovered.record.taskCount),
                rate: RateWindow(window: config.throughputWindow, start: now), lastClient: now)
            run.done = recovered.done
            run.failed = recovered.failed
            for pending in recovered.pending.sorted(by: { $0.index < $1.index }) where pending.index < run.nextIndex {
                let task = TaskID(run: id, index: pending.index)
                active[task] = ActiveTask(
                    attempts: pending.attempts, failures: pending.failures, lease: nil, lastError: pending.lastError)
                run.retry.append(pending.index)
            }
            runs[id] = run
            dispatchOrder.append(id)
            actions.append(
                .log(
                    LogEntry(
                        .info,
                        "recovered run: \(run.done) done, \(run.failed) failed, \(recovered.pending.count) re-queued, \(run.record.taskCount - run.nextIndex) not yet started",
                        ["run.id": id.description])))
            finishIfComplete(id, now: now, into: &actions)
            updatePhase(id, now: now, into: &actions)
        }
        return actions
    }

    // MARK: - Status

    public func status(now: Double) -> ClusterStatus {
        let workerList = workers.values.sorted { $0.id < $1.id }.map { w in
            WorkerStatus(
                id: w.id.description, host: w.hello.host, pid: w.hello.pid, version: w.hello.version, slots: w.hello.slots,
                prefetch: w.hello.prefetch, running: w.leases, lastHeartbeat: w.lastSeen, connectedAt: w.connectedAt)
        }
        var runList: [RunStatus] = []
        var remaining = 0
        for id in dispatchOrder + finishedOrder.elements.reversed() {
            guard let run = runs[id] else { continue }
            let throughput = run.rate.rate(now)
            let left = run.remaining
            if !run.phase.isFinished { remaining += left }
            runList.append(
                RunStatus(
                    id: id, kind: run.record.kind, label: run.record.label, phase: run.phase, taskCount: run.record.taskCount,
                    queued: left - run.leased, leased: run.leased, done: run.done, failed: run.failed, throughput: throughput,
                    eta: run.phase.isFinished || throughput <= 0 ? nil : Double(left) / throughput,
                    createdAt: run.record.createdAt, finishedAt: run.finishedAt))
        }
        let throughput = rate.rate(now)
        return ClusterStatus(
            source: .coordinator, time: now, workers: workerList, runs: runList, throughput: throughput,
            window: config.throughputWindow, eta: remaining == 0 ? nil : (throughput > 0 ? Double(remaining) / throughput : nil),
            counters: counters, recentFailures: failures.elements.reversed())
    }

    /// The figures a metrics exporter publishes, O(runs + workers): cheap enough to take
    /// once per turn of the coordinator's loop.
    public func totals(now: Double) -> CoordinatorTotals {
        var totals = CoordinatorTotals()
        for id in dispatchOrder {
            let run = runs[id]!
            totals.tasksQueued += max(0, run.remaining - run.leased)
            totals.tasksRunning += run.leased
        }
        totals.runsActive = dispatchOrder.count
        totals.workers = workers.count
        for worker in workers.values { totals.slots += worker.hello.slots }
        totals.tasksDone = tasksDone
        totals.tasksFailed = tasksFailed
        totals.tasksCancelled = tasksCancelled
        totals.messagesIn = counters.messagesIn
        totals.throughput = rate.rate(now)
        return totals
    }

    /// Sizes of the in-memory structures, to check that memory follows slots, not tasks.
    public struct Footprint: Sendable, Hashable {
        /// Tasks handed out and unfinished (leased or waiting for a retry).
        public var activeTasks: Int
        /// Entries in the runs' retry queues (including stale ones not yet popped).
        public var retryQueued: Int
        /// Allocated retry-queue slots.
        public var retryCapacity: Int
        public var readyWorkers: Int
        public var workers: Int
        public var runs: Int
        public var leases: Int
    }

    public var footprint: Footprint {
        Footprint(
            activeTasks: active.count, retryQueued: runs.values.reduce(0) { $0 + $1.retry.count },
            retryCapacity: runs.values.reduce(0) { $0 + $1.retry.capacity }, readyWorkers: ready.count, workers: workers.count,
            runs: runs.count, leases: workers.values.reduce(0) { $0 + $1.leases.count })
    }

    /// The total credit (slots + prefetch) of the connected workers.
    public var totalCredit: Int { workers.values.reduce(0) { $0 + $1.credit } }

    /// The current phase of a run, if the coordinator remembers it.
    public func phase(of run: RunID) -> RunPhase? { runs[run]?.phase }

    /// The attempts currently leased to a worker.
    public func leases(of worker: PeerID) -> [TaskAttempt] { workers[worker]?.leases ?? [] }

    /// Whether the worker said in its hello that it reads `ASSIGNBATCH` and `ACKBATCH`.
    public func readsBatches(_ worker: PeerID) -> Bool { workers[worker]?.hello.batches ?? false }

    public var knownWorkers: [PeerID] { workers.keys.sorted() }

    // MARK: - Internals

    private mutating func touch(_ id: PeerID, _ now: Double) {
        if workers[id] != nil { workers[id]!.lastSeen = now }
    }

    private mutating func send(_ message: CoordinatorMessage, to id: PeerID, now: Double, into actions: inout [CoordinatorAction])
    {
        if workers[id] != nil { workers[id]!.lastSent = now }
        actions.append(.send(to: id, message))
    }

    private mutating func markReady(_ id: PeerID) {
        guard let worker = workers[id], worker.readyToken == nil, worker.leases.count < worker.credit else { return }
        nextReadyToken += 1
        workers[id]!.readyToken = nextReadyToken
        ready.append(ReadyEntry(worker: id, token: nextReadyToken))
    }

    /// Drops an attempt from its worker's lease list and frees the slot.
    private mutating func removeLease(_ attempt: TaskAttempt, from id: PeerID) {
        guard workers[id] != nil, let position = workers[id]!.leases.firstIndex(of: attempt) else { return }
        workers[id]!.leases.remove(at: position)
        markReady(id)
    }

    /// Ends the current lease of `attempt.task` without a result: back to the retry
    /// queue, or failed when a counted failure exhausts the attempts. The caller has
    /// already removed the lease from the worker's list.
    private mutating func endLease(
        _ attempt: TaskAttempt, worker: PeerID, error: String?, countsAsFailure: Bool, now: Double,
        into actions: inout [CoordinatorAction]
    ) {
        let task = attempt.task
        guard var entry = active[task], let lease = entry.lease, lease.attempt == attempt.attempt,
            let maxAttempts = runs[task.run]?.record.maxAttempts
        else {
            return
        }
        entry.lease = nil
        runs[task.run]!.leased -= 1
        let error = error ?? "lease returned"
        if countsAsFailure {
            entry.failures += 1
            entry.lastError = error
            counters.failures += 1
            let final = entry.failures >= maxAttempts
            recordFailure(FailureRecord(task: attempt, worker: worker.description, error: error, time: now, final: final))
        }
        let metadata = ["task.id": attempt.description, "worker.id": worker.description]
        if countsAsFailure && entry.failures >= maxAttempts {
            active[task] = nil
            runs[task.run]!.failed += 1
            tasksFailed += 1
            runs[task.run]!.rate.record(now)
            rate.record(now)
            actions.append(.journal(.fail(attempt, failures: entry.failures, error: error, worker: worker.description, at: now)))
            actions.append(.log(LogEntry(.warning, "task failed after \(entry.failures) attempts: \(error)", metadata)))
            finishIfComplete(task.run, now: now, into: &actions)
        } else {
            active[task] = entry
            runs[task.run]!.retry.append(task.index)
            if countsAsFailure {
                counters.retries += 1
                actions.append(.log(LogEntry(.info, "attempt failed, will retry: \(error)", metadata)))
            }
            actions.append(
                .journal(.requeue(task, failures: entry.failures, error: countsAsFailure ? error : entry.lastError, at: now)))
            updatePhase(task.run, now: now, into: &actions)
        }
    }

    /// When a lease of `kind` made at `now` ends; keeps `earliestDeadline` a lower bound.
    private mutating func deadline(_ kind: String, _ now: Double) -> Double {
        let deadline = now + config.taskDeadline(for: kind)
        earliestDeadline = min(earliestDeadline, deadline)
        return deadline
    }

    /// Takes back every lease past its deadline: re-queued as a failed attempt (or failed
    /// for good at the attempt limit), and the worker told to drop it with `CANCEL`.
    private mutating func expireDeadlines(now: Double, into actions: inout [CoordinatorAction]) {
        guard now > earliestDeadline else { return }
        var next = Double.infinity
        var overdue: [(attempt: TaskAttempt, worker: PeerID, lease: Lease)] = []
        for id in workers.keys.sorted() {
            for attempt in workers[id]!.leases {
                guard let lease = active[attempt.task]?.lease, lease.attempt == attempt.attempt else { continue }
                if now > lease.deadline {
                    overdue.append((attempt, id, lease))
                } else {
                    next = min(next, lease.deadline)
                }
            }
        }
        earliestDeadline = next
        for (attempt, id, lease) in overdue {
            let kind = runs[attempt.task.run]?.record.kind ?? "?"
            let error =
                "attempt \(attempt) exceeded its deadline of \(formatSeconds(lease.deadline - lease.at))"
                + " (task kind \(kind)) on worker \(id)"
            counters.overdue += 1
            actions.append(.log(LogEntry(.warning, error, ["worker.id": id.description, "task.id": attempt.description])))
            removeLease(attempt, from: id)
            endLease(attempt, worker: id, error: error, countsAsFailure: true, now: now, into: &actions)
            active[attempt.task]?.overdueAttempt = attempt.attempt
            send(.cancel(attempt), to: id, now: now, into: &actions)
        }
    }

    private mutating func removeWorker(
        _ id: PeerID, reason: String, countsAsFailure: Bool, now: Double, into actions: inout [CoordinatorAction]
    ) {
        guard let worker = workers.removeValue(forKey: id) else { return }
        for lease in worker.leases {
            endLease(
                lease, worker: id, error: countsAsFailure ? reason : nil, countsAsFailure: countsAsFailure, now: now,
                into: &actions)
            // Still active: re-queued, not failed for good; the charge may be refunded.
            if countsAsFailure, active[lease.task] != nil { active[lease.task]!.lostAttempt = lease.attempt }
        }
        actions.append(.journal(.workerLeft(id.description, reason: reason, at: now)))
        if !countsAsFailure {
            actions.append(
                .log(
                    LogEntry(
                        .info, "worker left: \(reason)", ["worker.id": id.description, "returned": String(worker.leases.count)])))
        }
    }

    /// Gives back the failed attempt charged when `attempt`'s worker was declared lost,
    /// now that the attempt turned out alive (adopted, or its result accepted): the
    /// journal change and a log entry, or nothing when that attempt was not charged.
    private mutating func refundLoss(of attempt: TaskAttempt, _ entry: inout ActiveTask, worker: PeerID, now: Double)
        -> [CoordinatorAction]
    {
        guard entry.lostAttempt == attempt.attempt, entry.failures > 0 else { return [] }
        entry.lostAttempt = nil
        entry.failures -= 1
        counters.refunded += 1
        return [
            .journal(.refund(attempt, failures: entry.failures, at: now)),
            .log(
                LogEntry(
                    .info, "the attempt of a worker declared lost is alive after all: its failed attempt is refunded",
                    ["worker.id": worker.description, "task.id": attempt.description])),
        ]
    }

    private mutating func recordFailure(_ record: FailureRecord) {
        failures.append(record)
        while failures.count > config.recentFailureLimit { _ = failures.popFirst() }
    }

    /// Hands tasks to workers with free credit, one task per worker per turn, runs in turn.
    private mutating func dispatch(now: Double, into actions: inout [CoordinatorAction]) {
        while let head = ready.first {
            let id = head.worker
            // Scalars only: a copy of the worker would make the append below copy its lease list.
            guard workers[id]?.readyToken == head.token else {
                _ = ready.popFirst()
                continue
            }
            guard workers[id]!.leases.count < workers[id]!.credit else {
                _ = ready.popFirst()
                workers[id]!.readyToken = nil
                continue
            }
            guard let task = nextTask(now: now, into: &actions) else { return }
            _ = ready.popFirst()
            workers[id]!.readyToken = nil
            let attempts = active[task]!.attempts + 1
            let attempt = TaskAttempt(task, attempt: attempts)
            let record = runs[task.run]!.record
            active[task]!.attempts = attempts
            active[task]!.lease = Lease(worker: id, attempt: attempts, at: now, deadline: deadline(record.kind, now))
            runs[task.run]!.leased += 1
            workers[id]!.leases.append(attempt)
            workers[id]!.lastSent = now
            markReady(id)
            actions.append(.journal(.lease(attempt, worker: id.description, at: now)))
            actions.append(
                .send(
                    to: id,
                    .assign(
                        Assignment(
                            task: attempt, kind: record.kind, payload: record.payload, spec: record.spec, blobs: record.blobs))))
        }
    }

    /// The next task to hand out, going round the unfinished runs: retries first, then
    /// the next index of the run's cursor.
    private mutating func nextTask(now: Double, into actions: inout [CoordinatorAction]) -> TaskID? {
        var tries = dispatchOrder.count
        while tries > 0 {
            if dispatchCursor >= dispatchOrder.count { dispatchCursor = 0 }
            let id = dispatchOrder[dispatchCursor]
            dispatchCursor += 1
            tries -= 1
            while let index = runs[id]!.retry.popFirst() {
                let task = TaskID(run: id, index: index)
                if let entry = active[task], entry.lease == nil {
                    updatePhase(id, now: now, into: &actions)
                    return task
                }
            }
            let run = runs[id]!
            if run.nextIndex < run.record.taskCount {
                let task = TaskID(run: id, index: run.nextIndex)
                runs[id]!.nextIndex += 1
                active[task] = ActiveTask(attempts: 0, failures: 0, lease: nil, lastError: nil)
                updatePhase(id, now: now, into: &actions)
                return task
            }
            updatePhase(id, now: now, into: &actions)
        }
        return nil
    }

    /// dispatching ⇄ draining, journaled when it changes.
    private mutating func updatePhase(_ id: RunID, now: Double, into actions: inout [CoordinatorAction]) {
        guard let run = runs[id], !run.phase.isFinished else { return }
        let phase: RunPhase = run.nextIndex >= run.record.taskCount && !hasRetry(id) ? .draining : .dispatching
        guard phase != run.phase else { return }
        runs[id]!.phase = phase
        actions.append(.journal(.setPhase(id, phase, at: now)))
    }

    /// Whether the retry queue holds a task that still waits (stale entries are skipped).
    private func hasRetry(_ id: RunID) -> Bool {
        guard let run = runs[id], !run.retry.isEmpty else { return false }
        return run.retry.elements.contains { index in
            if let entry = active[TaskID(run: id, index: index)] { return entry.lease == nil }
            return false
        }
    }

    private mutating func finishIfComplete(_ id: RunID, now: Double, into actions: inout [CoordinatorAction]) {
        guard let run = runs[id], !run.phase.isFinished, run.done + run.failed >= run.record.taskCount else { return }
        finish(id, .completed, now: now, into: &actions)
    }

    private mutating func finish(_ id: RunID, _ phase: RunPhase, now: Double, into actions: inout [CoordinatorAction]) {
        guard var run = runs[id] else { return }
        run.phase = phase
        run.finishedAt = now
        run.retry.removeAll()
        runs[id] = run
        if let position = dispatchOrder.firstIndex(of: id) {
            dispatchOrder.remove(at: position)
            if dispatchCursor > position { dispatchCursor -= 1 }
        }
        actions.append(.journal(.setPhase(id, phase, at: now)))
        actions.append(
            .log(LogEntry(.notice, "run \(phase.rawValue): \(run.done) done, \(run.failed) failed", ["run.id": id.description])))
        finishedOrder.append(id)
        while finishedOrder.count > config.finishedRunsKept, let old = finishedOrder.popFirst() { runs[old] = nil }
    }

    private func truncated(_ error: String) -> String {
        guard error.utf8.count > config.maxErrorBytes else { return error }
        return String(decoding: error.utf8.prefix(config.maxErrorBytes), as: UTF8.self) + "…"
    }
}

func formatSeconds(_ seconds: Double) -> String {
    let tenths = (seconds * 10).rounded()
    return "\(Int(tenths) / 10).\(Int(tenths) % 10) s"
}
