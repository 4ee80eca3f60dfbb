import DuetSupport
import Testing

@testable import ClusterCore

@Suite("Coordinator state machine")
struct CoordinatorStateTests {
    // MARK: Assignment

    @Test func assignsUpToSlotsAndNoMore() {
        var h = Harness()
        let run = h.submit(10)
        let first = h.hello("w1", slots: 2)
        #expect(assigned(first, to: "w1") == [attempt(run, 0, 1), attempt(run, 1, 1)])
        let second = h.hello("w2", slots: 3)
        #expect(assigned(second, to: "w2") == [attempt(run, 2, 1), attempt(run, 3, 1), attempt(run, 4, 1)])
        // Heartbeats and ticks hand out nothing more while every slot is busy.
        h.advance(0.5)
        #expect(assigned(h.heartbeat("w1")).isEmpty)
        #expect(assigned(h.tick()).isEmpty)
        #expect(h.state.footprint.leases == 5)
        // A result frees one slot, which is refilled at once.
        let refill = h.complete(attempt(run, 0, 1), by: "w1")
        #expect(assigned(refill, to: "w1") == [attempt(run, 5, 1)])
    }

    @Test func welcomeComesFirstAndCarriesTheTimings() {
        var h = Harness {
            $0.heartbeatInterval = 0.5; $0.liveness = 4
        }
        h.submit(3)
        let actions = h.hello("w1", slots: 1)
        let messages = sent(actions, to: "w1")
        guard case .welcome(let welcome) = messages.first else {
            Issue.record("first message was \(String(describing: messages.first))")
            return
        }
        #expect(welcome.heartbeatInterval == 0.5)
        #expect(welcome.liveness == 4)
        #expect(welcome.workerID == "w1")
        #expect(assigned(actions).count == 1)
    }

    @Test func prefetchAddsCreditBeyondSlots() {
        var h = Harness()
        h.submit(100)
        #expect(assigned(h.hello("w1", slots: 2, prefetch: 3)).count == 5)
        #expect(h.state.totalCredit == 5)
    }

    @Test func dispatchIsFairAcrossWorkersAndRuns() {
        var h = Harness()
        h.hello("w1", slots: 2)
        h.hello("w2", slots: 2)
        let a = h.submit(100, spec: "a")
        let order = assignments(h.all)
        #expect(order.map(\.worker) == ["w1", "w2", "w1", "w2"])
        // A second run gets every other freed slot.
        let b = h.submit(100, spec: "b")
        var runsServed: [RunID] = []
        for task in order.map(\.task) {
            runsServed += assigned(h.complete(task, by: task.task.index % 2 == 0 ? "w1" : "w2")).map(\.task.run)
        }
        #expect(runsServed == [b, a, b, a])
    }

    // MARK: Heartbeats and lost workers

    @Test func silentWorkerIsLostAndItsTasksRequeuedWithTheNextAttempt() {
        var h = Harness {
            $0.heartbeatInterval = 1; $0.liveness = 3
        }
        let run = h.submit(4)
        h.hello("w1", slots: 2)
        h.hello("w2", slots: 2)
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1), attempt(run, 1, 1)])
        // w2 keeps heartbeating; w1 falls silent.
        for _ in 0..<3 {
            h.advance(1)
            h.heartbeat("w2")
            #expect(h.state.knownWorkers.count == 2, "not lost before liveness × interval")
            h.tick()
        }
        h.advance(0.5)
        h.heartbeat("w2")
        let lost = h.tick()
        #expect(h.state.knownWorkers == [PeerID("w2")])
        #expect(h.state.status(now: h.now).counters.lostWorkers == 1)
        let requeued = journalChanges(lost).compactMap { change -> TaskID? in
            if case .requeue(let task, let failures, let error, _) = change {
                #expect(failures == 1)
                #expect(error?.contains("w1 lost") == true)
                return task
            }
            return nil
        }
        #expect(requeued == [TaskID(run: run, index: 0), TaskID(run: run, index: 1)])
        // w2 finishes its tasks; the freed slots take the re-queued ones as attempt 2.
        let next = h.complete(attempt(run, 2, 1), by: "w2")
        #expect(assigned(next, to: "w2") == [attempt(run, 0, 2)])
        #expect(assigned(h.complete(attempt(run, 3, 1), by: "w2"), to: "w2") == [attempt(run, 1, 2)])
    }

    @Test func coordinatorSendsHeartbeatsOnlyToIdleLinks() {
        var h = Harness { $0.heartbeatInterval = 1 }
        h.hello("w1", slots: 1)
        h.hello("w2", slots: 1)
        let run = h.submit(10)
        h.advance(0.6)
        // w2's result frees its slot and it gets an assignment (traffic) at t+0.6; w1 gets nothing.
        h.complete(attempt(run, 1, 1), by: "w2")
        h.advance(0.5)
        let tick = h.tick()
        #expect(sent(tick, to: "w1") == [.heartbeat], "nothing sent to w1 for 1.1 s")
        #expect(sent(tick, to: "w2").isEmpty, "w2 got an assignment 0.5 s ago")
    }

    @Test func lateResultFromLostWorkerIsAckedAndIgnored() {
        var h = Harness()
        let run = h.submit(2)
        h.hello("w1", slots: 1)
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
        h.advance(10)
        h.tick()  // w1 lost
        h.hello("w2", slots: 1)
        #expect(h.state.leases(of: PeerID("w2")) == [attempt(run, 0, 2)])
        h.complete(attempt(run, 0, 2), by: "w2", payload: [2])
        // The lost worker comes back with its old result.
        let late = h.complete(attempt(run, 0, 1), by: "w1", payload: [1])
        #expect(sent(late, to: "w1") == [.ack(attempt(run, 0, 1))])
        #expect(completes(late).isEmpty)
        #expect(h.journal.results[TaskID(run: run, index: 0)] == [2])
        #expect(h.state.status(now: h.now).counters.duplicates == 1)
        #expect(h.journal.duplicateInserts == 0)
    }

    @Test func resultFromRevokedLeaseWinsIfFirstAndCancelsTheNewAttempt() {
        var h = Harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.advance(10)
        h.tick()  // w1 lost, task 0 re-queued
        h.hello("w2", slots: 1)  // gets attempt 2
        let late = h.complete(attempt(run, 0, 1), by: "w1", payload: [1])
        #expect(completes(late) == [attempt(run, 0, 1)], "the first valid result wins")
        #expect(sent(late, to: "w2") == [.cancel(attempt(run, 0, 2))])
        #expect(h.state.leases(of: PeerID("w2")).isEmpty)
        #expect(h.state.phase(of: run) == .completed)
        // When attempt 2 reports anyway, it is a duplicate.
        let dup = h.complete(attempt(run, 0, 2), by: "w2", payload: [2])
        #expect(completes(dup).isEmpty)
        #expect(h.journal.results[TaskID(run: run, index: 0)] == [1])
    }

    @Test func duplicateResultsAreAckedAndCounted() {
        var h = Harness()
        let run = h.submit(3)
        h.hello("w1", slots: 1)
        let first = h.complete(attempt(run, 0, 1), by: "w1")
        #expect(completes(first) == [attempt(run, 0, 1)])
        for _ in 0..<3 {
            let again = h.complete(attempt(run, 0, 1), by: "w1")
            #expect(completes(again).isEmpty)
            #expect(sent(again, to: "w1") == [.ack(attempt(run, 0, 1))])
            #expect(assigned(again).isEmpty, "a duplicate frees no slot")
        }
        #expect(h.state.status(now: h.now).counters.duplicates == 3)
        #expect(h.journal.results.count == 1)
    }

    @Test func resultsForAttemptsOrTasksNeverIssuedAreIgnored() {
        var h = Harness()
        let run = h.submit(5)
        h.hello("w1", slots: 1)
        #expect(completes(h.complete(attempt(run, 0, 2), by: "w1")).isEmpty, "attempt 2 was never issued")
        #expect(completes(h.complete(attempt(run, 4, 1), by: "w1")).isEmpty, "index 4 was never handed out")
        #expect(completes(h.complete(attempt(RunID(99), 0, 1), by: "w1")).isEmpty, "unknown run")
        #expect(h.state.status(now: h.now).counters.stale == 3)
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
    }

    // MARK: Failures and retries

    @Test func failingTaskIsRetriedUpToTheLimitThenFailedAndTheRunGoesOn() {
        var h = Harness { $0.maxAttempts = 3 }
        let run = h.submit(3)
        h.hello("w1", slots: 1)
        // Task 0 fails three times; the retry queue puts it first again each time.
        for n in 1...3 {
            #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, n)])
            let actions = h.fail(attempt(run, 0, n), by: "w1", error: "boom \(n)")
            #expect(sent(actions, to: "w1").first == .ack(attempt(run, 0, n)))
        }
        #expect(
            h.journal.tasks[TaskID(run: run, index: 0)]
                == .init(state: "failed", attempts: 3, failures: 3, worker: "w1", error: "boom 3"))
        // The run goes on with the next tasks.
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 1, 1)])
        h.complete(attempt(run, 1, 1), by: "w1")
        h.complete(attempt(run, 2, 1), by: "w1")
        #expect(h.state.phase(of: run) == .completed)
        let status = h.state.status(now: h.now)
        #expect(status.runs.first?.done == 2)
        #expect(status.runs.first?.failed == 1)
        #expect(status.recentFailures.map(\.error) == ["boom 3", "boom 2", "boom 1"])
        #expect(status.recentFailures.map(\.final) == [true, false, false])
        #expect(status.counters.retries == 2)
    }

    @Test func perRunAttemptLimitOverridesTheDefault() {
        var h = Harness { $0.maxAttempts = 5 }
        let run = h.submit(1, maxAttempts: 1)
        h.hello("w1", slots: 1)
        h.fail(attempt(run, 0, 1), by: "w1", error: "once is enough")
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.state == "failed")
        #expect(h.state.phase(of: run) == .completed)
    }

    @Test func crashingWorkerCountsAsAFailedAttempt() {
        var h = Harness { $0.maxAttempts = 2 }
        let run = h.submit(1)
        for n in 1...2 {
            h.hello("w\(n)", slots: 1)
            h.advance(10)
            h.tick()
        }
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.state == "failed")
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.error?.contains("w2 lost") == true)
    }

    @Test func failureForStaleAttemptIsIgnored() {
        var h = Harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.advance(10)
        h.tick()
        h.hello("w2", slots: 1)
        let stale = h.fail(attempt(run, 0, 1), by: "w1", error: "late failure")
        #expect(journalChanges(stale).isEmpty)
        #expect(sent(stale, to: "w1") == [.ack(attempt(run, 0, 1))])
        #expect(h.state.leases(of: PeerID("w2")) == [attempt(run, 0, 2)])
    }

    @Test func longErrorTextsAreTruncated() {
        var h = Harness {
            $0.maxErrorBytes = 10; $0.maxAttempts = 1
        }
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.fail(attempt(run, 0, 1), by: "w1", error: String(repeating: "x", count: 1000))
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.error == String(repeating: "x", count: 10) + "…")
    }

    // MARK: Goodbye, hello again, lost assignments

    @Test func goodbyeReturnsTasksWithoutCountingFailures() {
        var h = Harness()
        let run = h.submit(2)
        h.hello("w1", slots: 2)
        let bye = h.step { s, now in s.goodbye(from: PeerID("w1"), returning: [attempt(run, 0, 1), attempt(run, 1, 1)], now: now)
        }
        #expect(journalChanges(bye).contains(.requeue(TaskID(run: run, index: 0), failures: 0, error: nil, at: h.now)))
        let next = h.hello("w2", slots: 2)
        #expect(assigned(next) == [attempt(run, 0, 2), attempt(run, 1, 2)])
        #expect(h.state.status(now: h.now).counters.failures == 0)
    }

    @Test func reconnectingWorkerKeepsWhatItStillHolds() {
        var h = Harness()
        let run = h.submit(10)
        h.hello("w1", slots: 2, pid: 7)
        // Same process says hello again holding only task 0: task 1 was lost in transit.
        let again = h.hello("w1", slots: 2, pid: 7, running: [attempt(run, 0, 1)])
        #expect(h.state.leases(of: PeerID("w1")).contains(attempt(run, 0, 1)))
        #expect(journalChanges(again).contains(.requeue(TaskID(run: run, index: 1), failures: 0, error: nil, at: h.now)))
        #expect(assigned(again) == [attempt(run, 1, 2)], "the lost one is re-queued first and re-leased")
    }

    @Test func restartedWorkerProcessCountsAsFailure() {
        var h = Harness()
        let run = h.submit(10)
        h.hello("w1", slots: 1, pid: 7)
        let restart = h.hello("w1", slots: 1, pid: 8)
        #expect(
            journalChanges(restart).contains { change in
                if case .requeue(TaskID(run: run, index: 0), failures: 1, error: let error?, at: _) = change {
                    return error.contains("restarted")
                }
                return false
            })
    }

    @Test func unknownWorkerIsToldToSayHello() {
        var h = Harness()
        let actions = h.heartbeat("ghost", running: [])
        #expect(sent(actions, to: "ghost") == [.reconnect(reason: "unknown worker: say hello")])
    }

    @Test func assignmentMissingFromHeartbeatsIsRequeuedAfterGrace() {
        var h = Harness {
            $0.heartbeatInterval = 1; $0.liveness = 3
        }
        let run = h.submit(5)
        h.hello("w1", slots: 1)
        // Within the grace period an assignment may still be in flight.
        h.advance(1)
        #expect(journalChanges(h.heartbeat("w1", running: [])).isEmpty)
        h.advance(2.5)
        let late = h.heartbeat("w1", running: [])
        #expect(journalChanges(late).first == .requeue(TaskID(run: run, index: 0), failures: 0, error: nil, at: h.now))
        #expect(assigned(late) == [attempt(run, 0, 2)])
        #expect(h.state.status(now: h.now).counters.lostAssignments == 1)
    }

    @Test func staleTaskInHeartbeatIsCancelled() {
        var h = Harness()
        let run = h.submit(5)
        h.hello("w1", slots: 1)
        let actions = h.heartbeat("w1", running: [attempt(run, 0, 1), attempt(run, 3, 7)])
        #expect(sent(actions, to: "w1") == [.cancel(attempt(run, 3, 7))])
    }

    // MARK: Runs

    @Test func cancelStopsLeasesAndTheOtherRunsGoOn() {
        var h = Harness()
        h.hello("w1", slots: 2)
        let a = h.submit(100, spec: "a")
        let b = h.submit(100, spec: "b")
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(a, 0, 1), attempt(a, 1, 1)])
        let cancel = h.step { s, now in s.cancel(a, from: PeerID("client"), now: now) }
        #expect(sent(cancel, to: "w1").prefix(2) == [.cancel(attempt(a, 0, 1)), .cancel(attempt(a, 1, 1))])
        #expect(assigned(cancel) == [attempt(b, 0, 1), attempt(b, 1, 1)])
        #expect(cancel.contains(.reply(to: PeerID("client"), .cancelled(run: a))))
        #expect(h.journal.runs[a]?.phase == .cancelled)
        // A late result for the cancelled run is acked and ignored.
        let late = h.complete(attempt(a, 0, 1), by: "w1")
        #expect(completes(late).isEmpty)
        #expect(sent(late, to: "w1") == [.ack(attempt(a, 0, 1))])
    }

    @Test func aRunNoClientAsksAboutIsCancelledAsAbandoned() {
        var h = Harness {
            $0.heartbeatInterval = 1; $0.liveness = 3; $0.abandonAfter = 60
        }
        h.hello("w1", slots: 1)
        let run = h.submit(10)
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
        // The client reads results at t = 30 s: the clock of abandonment restarts there.
        h.advance(30)
        h.heartbeat("w1")
        h.step { s, now in s.receive(.results(run: run, from: 0, limit: 10), from: PeerID("client"), now: now) }
        // 75 s after the submission but 45 s after the client last asked: still running.
        h.advance(45)
        h.heartbeat("w1")
        let kept = h.tick()
        #expect(!sent(kept, to: "w1").contains(.cancel(attempt(run, 0, 1))))
        #expect(h.state.phase(of: run) == .dispatching)
        // 61 s after the client last asked: cancelled, the lease taken back.
        h.advance(16)
        h.heartbeat("w1")
        let abandoned = h.tick()
        #expect(sent(abandoned, to: "w1").contains(.cancel(attempt(run, 0, 1))))
        #expect(h.state.phase(of: run) == .cancelled)
        #expect(h.journal.runs[run]?.phase == .cancelled)
        #expect(h.state.leases(of: PeerID("w1")).isEmpty)
        #expect(h.state.tasksCancelled == 10)
        #expect(h.state.tasksDone == 0)
    }

    @Test func resubmittingKeepsARunFromBeingAbandoned() {
        var h = Harness { $0.abandonAfter = 60 }
        let run = h.submit(3, spec: "same")
        h.advance(50)
        let again = h.submit(3, spec: "same")
        #expect(again == run)
        h.advance(50)
        h.tick()
        #expect(h.state.phase(of: run) == .dispatching)
        h.advance(11)
        h.tick()
        #expect(h.state.phase(of: run) == .cancelled)
    }

    @Test func resubmittingAnUnfinishedRunResumesIt() {
        var h = Harness()
        let first = h.submit(10, spec: "same")
        let again = h.step { s, now in
            s.submit(from: PeerID("c2"), RunSubmission(kind: "noop", taskCount: 10, spec: Array("same".utf8)), now: now)
        }
        #expect(
            again == [
                .log(LogEntry(.info, "submission resumes an unfinished run", ["run.id": first.description])),
                .reply(to: PeerID("c2"), .submitted(run: first, resumed: true)),
            ])
        #expect(h.submit(10, spec: "other") != first)
    }

    @Test func submitNamingAnUnknownBlobIsRefused() {
        var h = Harness()
        let hash = BlobHash(of: [1, 2, 3])
        let actions = h.step { s, now in
            s.submit(from: PeerID("c"), RunSubmission(kind: "noop", taskCount: 1, blobs: [hash], spec: []), now: now)
        }
        guard case .reply(_, .error(let message)) = actions.first else {
            Issue.record("expected an error reply, got \(actions)")
            return
        }
        #expect(message.contains(hash.hex))
        // After PUTBLOB it is accepted, and the assignment names the blob.
        h.step { s, now in s.putBlob(from: PeerID("c"), [1, 2, 3], now: now) }
        #expect(h.journal.blobs[hash] == [1, 2, 3])
        let ok = h.step { s, now in
            s.submit(from: PeerID("c"), RunSubmission(kind: "noop", taskCount: 1, blobs: [hash], spec: []), now: now)
        }
        #expect(ok.contains { if case .reply(_, .submitted) = $0 { return true } else { return false } })
        let hello = h.hello("w", slots: 1)
        guard case .send(_, .assign(let assignment)) = hello.last else {
            Issue.record("no assignment")
            return
        }
        #expect(assignment.blobs == [hash])
        #expect(assignment.spec == BlobHash(of: []))
    }

    @Test func emptyRunCompletesImmediately() {
        var h = Harness()
        let run = h.submit(0)
        #expect(h.state.phase(of: run) == .completed)
        #expect(h.journal.runs[run]?.phase == .completed)
    }

    @Test func phaseGoesFromDispatchingToDrainingToCompleted() {
        var h = Harness()
        let run = h.submit(3)
        #expect(h.state.phase(of: run) == .dispatching)
        h.hello("w1", slots: 3)
        #expect(h.state.phase(of: run) == .draining)
        for i in 0..<3 { h.complete(attempt(run, i, 1), by: "w1") }
        #expect(h.state.phase(of: run) == .completed)
        #expect(h.journal.runs[run]?.phase == .completed)
    }

    // MARK: Progress and decisions (room for ASHA)

    @Test func progressIsPassedOnAndDecisionsGoToTheHolder() {
        var h = Harness()
        let run = h.submit(2, kind: "trial")
        h.hello("w1", slots: 1)
        let report: JSON = ["epoch": 3, "loss": 0.25]
        let actions = h.step { s, now in s.progress(from: PeerID("w1"), attempt(run, 0, 1), report: report, now: now) }
        #expect(
            actions == [
                .progress(
                    ProgressReport(task: attempt(run, 0, 1), kind: "trial", worker: PeerID("w1"), report: report, time: h.now))
            ])
        let decision = h.step { s, now in s.decide(attempt(run, 0, 1), .stop, now: now) }
        #expect(sent(decision, to: "w1") == [.decision(attempt(run, 0, 1), .stop)])
        // Progress from an attempt that is not leased any more is answered with a cancel.
        let stale = h.step { s, now in s.progress(from: PeerID("w9"), attempt(run, 0, 1), report: report, now: now) }
        #expect(sent(stale, to: "w9") == [.cancel(attempt(run, 0, 1))])
    }

    // MARK: Blobs and client requests

    @Test func blobRequestsAreServedFromTheJournal() {
        var h = Harness { $0.blobChunkBytes = 1024 }
        let run = h.submit(1, spec: "the spec")
        _ = run
        h.hello("w1", slots: 1)
        let spec = BlobHash(of: Array("the spec".utf8))
        let serve = h.step { s, now in s.blobRequest(from: PeerID("w1"), spec, offset: 0, now: now) }
        #expect(serve == [.serveBlob(to: PeerID("w1"), spec, offset: 0, maxBytes: 1024)])
        let unknown = BlobHash(of: [9])
        let missing = h.step { s, now in s.blobRequest(from: PeerID("w1"), unknown, offset: 0, now: now) }
        #expect(sent(missing, to: "w1") == [.blobMissing(unknown)])
    }

    @Test func resultsRequestsArePagedWithinTheLimit() {
        var h = Harness { $0.maxResultsPerPage = 100 }
        let actions = h.step { s, _ in s.resultsRequest(from: PeerID("c"), run: RunID(1), from: 5, limit: 1_000_000) }
        #expect(actions == [.serveResults(to: PeerID("c"), run: RunID(1), from: 5, limit: 100)])
    }

    @Test func droppedMessagesAreCountedByKind() {
        var h = Harness()
        h.step { s, now in s.dropped(from: PeerID("x"), .unknownVersion("DUET/9"), now: now) }
        h.step { s, now in s.dropped(from: PeerID("x"), .oversized(part: "message", bytes: 10, limit: 5), now: now) }
        h.step { s, now in s.dropped(from: PeerID("x"), .malformed(type: "RESULT", field: "run", reason: "missing"), now: now) }
        h.step { s, now in s.dropped(from: PeerID("x"), .malformed(type: "RESULT", field: "run", reason: "missing"), now: now) }
        let counters = h.state.status(now: h.now).counters
        #expect(counters.dropped == ["unknownVersion": 1, "oversized": 1, "malformed": 2])
        #expect(counters.droppedTotal == 4)
    }

    // MARK: Status

    @Test func statusReportsWorkersTasksThroughputAndETA() throws {
        var h = Harness { $0.throughputWindow = 10 }
        let run = h.submit(100, label: "demo")
        h.hello("w1", slots: 2)
        // 20 results over 2 seconds: 10 per second.
        for i in 0..<20 {
            h.advance(0.1)
            h.complete(h.state.leases(of: PeerID("w1"))[0], by: "w1")
            _ = i
        }
        let status = h.state.status(now: h.now)
        #expect(status.workers.map(\.id) == ["w1"])
        #expect(status.workers[0].running.count == 2)
        let r = try #require(status.runs.first)
        #expect(r.id == run)
        #expect(r.label == "demo")
        #expect(r.done == 20)
        #expect(r.leased == 2)
        #expect(r.queued == 78)
        // Tolerance: the window's buckets are 1/30 of it, so the rate is known to a bucket.
        // Rates count whole buckets (1/30 of the window); the 20 results fall in 2 s since the run started.
        #expect(abs(status.throughput - 10) < 0.6)
        #expect(abs(r.throughput - 10) < 0.01)
        #expect(abs((r.eta ?? 0) - 8) < 0.01)
        #expect(status.currentRun?.id == run)
        // The JSON shape reads back to the same status.
        #expect(try ClusterStatus(json: status.json) == status)
    }

    // MARK: Recovery

    @Test func recoveryDoesNotRunFinishedTasksAgain() throws {
        var h = Harness()
        let run = h.submit(10)
        h.hello("w1", slots: 4)
        // Finish 0, 1, 3; 2 failed twice (one failure counted); leases out for 4, 5, 6.
        h.complete(attempt(run, 0, 1), by: "w1")
        h.complete(attempt(run, 1, 1), by: "w1")
        h.complete(attempt(run, 3, 1), by: "w1")
        h.fail(attempt(run, 2, 1), by: "w1", error: "flaky")
        #expect(
            Set(h.state.leases(of: PeerID("w1"))) == [
                attempt(run, 2, 2), attempt(run, 4, 1), attempt(run, 5, 1), attempt(run, 6, 1),
            ])

        // kill -9: only the journal survives.
        let snapshot = h.journal.snapshot()
        let recovered = try #require(snapshot.runs.first)
        #expect(recovered.generated == 7)
        #expect(recovered.done == 3)
        #expect(recovered.pending.map(\.index) == [2, 4, 5, 6])
        #expect(recovered.pending.first == PendingTask(index: 2, attempts: 2, failures: 1, lastError: "flaky"))

        var fresh = Harness()
        fresh.journal = h.journal
        fresh.now = h.now + 5
        fresh.step { s, now in s.recovered(from: snapshot, now: now) }
        let handed = assigned(fresh.hello("w2", slots: 10))
        #expect(
            handed == [
                attempt(run, 2, 3), attempt(run, 4, 2), attempt(run, 5, 2), attempt(run, 6, 2), attempt(run, 7, 1),
                attempt(run, 8, 1), attempt(run, 9, 1),
            ])
        // A late result for a finished task is a duplicate; the run completes with each result once.
        #expect(completes(fresh.complete(attempt(run, 0, 1), by: "w1")).isEmpty)
        for task in handed { fresh.complete(task, by: "w2") }
        #expect(fresh.state.phase(of: run) == .completed)
        #expect(fresh.journal.results.count == 10)
        #expect(fresh.journal.duplicateInserts == 0)
        // New runs continue the numbering.
        #expect(fresh.submit(1, spec: "next").rawValue == run.rawValue + 1)
    }

    @Test func recoveredWorkerResultsFromBeforeTheCrashAreAccepted() throws {
        var h = Harness()
        let run = h.submit(3)
        h.hello("w1", slots: 3)
        let snapshot = h.journal.snapshot()
        var fresh = Harness()
        fresh.journal = h.journal
        fresh.step { s, now in s.recovered(from: snapshot, now: now) }
        // The worker reconnects holding its three tasks: they are adopted, not re-run.
        let hello = fresh.hello("w1", slots: 3, running: [attempt(run, 0, 1), attempt(run, 1, 1), attempt(run, 2, 1)])
        #expect(assigned(hello).isEmpty)
        #expect(fresh.state.leases(of: PeerID("w1")).count == 3)
        for i in 0..<3 { #expect(completes(fresh.complete(attempt(run, i, 1), by: "w1")) == [attempt(run, i, 1)]) }
        #expect(fresh.state.phase(of: run) == .completed)
    }

    @Test func recoveryFinishesARunWhoseLastResultWasCommitted() {
        let record = RunRecord(
            id: RunID(4), kind: "noop", label: "", spec: BlobHash(of: []), taskCount: 2, payload: .emptyObject, blobs: [],
            maxAttempts: 3, createdAt: 0)
        var state = CoordinatorState()
        let actions = state.recovered(
            from: JournalSnapshot(
                runs: [RecoveredRun(record: record, generated: 2, done: 2, failed: 0, pending: [])], nextRunID: RunID(5),
                blobs: []),
            now: 10)
        #expect(journalChanges(actions).contains(.setPhase(RunID(4), .completed, at: 10)))
    }

    // MARK: Memory

    @Test func lazyGenerationKeepsMemoryBoundedForAMillionTasks() {
        var h = Harness()
        let run = h.submit(1_000_000)
        h.hello("w1", slots: 4, prefetch: 4)
        h.hello("w2", slots: 4, prefetch: 4)
        let credit = h.state.totalCredit
        var maxActive = 0
        var maxRetryCapacity = 0
        // Drive 20,000 tasks through, a few failing and retried, one worker lost midway.
        var finished = 0
        var step = 0
        while finished < 20_000 {
            step += 1
            h.advance(0.0001)
            for worker in ["w1", "w2"] {
                guard let lease = h.state.leases(of: PeerID(worker)).first else { continue }
                if lease.task.index % 997 == 0 && lease.attempt == 1 {
                    h.fail(lease, by: worker, error: "transient")
                } else {
                    h.complete(lease, by: worker, payload: [])
                    finished += 1
                }
            }
            let footprint = h.state.footprint
            maxActive = max(maxActive, footprint.activeTasks)
            maxRetryCapacity = max(maxRetryCapacity, footprint.retryCapacity)
            #expect(footprint.leases <= credit)
            if step % 5000 == 0 { h.heartbeat("w1"); h.heartbeat("w2") }
        }
        #expect(maxActive <= credit)
        #expect(maxRetryCapacity <= 8)
        #expect(h.state.footprint.runs == 1)
        let status = h.state.status(now: h.now)
        #expect(status.runs[0].done == finished)
        #expect(status.runs[0].queued + status.runs[0].leased + status.runs[0].done + status.runs[0].failed == 1_000_000)
        _ = run
    }
}

extension Harness {
    @discardableResult
    mutating func submit(_ count: Int, label: String) -> RunID {
        let actions = step { state, now in
            state.submit(from: PeerID("client"), RunSubmission(kind: "noop", taskCount: count, label: label, spec: []), now: now)
        }
        for case .reply(_, .submitted(let run, _)) in actions { return run }
        return RunID(0)
    }
}

/// Deadlines per task kind: a lease ends by its deadline however alive its worker is.
/// Time is injected; `noop` gets a 10 s deadline unless a test says otherwise.
@Suite("Coordinator task deadlines")
struct CoordinatorStateDeadlineTests {
    static func harness(_ configure: (inout CoordinatorConfig) -> Void = { _ in }) -> Harness {
        Harness {
            $0.taskDeadlines["noop"] = 10
            configure(&$0)
        }
    }

    func requeues(_ actions: [CoordinatorAction]) -> [(task: TaskID, failures: Int, error: String?)] {
        journalChanges(actions).compactMap { change in
            if case .requeue(let task, let failures, let error, _) = change { return (task, failures, error) }
            return nil
        }
    }

    @Test func expiryRequeuesAsAFailedAttemptCancelsItAndHandsItToAnotherWorker() throws {
        var h = Self.harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.hello("w2", slots: 1)
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
        h.advance(10)
        h.heartbeat("w1")
        h.heartbeat("w2")
        let atDeadline = h.tick()
        #expect(requeues(atDeadline).isEmpty, "not taken back at the deadline itself, only after it")
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
        h.advance(0.5)
        h.heartbeat("w1")
        h.heartbeat("w2")
        let expired = h.tick()
        #expect(sent(expired, to: "w1").contains(.cancel(attempt(run, 0, 1))), "the worker is told to drop the attempt")
        let requeued = try #require(requeues(expired).first)
        #expect(requeued.task == TaskID(run: run, index: 0))
        #expect(requeued.failures == 1)
        let error = try #require(requeued.error)
        #expect(error.contains("exceeded its deadline of 10.0 s"), "error: \(error)")
        #expect(error.contains("on worker w1"), "error: \(error)")
        #expect(error.contains("noop"), "error: \(error)")
        #expect(assigned(expired, to: "w2") == [attempt(run, 0, 2)], "the idle worker takes the retry")
        #expect(h.state.leases(of: PeerID("w1")).isEmpty)
        let status = h.state.status(now: h.now)
        #expect(status.counters.overdue == 1)
        #expect(status.counters.retries == 1)
        #expect(status.counters.failures == 1)
        #expect(status.recentFailures.first?.error == error)
        #expect(status.recentFailures.first?.worker == "w1")
        #expect(status.recentFailures.first?.final == false)
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.state == "leased")
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.failures == 1)
        // The CANCEL follows the re-queue in the batch (journal before the sends).
        let order = expired.compactMap { action -> String? in
            switch action {
            case .journal(.requeue): return "requeue"
            case .send(_, .cancel): return "cancel"
            default: return nil
            }
        }
        #expect(order == ["requeue", "cancel"])
    }

    @Test func heartbeatsAndResultsOfOtherTasksDoNotExtendTheDeadline() {
        var h = Self.harness()
        let run = h.submit(100)
        h.hello("w1", slots: 2)
        // Task 0 hangs; slot 2 keeps finishing tasks and the worker heartbeats every second.
        var other = attempt(run, 1, 1)
        for _ in 0..<10 {
            h.advance(1)
            h.heartbeat("w1")
            #expect(requeues(h.tick()).isEmpty)
            other = assigned(h.complete(other, by: "w1"), to: "w1")[0]
        }
        #expect(h.state.leases(of: PeerID("w1")).contains(attempt(run, 0, 1)))
        h.advance(0.1)
        let expired = h.tick()
        #expect(requeues(expired).map(\.task) == [TaskID(run: run, index: 0)])
        #expect(sent(expired, to: "w1").contains(.cancel(attempt(run, 0, 1))))
        // Only the hung task: the other lease is 0 s old.
        #expect(h.state.leases(of: PeerID("w1")).contains(other))
    }

    @Test func resultBeforeTheDeadlineIsUnaffected() {
        var h = Self.harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.advance(9.9)
        #expect(completes(h.complete(attempt(run, 0, 1), by: "w1")) == [attempt(run, 0, 1)])
        h.advance(100)
        let later = h.tick()
        #expect(requeues(later).isEmpty)
        #expect(!later.contains { if case .send(_, .cancel) = $0 { return true } else { return false } })
        #expect(h.state.phase(of: run) == .completed)
        #expect(h.state.status(now: h.now).counters.overdue == 0)
        #expect(h.state.status(now: h.now).counters.failures == 0)
    }

    @Test func lateResultOfTheDroppedAttemptWinsIfFirstAndIsNotDuplicated() {
        var h = Self.harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.hello("w2", slots: 1)
        h.advance(10.5)
        h.heartbeat("w1")
        h.heartbeat("w2")
        #expect(assigned(h.tick(), to: "w2") == [attempt(run, 0, 2)])
        // The dropped attempt finishes after all (before it saw the CANCEL): it was issued, so it wins.
        let late = h.complete(attempt(run, 0, 1), by: "w1", payload: [1])
        #expect(completes(late) == [attempt(run, 0, 1)])
        #expect(sent(late, to: "w1") == [.ack(attempt(run, 0, 1))])
        #expect(sent(late, to: "w2") == [.cancel(attempt(run, 0, 2))])
        #expect(h.state.phase(of: run) == .completed)
        let second = h.complete(attempt(run, 0, 2), by: "w2", payload: [2])
        #expect(completes(second).isEmpty)
        #expect(h.journal.results[TaskID(run: run, index: 0)] == [1])
        #expect(h.journal.duplicateInserts == 0)
        #expect(h.state.status(now: h.now).counters.stale == 1, "the run is completed, so the second result is stale")
    }

    @Test func lateResultOfTheDroppedAttemptAfterTheRetryWonIsIgnored() {
        var h = Self.harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.hello("w2", slots: 1)
        h.advance(10.5)
        h.heartbeat("w1")
        h.heartbeat("w2")
        h.tick()
        #expect(completes(h.complete(attempt(run, 0, 2), by: "w2", payload: [2])) == [attempt(run, 0, 2)])
        let late = h.complete(attempt(run, 0, 1), by: "w1", payload: [1])
        #expect(completes(late).isEmpty)
        #expect(sent(late, to: "w1") == [.ack(attempt(run, 0, 1))])
        #expect(h.journal.results[TaskID(run: run, index: 0)] == [2])
        #expect(h.journal.duplicateInserts == 0)
    }

    @Test func failureReportOfTheDroppedAttemptIsStale() {
        var h = Self.harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.advance(10.5)
        h.heartbeat("w1")
        #expect(assigned(h.tick(), to: "w1") == [attempt(run, 0, 2)], "the only worker's freed slot takes the retry")
        let stale = h.fail(attempt(run, 0, 1), by: "w1", error: "interrupted")
        #expect(requeues(stale).isEmpty)
        #expect(h.state.status(now: h.now).counters.failures == 1, "the deadline counted; the stale failure does not")
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 2)])
    }

    @Test func everyAttemptPastItsDeadlineCountsTowardsTheLimit() throws {
        var h = Self.harness { $0.maxAttempts = 3 }
        let run = h.submit(2)
        h.hello("w1", slots: 1)
        for n in 1...3 {
            #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, n)])
            h.advance(10.5)
            h.heartbeat("w1")
            h.tick()
            #expect(h.state.status(now: h.now).counters.failures == n)
        }
        let row = try #require(h.journal.tasks[TaskID(run: run, index: 0)])
        #expect(row.state == "failed")
        #expect(row.failures == 3)
        #expect(row.error?.contains("attempt \(attempt(run, 0, 3)) exceeded its deadline") == true, "\(row.error ?? "")")
        #expect(h.state.status(now: h.now).recentFailures.first?.final == true)
        // The run goes on with its next task.
        #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 1, 1)])
        h.complete(attempt(run, 1, 1), by: "w1")
        #expect(h.state.phase(of: run) == .completed)
    }

    @Test func deadlinesArePerKindWithADefaultAndInfinityForNone() {
        var h = Self.harness {
            $0.taskDeadlines["sweep-point"] = 100
            $0.taskDeadlines["train-trial"] = .infinity
            $0.defaultTaskDeadline = 50
        }
        let noop = h.submit(1, kind: "noop", spec: "a")
        let sweep = h.submit(1, kind: "sweep-point", spec: "b")
        let other = h.submit(1, kind: "custom", spec: "c")
        let training = h.submit(1, kind: "train-trial", spec: "d")
        h.hello("w1", slots: 4)
        func expiredRuns(after seconds: Double) -> Set<RunID> {
            h.advance(seconds)
            h.heartbeat("w1")
            return Set(requeues(h.tick()).map(\.task.run))
        }
        #expect(expiredRuns(after: 10.5) == [noop])
        // At 50.5 s: the default (50 s) ends; the noop retry (leased at 10.5 s) is past 10 s too.
        #expect(expiredRuns(after: 40) == [noop, other])
        // At 100.5 s: sweep-point's 100 s.
        #expect(expiredRuns(after: 50).contains(sweep))
        #expect(!expiredRuns(after: 1_000_000).contains(training), "no deadline for train-trial")
        #expect(h.state.leases(of: PeerID("w1")).contains(attempt(training, 0, 1)))
    }

    @Test func standardDeadlinesAreGenerous() {
        let config = CoordinatorConfig()
        #expect(config.taskDeadline(for: "train-trial") >= 12 * 3600)
        #expect(config.taskDeadline(for: "sweep-point") >= 3600)
        #expect(config.taskDeadline(for: "noop") >= 600)
        #expect(config.taskDeadline(for: "anything-else") >= 12 * 3600)
    }

    @Test(arguments: [
        ("train-trial=86400", "train-trial", 86400.0),
        ("noop=0.5", "noop", 0.5),
        ("sweep-point=none", "sweep-point", Double.infinity),
        ("*=7200", nil, 7200.0),
    ] as [(String, String?, Double)])
    func deadlineSettingsParse(_ text: String, _ kind: String?, _ seconds: Double) throws {
        let setting = try TaskDeadlineSetting(parsing: text)
        #expect(setting.kind == kind)
        #expect(setting.seconds == seconds)
        var config = CoordinatorConfig()
        setting.apply(to: &config)
        #expect(config.taskDeadline(for: kind ?? "some-other-kind") == seconds)
    }

    @Test(arguments: [
        ("noop", "expected KIND=SECONDS"),
        ("=60", "1-64 characters"),
        ("noop=0", "\"0\" is not a positive number of seconds or none"),
        ("noop=-5", "not a positive number"),
        ("noop=abc", "\"abc\" is not a positive number"),
        ("noop=inf", "not a positive number"),
        ("noop=", "not a positive number"),
    ])
    func badDeadlineSettingsSayWhatIsExpected(_ text: String, _ message: String) {
        do {
            let setting = try TaskDeadlineSetting(parsing: text)
            Issue.record("\(text) parsed as \(setting)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect("\(error)".contains(text), "the error names the setting: \(error)")
        }
    }

    @Test func anAttemptTakenBackIsNotAdoptedAgain() {
        var h = Self.harness { $0.heartbeatInterval = 1; $0.liveness = 3 }
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        // w1 heartbeats until 7.5 s, then falls silent: at 10.6 s the deadline and the silence end together.
        for _ in 0..<15 {
            h.advance(0.5)
            h.heartbeat("w1")
        }
        h.advance(3.1)
        h.tick()
        #expect(h.state.knownWorkers.isEmpty)
        let status = h.state.status(now: h.now)
        #expect(status.counters.overdue == 1)
        #expect(status.counters.failures == 1, "the deadline ended the lease; the loss has nothing left to count")
        // w1 comes back still holding attempt 1: it is dropped, and the task goes out as attempt 2.
        let back = h.hello("w1", slots: 1, running: [attempt(run, 0, 1)])
        #expect(sent(back, to: "w1").contains(.cancel(attempt(run, 0, 1))))
        #expect(assigned(back, to: "w1") == [attempt(run, 0, 2)])
    }

    @Test func leasesAdoptedAfterARestartGetAFreshDeadline() throws {
        var h = Self.harness()
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        h.advance(9)
        let snapshot = h.journal.snapshot()
        // The new coordinator's clock starts anywhere (a fresh monotonic base).
        var fresh = Self.harness()
        fresh.journal = h.journal
        fresh.now = 5
        fresh.step { s, now in s.recovered(from: snapshot, now: now) }
        let hello = fresh.hello("w1", slots: 1, running: [attempt(run, 0, 1)])
        #expect(assigned(hello).isEmpty, "adopted, not re-run")
        fresh.advance(10)
        fresh.heartbeat("w1")
        #expect(requeues(fresh.tick()).isEmpty, "10 s since the adoption: not yet")
        fresh.advance(0.5)
        fresh.heartbeat("w1")
        let expired = fresh.tick()
        #expect(requeues(expired).map(\.task) == [TaskID(run: run, index: 0)])
        #expect(sent(expired, to: "w1").contains(.cancel(attempt(run, 0, 1))))
    }
}
