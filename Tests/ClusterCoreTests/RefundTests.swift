// A worker declared lost that comes back with its attempt: the failed attempt charged
// for the loss is given back when the attempt is adopted or its result accepted, in
// memory and in the journal, so a few pauses cannot fail a task that never failed.

import Testing

@testable import ClusterCore

@Suite("Refunds of lost workers' attempts")
struct RefundTests {
    /// w1 holds task 0 and falls silent until it is declared lost (liveness 3 × 1 s).
    static func loseW1(_ h: inout Harness) {
        h.advance(3.5)
        h.tick()
        #expect(h.state.knownWorkers.isEmpty, "w1 lost")
    }

    static func failures(_ h: Harness, _ task: TaskID) -> Int? { h.state.active[task]?.failures }

    @Test func anAdoptedAttemptIsRefundedAndThreePausesDoNotFailTheTask() throws {
        var h = Harness { $0.heartbeatInterval = 1; $0.liveness = 3; $0.maxAttempts = 3 }
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        let task = TaskID(run: run, index: 0)
        for pause in 1...3 {
            Self.loseW1(&h)
            #expect(Self.failures(h, task) == 1, "pause \(pause): the loss is charged")
            #expect(h.journal.tasks[task]?.failures == 1)
            // w1 was only paused: it says hello again, still holding attempt 1.
            let back = h.hello("w1", slots: 1, running: [attempt(run, 0, 1)])
            #expect(journalChanges(back).contains(.refund(attempt(run, 0, 1), failures: 0, at: h.now)))
            #expect(assigned(back).isEmpty, "adopted, not re-run")
            #expect(h.state.leases(of: PeerID("w1")) == [attempt(run, 0, 1)])
            #expect(Self.failures(h, task) == 0, "pause \(pause): refunded")
            #expect(h.journal.tasks[task]?.failures == 0, "the journal agrees")
        }
        // Without refunds the third loss would have failed the task for good.
        #expect(h.state.phase(of: run) != .completed)
        let status = h.state.status(now: h.now)
        #expect(status.counters.refunded == 3)
        #expect(status.counters.lostWorkers == 3)
        #expect(completes(h.complete(attempt(run, 0, 1), by: "w1")) == [attempt(run, 0, 1)])
        #expect(h.state.phase(of: run) == .completed)
        #expect(h.journal.tasks[task]?.state == "done")
    }

    @Test func aRestartedCoordinatorCountsTheRefundedFailuresAsTheJournalHasThem() throws {
        var h = Harness { $0.heartbeatInterval = 1; $0.liveness = 3; $0.maxAttempts = 2 }
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        Self.loseW1(&h)
        h.hello("w1", slots: 1, running: [attempt(run, 0, 1)])
        // The coordinator dies; a new one recovers from the journal.
        let snapshot = h.journal.snapshot()
        #expect(snapshot.runs.first?.pending.first?.failures == 0)
        var fresh = Harness { $0.heartbeatInterval = 1; $0.liveness = 3; $0.maxAttempts = 2 }
        fresh.journal = h.journal
        fresh.now = h.now + 1
        fresh.step { s, now in s.recovered(from: snapshot, now: now) }
        #expect(Self.failures(fresh, TaskID(run: run, index: 0)) == 0)
        // With maxAttempts 2 the task still has two attempts to fail: one failure is not the end.
        fresh.hello("w2", slots: 1)
        let lease = try #require(fresh.state.leases(of: PeerID("w2")).first)
        fresh.fail(lease, by: "w2", error: "boom")
        #expect(fresh.state.status(now: fresh.now).runs.first?.failed == 0)
    }

    @Test func aLateResultOfTheLostAttemptIsRefundedBeforeItCompletes() {
        var h = Harness { $0.heartbeatInterval = 1; $0.liveness = 3 }
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        Self.loseW1(&h)
        // Nobody took the re-queued task; w1's result arrives (after its reconnect) and wins.
        let late = h.complete(attempt(run, 0, 1), by: "w1")
        let changes = journalChanges(late)
        let refund = changes.firstIndex(of: .refund(attempt(run, 0, 1), failures: 0, at: h.now))
        let complete = changes.firstIndex { if case .complete = $0 { return true } else { return false } }
        #expect(refund != nil && complete != nil && refund! < complete!, "\(changes)")
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.state == "done")
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.failures == 0)
        #expect(h.state.status(now: h.now).counters.refunded == 1)
    }

    @Test func aLostAttemptOvertakenByARetryIsNotAdoptedNorRefunded() {
        var h = Harness { $0.heartbeatInterval = 1; $0.liveness = 3 }
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        Self.loseW1(&h)
        h.hello("w2", slots: 1)
        #expect(h.state.leases(of: PeerID("w2")) == [attempt(run, 0, 2)])
        let back = h.hello("w1", slots: 1, running: [attempt(run, 0, 1)])
        #expect(sent(back, to: "w1").contains(.cancel(attempt(run, 0, 1))))
        #expect(!journalChanges(back).contains { if case .refund = $0 { return true } else { return false } })
        #expect(Self.failures(h, TaskID(run: run, index: 0)) == 1)
        #expect(h.state.status(now: h.now).counters.refunded == 0)
    }

    @Test func realFailuresAndDeadlinesAreNeverRefunded() {
        var h = Harness { $0.heartbeatInterval = 1; $0.liveness = 3 }
        let run = h.submit(1)
        h.hello("w1", slots: 1)
        // A failure report is a failure; the retry goes to w1 as attempt 2.
        let retried = h.fail(attempt(run, 0, 1), by: "w1", error: "boom")
        #expect(assigned(retried, to: "w1") == [attempt(run, 0, 2)])
        #expect(completes(h.complete(attempt(run, 0, 2), by: "w1")) == [attempt(run, 0, 2)])
        #expect(!journalChanges(h.all).contains { if case .refund = $0 { return true } else { return false } })
        #expect(h.journal.tasks[TaskID(run: run, index: 0)]?.failures == 1)
    }
}
