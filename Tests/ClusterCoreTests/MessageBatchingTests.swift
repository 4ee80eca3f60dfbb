import DuetSupport
import Testing

@testable import ClusterCore

private let spec = BlobHash(of: Array("spec".utf8))
private let w1 = PeerID("w1")
private let w2 = PeerID("w2")

private func assignment(_ run: Int, _ index: Int) -> Assignment {
    Assignment(
        task: TaskAttempt(run: RunID(run), index: index, attempt: 1), kind: "noop", payload: ["run": .integer(run)],
        spec: spec, blobs: [])
}

private func ack(_ run: Int, _ index: Int) -> TaskAttempt { TaskAttempt(run: RunID(run), index: index, attempt: 1) }

/// The assignments a list of messages carries, batch or not, in order.
private func assignmentsIn(_ messages: [CoordinatorMessage]) -> [Assignment] {
    messages.flatMap { message -> [Assignment] in
        switch message {
        case .assign(let a): return [a]
        case .assignBatch(let batch): return batch.assignments
        default: return []
        }
    }
}

@Suite("Merging a turn's messages (ASSIGNBATCH, ACKBATCH, RESULTBATCH)")
struct MessageBatchingTests {
    @Test func aTurnsAcksAndAssignmentsToAWorkerGoOutAsOneMessageOfEach() {
        var out = OutgoingBatches()
        var now: [CoordinatorMessage] = []
        for i in 0..<3 {
            now += out.add(.ack(ack(1, i)), to: w1, merging: true)
            now += out.add(.assign(assignment(1, 10 + i)), to: w1, merging: true)
        }
        #expect(now.isEmpty, "everything is held until the turn ends")
        let sent = out.releaseAll()
        #expect(sent.count == 2)
        #expect(sent.allSatisfy { $0.0 == w1 })
        #expect(sent.first?.1 == .ackBatch([ack(1, 0), ack(1, 1), ack(1, 2)]))
        #expect(assignmentsIn(sent.map(\.1)) == [assignment(1, 10), assignment(1, 11), assignment(1, 12)])
        #expect(out.isEmpty)
    }

    @Test func assignmentsOfTwoRunsGoInOneBatchPerRunInTheOrderTheRunsCame() {
        var out = OutgoingBatches()
        for (run, index) in [(2, 0), (1, 0), (2, 1), (1, 1), (2, 2)] {
            #expect(out.add(.assign(assignment(run, index)), to: w1, merging: true).isEmpty)
        }
        let sent = out.release(w1)
        #expect(sent.count == 2)
        guard sent.count == 2, case .assignBatch(let first) = sent[0], case .assignBatch(let second) = sent[1] else { return }
        #expect(first.tasks.map(\.task.index) == [0, 1, 2])
        #expect(first.payload == ["run": 2])
        #expect(second.tasks.map(\.task.index) == [0, 1])
        #expect(second.payload == ["run": 1])
    }

    @Test func anotherMessageToTheWorkerSendsWhatIsHeldFirst() {
        var out = OutgoingBatches()
        _ = out.add(.assign(assignment(1, 0)), to: w1, merging: true)
        _ = out.add(.assign(assignment(1, 1)), to: w1, merging: true)
        _ = out.add(.ack(ack(1, 5)), to: w2, merging: true)
        let cancel = CoordinatorMessage.cancel(ack(1, 0))
        let now = out.add(cancel, to: w1, merging: true)
        // The CANCEL must not overtake the assignment it cancels; w2's ACK stays held.
        #expect(assignmentsIn(now) == [assignment(1, 0), assignment(1, 1)])
        #expect(now.last == cancel)
        #expect(now.count == 2)
        _ = out.add(.assign(assignment(1, 2)), to: w1, merging: true)
        let rest = out.releaseAll()
        // A batch of one goes out in the single form; peers in the order first held.
        #expect(rest.map(\.0) == [w2, w1])
        #expect(rest.map(\.1) == [.ack(ack(1, 5)), .assign(assignment(1, 2))])
    }

    @Test func aWorkerThatDoesNotReadBatchesGetsEveryMessageAtOnceAsItCame() {
        var out = OutgoingBatches()
        let messages: [CoordinatorMessage] = [.ack(ack(1, 0)), .assign(assignment(1, 1)), .ack(ack(1, 1)), .heartbeat]
        var sent: [CoordinatorMessage] = []
        for message in messages { sent += out.add(message, to: w1, merging: false) }
        #expect(sent == messages)
        #expect(out.isEmpty)
    }

    @Test func batchesStopAtTheTaskLimit() {
        var out = OutgoingBatches()
        var early: [CoordinatorMessage] = []
        let count = 2 * OutgoingBatches.maxTasks + 5
        for i in 0..<count {
            early += out.add(.ack(ack(1, i)), to: w1, merging: true)
            early += out.add(.assign(assignment(1, count + i)), to: w1, merging: true)
        }
        let late = out.releaseAll().map(\.1)
        var sizes: [Int] = []
        var acked: [TaskAttempt] = []
        for message in early + late {
            switch message {
            case .ackBatch(let attempts):
                sizes.append(attempts.count)
                acked += attempts
            case .assignBatch(let batch): sizes.append(batch.tasks.count)
            default: Issue.record("unexpected \(message.typeName)")
            }
        }
        #expect(sizes.allSatisfy { $0 <= OutgoingBatches.maxTasks })
        #expect(sizes.sorted() == [5, 5] + Array(repeating: OutgoingBatches.maxTasks, count: 4))
        #expect(acked == (0..<count).map { ack(1, $0) })
        #expect(assignmentsIn(early + late) == (0..<count).map { assignment(1, count + $0) })
    }

    // MARK: Results

    @Test func resultsMergeAndAnyOtherReportSendsThemFirst() {
        var out = ResultBatches()
        let r = (0..<3).map { WorkerMessage.result(ack(1, $0), payload: [UInt8($0)], epoch: "e") }
        let failure = WorkerMessage.failure(ack(1, 9), error: "boom", epoch: "e")
        #expect(out.add(r[0], merging: true).isEmpty)
        #expect(out.add(r[1], merging: true).isEmpty)
        let now = out.add(failure, merging: true)
        #expect(now == [.resultBatch([TaskResult(ack(1, 0), payload: [0]), TaskResult(ack(1, 1), payload: [1])], epoch: "e"), failure])
        #expect(out.add(r[2], merging: true).isEmpty)
        #expect(out.release() == [r[2]], "a batch of one is a plain RESULT")
        #expect(out.release().isEmpty)
    }

    @Test func resultsOfAnotherEpochOrTooManyBytesStartANewBatch() {
        var out = ResultBatches()
        let half = ResultBatches.maxBytes / 2
        #expect(out.add(.result(ack(1, 0), payload: [UInt8](repeating: 1, count: half), epoch: "a"), merging: true).isEmpty)
        let otherEpoch = out.add(.result(ack(1, 1), payload: [2], epoch: "b"), merging: true)
        #expect(otherEpoch.count == 1)
        if case .result(let attempt, _, let epoch) = otherEpoch.first { #expect(attempt == ack(1, 0) && epoch == "a") }
        #expect(out.add(.result(ack(1, 2), payload: [UInt8](repeating: 3, count: half), epoch: "b"), merging: true).isEmpty)
        // Past the byte budget: what is held goes first.
        let fourth = [UInt8](repeating: 4, count: half)
        let over = out.add(.result(ack(1, 3), payload: fourth, epoch: "b"), merging: true)
        #expect(over.count == 1)
        if case .resultBatch(let results, "b") = over.first {
            #expect(results.map(\.attempt) == [ack(1, 1), ack(1, 2)])
        } else {
            Issue.record("expected a RESULTBATCH of epoch b, got \(over)")
        }
        // A result as large as the budget goes alone, after what is held.
        let big = WorkerMessage.result(ack(1, 4), payload: [UInt8](repeating: 5, count: ResultBatches.maxBytes), epoch: "b")
        #expect(out.add(big, merging: true) == [.result(ack(1, 3), payload: fourth, epoch: "b"), big])
    }

    @Test func aCoordinatorThatDoesNotReadBatchesGetsEachResultAtOnce() {
        var out = ResultBatches()
        let result = WorkerMessage.result(ack(1, 0), payload: [], epoch: nil)
        #expect(out.add(result, merging: false) == [result])
        #expect(out.isEmpty)
    }

    // MARK: When held results go

    @Test func resultsWaitAMomentOnlyWhileEverySlotIsBusy() {
        let r = (0..<3).map { WorkerMessage.result(ack(1, $0), payload: [UInt8($0)], epoch: "e") }
        let linger = ResultBatches.linger

        // A free slot: what is held goes at once, whatever its age.
        var idle = ResultBatches()
        _ = idle.add(r[0], merging: true)
        #expect(idle.due(now: 10, everySlotBusy: false) == [r[0]])
        #expect(idle.isEmpty && idle.releaseDeadline == .infinity)

        // Every slot busy: held from the first time asked until `linger` later.
        var busy = ResultBatches()
        #expect(busy.due(now: 10, everySlotBusy: true).isEmpty, "nothing held, nothing due")
        #expect(busy.releaseDeadline == .infinity)
        _ = busy.add(r[0], merging: true)
        #expect(busy.due(now: 10, everySlotBusy: true).isEmpty)
        #expect(busy.releaseDeadline == 10 + linger)
        _ = busy.add(r[1], merging: true)
        #expect(busy.due(now: 10 + linger / 2, everySlotBusy: true).isEmpty, "younger than linger")
        #expect(busy.releaseDeadline == 10 + linger, "the oldest result sets the deadline")
        #expect(busy.due(now: 10 + linger, everySlotBusy: true)
                    == [.resultBatch([TaskResult(ack(1, 0), payload: [0]), TaskResult(ack(1, 1), payload: [1])], epoch: "e")])
        #expect(busy.releaseDeadline == .infinity)

        // The next results start a new wait.
        _ = busy.add(r[2], merging: true)
        #expect(busy.due(now: 20, everySlotBusy: true).isEmpty)
        #expect(busy.releaseDeadline == 20 + linger)
        // A slot that frees sends them before the deadline.
        #expect(busy.due(now: 20, everySlotBusy: false) == [r[2]])
    }

    @Test func heldResultsGoOnceThereAreEnoughOfThem() {
        var out = ResultBatches()
        let count = ResultBatches.lingerResults
        for i in 0..<(count - 1) {
            #expect(out.add(.result(ack(1, i), payload: [], epoch: nil), merging: true).isEmpty)
            #expect(out.due(now: 5, everySlotBusy: true).isEmpty)
        }
        _ = out.add(.result(ack(1, count - 1), payload: [], epoch: nil), merging: true)
        let sent = out.due(now: 5, everySlotBusy: true)
        guard case .resultBatch(let results, nil) = sent.first, sent.count == 1 else {
            Issue.record("expected one RESULTBATCH, got \(sent)")
            return
        }
        #expect(results.map(\.attempt) == (0..<count).map { ack(1, $0) })
    }

    @Test func anotherReportSendsHeldResultsFirstAndClearsTheDeadline() {
        var out = ResultBatches()
        let result = WorkerMessage.result(ack(1, 0), payload: [], epoch: "e")
        _ = out.add(result, merging: true)
        #expect(out.due(now: 1, everySlotBusy: true).isEmpty)
        let heartbeat = WorkerMessage.heartbeat(running: [ack(1, 1)])
        #expect(out.add(heartbeat, merging: true) == [result, heartbeat])
        #expect(out.releaseDeadline == .infinity)
    }

    // MARK: The state machines

    @Test func aResultBatchIsHandledAsItsResultsOneByOne() {
        var h = Harness()
        let run = h.submit(10)
        h.hello("w1", slots: 3)
        let results = (0..<3).map { TaskResult(attempt(run, $0, 1), payload: [UInt8($0)]) }
        let actions = h.step { state, now in state.receive(.resultBatch(results), from: PeerID("w1"), now: now) }
        #expect(completes(actions) == results.map(\.attempt))
        #expect(h.journal.results[TaskID(run: run, index: 2)] == [2])
        let acks = sent(actions, to: "w1").compactMap { message -> TaskAttempt? in
            if case .ack(let a) = message { return a }
            return nil
        }
        #expect(acks == results.map(\.attempt))
        #expect(assigned(actions, to: "w1") == [attempt(run, 3, 1), attempt(run, 4, 1), attempt(run, 5, 1)])
    }

    @Test func aResultBatchFromAnotherJournalIsAcknowledgedAndNotRecorded() {
        var h = Harness { $0.epoch = "mine" }
        let run = h.submit(4)
        h.hello("w1", slots: 2)
        let results = [TaskResult(attempt(run, 0, 1), payload: [1]), TaskResult(attempt(run, 1, 1), payload: [2])]
        let actions = h.step { state, now in state.receive(.resultBatch(results, epoch: "theirs"), from: PeerID("w1"), now: now) }
        #expect(completes(actions).isEmpty)
        #expect(sent(actions, to: "w1") == results.map { .ack($0.attempt) })
        #expect(h.state.status(now: h.now).counters.foreignEpoch == 2)
    }

    @Test func workersAndCoordinatorsSayTheyReadBatches() {
        var h = Harness()
        let welcome = h.hello("w1", slots: 1)
        #expect(sent(welcome, to: "w1").contains { if case .welcome(let w) = $0 { return w.batches } else { return false } })
        #expect(!h.state.readsBatches(PeerID("w1")), "the harness's hello is an older worker's")
        h.step { state, now in
            state.workerHello(from: PeerID("w2"), Hello(slots: 1, host: "h", pid: 2, version: "v", batches: true), now: now)
        }
        #expect(h.state.readsBatches(PeerID("w2")))

        var worker = WorkerState(config: WorkerConfig(slots: 1, host: "h", pid: 1, version: "v"))
        let start = worker.start(now: 0) + worker.tick(now: 0)
        let said = start.contains { if case .send(.hello(let hello)) = $0 { return hello.batches } else { return false } }
        #expect(said)
        #expect(!worker.coordinatorReadsBatches)
        _ = worker.receive(
            .welcome(Welcome(workerID: "w", heartbeatInterval: 1, liveness: 3, maxMessageBytes: 1 << 20, blobChunkBytes: 1 << 16,
                             batches: true)), now: 0)
        #expect(worker.coordinatorReadsBatches)
    }

    @Test func aWorkerTakesABatchAsItsAssignmentsAndForgetsWhatABatchAcknowledges() {
        let batch = AssignmentBatch(tasks: [ack(1, 0), ack(1, 1), ack(1, 2)], kind: "noop", payload: .emptyObject, spec: spec, blobs: [])
        var cached = WorkerState(config: WorkerConfig(slots: 2, host: "h", pid: 1, version: "v"), cachedBlobs: [spec])
        _ = cached.start(now: 0)
        _ = cached.receive(
            .welcome(Welcome(workerID: "w", heartbeatInterval: 1, liveness: 3, maxMessageBytes: 1 << 20, blobChunkBytes: 1 << 16)),
            now: 0)
        let started = cached.receive(.assignBatch(batch), now: 0).compactMap { action -> TaskAttempt? in
            if case .start(let a) = action { return a.task }
            return nil
        }
        #expect(started == [ack(1, 0), ack(1, 1)], "two slots: two start, the third waits")
        #expect(cached.heldTasks.count == 3)
        _ = cached.taskFinished(ack(1, 0), .success([1]), now: 0)
        _ = cached.taskFinished(ack(1, 1), .success([2]), now: 0)
        #expect(cached.unackedCount == 2)
        _ = cached.receive(.ackBatch([ack(1, 0), ack(1, 1)]), now: 0)
        #expect(cached.unackedCount == 0)
    }
}
