// Journal epochs: a coordinator replaced by one on another (empty) journal numbers its
// runs from 1 again, so a worker's attempt `run 1 / 0 #1` from the old journal names
// another run in the new one. Reports and held attempts from another epoch must never
// be accepted there; late results of the same epoch still win as before.

import Testing

@testable import ClusterCore

private func hello(running: [TaskAttempt] = [], epoch: String?, pid: Int = 2) -> Hello {
    Hello(slots: 1, host: "host", pid: pid, version: "test", running: running, epoch: epoch)
}

@Suite("Journal epochs")
struct EpochTests {
    /// A coordinator on journal "new" whose run's task 0 was leased (attempt 1) to `w1`,
    /// which then left: the task waits, queued, with attempt 1 as its latest.
    func coordinatorWithARequeuedTask() -> (Harness, RunID) {
        var h = Harness { $0.epoch = "new" }
        h.hello("w1", slots: 1)
        let run = h.submit(1, spec: "another rung")
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
        h.step { s, now in s.goodbye(from: PeerID("w1"), returning: [attempt(run, 0, 1)], now: now) }
        #expect(h.state.leases(of: PeerID("w1")).isEmpty)
        return (h, run)
    }

    @Test func theWelcomeSaysTheEpoch() {
        var h = Harness { $0.epoch = "new" }
        let actions = h.hello("w1", slots: 1)
        guard case .welcome(let welcome)? = sent(actions, to: "w1").first(where: { if case .welcome = $0 { true } else { false } })
        else {
            Issue.record("no welcome in \(actions)")
            return
        }
        #expect(welcome.epoch == "new")
    }

    @Test func aStaleResultFromAnotherJournalIsNotAcceptedIntoARunWithTheSameID() {
        var (h, run) = coordinatorWithARequeuedTask()
        h.hello("w2", slots: 1)  // takes the task: attempt 2
        #expect(h.state.leases(of: PeerID("w2")) == [attempt(run, 0, 2)])
        // w3 worked for the coordinator on the old journal: its result of old run 1, attempt 1.
        let stale = h.step { s, now in
            s.receive(.result(attempt(run, 0, 1), payload: Array("old".utf8), epoch: "old"), from: PeerID("w3"), now: now)
        }
        #expect(completes(stale).isEmpty)
        #expect(sent(stale, to: "w3") == [.ack(attempt(run, 0, 1))], "acknowledged, so that the worker forgets it")
        #expect(sent(stale, to: "w2").isEmpty, "the current attempt is not cancelled")
        let failure = h.step { s, now in
            s.receive(.failure(attempt(run, 0, 2), error: "old", epoch: "old"), from: PeerID("w2"), now: now)
        }
        #expect(sent(failure, to: "w2") == [.ack(attempt(run, 0, 2))])
        #expect(h.state.leases(of: PeerID("w2")) == [attempt(run, 0, 2)], "a failure from another journal ends no lease")
        #expect(h.state.status(now: h.now).counters.foreignEpoch == 2)
        #expect(h.state.status(now: h.now).runs.first?.done == 0)
        // The run's own result is accepted.
        let own = h.step { s, now in
            s.receive(.result(attempt(run, 0, 2), payload: Array("new".utf8), epoch: "new"), from: PeerID("w2"), now: now)
        }
        #expect(completes(own) == [attempt(run, 0, 2)])
        #expect(h.journal.results[TaskID(run: run, index: 0)] == Array("new".utf8))
    }

    @Test func aLateResultOfTheSameEpochStillWins() {
        var (h, run) = coordinatorWithARequeuedTask()
        h.hello("w2", slots: 1)
        #expect(h.state.leases(of: PeerID("w2")) == [attempt(run, 0, 2)])
        // Attempt 1, revoked meanwhile, finishes first: the first valid result wins.
        let late = h.step { s, now in
            s.receive(.result(attempt(run, 0, 1), payload: [1], epoch: "new"), from: PeerID("w1"), now: now)
        }
        #expect(completes(late) == [attempt(run, 0, 1)])
        #expect(sent(late, to: "w2") == [.cancel(attempt(run, 0, 2))])
        // So does one from a worker that names no epoch (older than epochs).
        var (h2, run2) = coordinatorWithARequeuedTask()
        let unnamed = h2.step { s, now in s.receive(.result(attempt(run2, 0, 1), payload: [1]), from: PeerID("w1"), now: now) }
        #expect(completes(unnamed) == [attempt(run2, 0, 1)])
        #expect(h2.state.status(now: h2.now).counters.foreignEpoch == 0)
    }

    @Test func attemptsHeldUnderAnotherEpochAreNotAdopted() {
        var (h, run) = coordinatorWithARequeuedTask()
        let foreign = h.step { s, now in
            s.workerHello(from: PeerID("w2"), hello(running: [attempt(run, 0, 1)], epoch: "old"), now: now)
        }
        #expect(sent(foreign, to: "w2").contains(.cancel(attempt(run, 0, 1))))
        #expect(journalChanges(foreign).contains(.lease(attempt(run, 0, 1), worker: "w2", at: h.now)) == false)
        // The task is handed out afresh instead (attempt 2), to the same worker: its slot is free.
        #expect(h.state.leases(of: PeerID("w2")) == [attempt(run, 0, 2)])
        #expect(h.state.status(now: h.now).counters.foreignEpoch == 1)

        // The same hello in this epoch is adopted, as before.
        var (h2, run2) = coordinatorWithARequeuedTask()
        let own = h2.step { s, now in
            s.workerHello(from: PeerID("w2"), hello(running: [attempt(run2, 0, 1)], epoch: "new"), now: now)
        }
        #expect(!sent(own, to: "w2").contains(.cancel(attempt(run2, 0, 1))))
        #expect(h2.state.leases(of: PeerID("w2")) == [attempt(run2, 0, 1)])
    }

    @Test func aWorkerAlreadyRegisteredKeepsNoLeaseWhenItsHelloNamesAnotherEpoch() {
        var h = Harness { $0.epoch = "new" }
        h.hello("w1", slots: 1)
        let run = h.submit(1, spec: "rung")
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
        // Same process, hello again, listing the attempt but under another epoch.
        let again = h.step { s, now in
            s.workerHello(from: PeerID("w1"), Hello(slots: 1, host: "host", pid: 1, version: "test",
                                                   running: [attempt(run, 0, 1)], epoch: "old"), now: now)
        }
        #expect(sent(again, to: "w1").contains(.cancel(attempt(run, 0, 1))))
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 2)])
    }
}

@Suite("Journal epochs on the worker")
struct WorkerEpochTests {
    static let spec = BlobHash(of: Array("spec".utf8))

    func assignment(_ index: Int) -> Assignment {
        Assignment(
            task: TaskAttempt(run: RunID(1), index: index, attempt: 1), kind: "noop", payload: .emptyObject, spec: Self.spec,
            blobs: [])
    }

    func welcome(_ epoch: String?) -> CoordinatorMessage {
        .welcome(Welcome(workerID: "w", heartbeatInterval: 1, liveness: 3, maxMessageBytes: 1 << 20, blobChunkBytes: 4,
                         epoch: epoch))
    }

    func sends(_ actions: [WorkerAction]) -> [WorkerMessage] {
        actions.compactMap { if case .send(let message) = $0 { return message } else { return nil } }
    }

    /// Welcomed under "old"; task 0 finished (its result unacknowledged), task 1 running,
    /// task 2 queued; then the coordinator went silent and the worker says hello again.
    func workerAfterLosingTheOldCoordinator() -> (WorkerState, Double) {
        var worker = WorkerState(config: WorkerConfig(slots: 2, host: "h", pid: 9, version: "v"), cachedBlobs: [Self.spec])
        _ = worker.start(now: 0)
        _ = worker.receive(welcome("old"), now: 0)
        for i in 0..<3 { _ = worker.receive(.assign(assignment(i)), now: 0) }
        let sent = sends(worker.taskFinished(assignment(0).task, .success([7]), now: 0.5))
        #expect(sent == [.result(assignment(0).task, payload: [7], epoch: "old")], "a result names its epoch")
        _ = worker.tick(now: 3.6)  // silent: back off
        guard case .backingOff(let until) = worker.connection else {
            Issue.record("expected a back-off, found \(worker.connection)")
            return (worker, 0)
        }
        let hello = sends(worker.tick(now: until))
        #expect(
            hello == [.hello(Hello(slots: 2, host: "h", pid: 9, version: "v", running: [assignment(1).task, assignment(2).task],
                                   epoch: "old", batches: true))], "the hello names the epoch of what it holds")
        return (worker, until)
    }

    @Test func aWelcomeNamingAnotherEpochDropsWhatTheWorkerHeld() {
        var (worker, now) = workerAfterLosingTheOldCoordinator()
        let actions = worker.receive(welcome("new"), now: now + 0.1)
        #expect(sends(actions).isEmpty, "nothing of the old journal is resent")
        #expect(actions.contains(.cancel(assignment(1).task)))
        #expect(worker.heldTasks.isEmpty)
        #expect(worker.unackedCount == 0)
        #expect(worker.running == 0)
        #expect(worker.epoch == "new")
        // Its slots serve the new coordinator, and what it reports names the new epoch.
        let assign = worker.receive(.assign(assignment(0)), now: now + 0.2)
        #expect(assign.contains(.start(assignment(0))))
        #expect(sends(worker.taskFinished(assignment(0).task, .failure("boom"), now: now + 0.3))
                == [.failure(assignment(0).task, error: "boom", epoch: "new")])
        // A late outcome of a dropped attempt is not reported.
        #expect(worker.taskFinished(assignment(1).task, .success([1]), now: now + 0.4).isEmpty)
    }

    @Test func aWelcomeOfTheSameEpochKeepsAndResendsEverything() {
        var (worker, now) = workerAfterLosingTheOldCoordinator()
        let actions = worker.receive(welcome("old"), now: now + 0.1)
        #expect(sends(actions) == [.result(assignment(0).task, payload: [7], epoch: "old")])
        #expect(worker.heldTasks == [assignment(1).task, assignment(2).task])
        #expect(!actions.contains(.cancel(assignment(1).task)))
    }

    @Test func aWelcomeWithoutAnEpochKeepsEverything() {
        var (worker, now) = workerAfterLosingTheOldCoordinator()
        let actions = worker.receive(welcome(nil), now: now + 0.1)
        #expect(sends(actions) == [.result(assignment(0).task, payload: [7], epoch: "old")])
        #expect(worker.heldTasks == [assignment(1).task, assignment(2).task])
    }
}

@Suite("Completed runs named again")
struct CompletedRunTests {
    @Test func aSubmissionOfWorkThatCompletedNamesTheRunOnlyWhenEveryTaskIsDone() {
        var h = Harness()
        h.hello("w1", slots: 2)
        let same = RunSubmission(kind: "noop", taskCount: 2, spec: Array("same".utf8))
        let run = h.submit(2, spec: "same")
        #expect(h.state.unfinishedRun(like: same) == run)
        #expect(h.state.completedRun(like: same) == nil, "not completed yet")
        h.complete(attempt(run, 0, 1), by: "w1")
        h.complete(attempt(run, 1, 1), by: "w1")
        #expect(h.state.unfinishedRun(like: same) == nil)
        #expect(h.state.completedRun(like: same) == run)
        #expect(h.state.completedRun(like: RunSubmission(kind: "noop", taskCount: 3, spec: Array("same".utf8))) == nil)
        #expect(h.state.completedRun(like: RunSubmission(kind: "noop", taskCount: 2, spec: Array("other".utf8))) == nil)

        // A run that completed with a failed task is not named: its work is not all there.
        let failing = h.submit(1, spec: "fails", maxAttempts: 1)
        h.fail(attempt(failing, 0, 1), by: "w1", error: "boom")
        #expect(h.state.status(now: h.now).runs.first { $0.id == failing }?.phase == .completed)
        #expect(h.state.completedRun(like: RunSubmission(kind: "noop", taskCount: 1, spec: Array("fails".utf8))) == nil)
    }
}
