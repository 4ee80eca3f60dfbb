import DuetSupport
import Testing

@testable import ClusterCore

private let spec = BlobHash(of: Array("spec".utf8))
private let data = BlobHash(of: Array("dataset".utf8))

private func assignment(_ index: Int, attempt: Int = 1, blobs: [BlobHash] = []) -> Assignment {
    Assignment(
        task: TaskAttempt(run: RunID(1), index: index, attempt: attempt), kind: "noop", payload: .emptyObject, spec: spec,
        blobs: blobs)
}

private func welcome(interval: Double = 1, liveness: Int = 3) -> CoordinatorMessage {
    .welcome(Welcome(workerID: "w", heartbeatInterval: interval, liveness: liveness, maxMessageBytes: 1 << 20, blobChunkBytes: 4))
}

private func sends(_ actions: [WorkerAction]) -> [WorkerMessage] {
    actions.compactMap { if case .send(let message) = $0 { return message } else { return nil } }
}

private func started(_ actions: [WorkerAction]) -> [Int] {
    actions.compactMap { if case .start(let a) = $0 { return a.task.task.index } else { return nil } }
}

private func config(slots: Int = 2, seed: UInt64 = 1) -> WorkerConfig {
    var config = WorkerConfig(slots: slots, host: "h", pid: 9, version: "v")
    config.seed = seed
    config.reconnectInitial = 1
    config.reconnectMax = 8
    return config
}

@Suite("Worker state machine")
struct WorkerStateTests {
    /// A worker that has said hello and been welcomed at t = 0.
    func connected(slots: Int = 2, cached: Set<BlobHash> = [spec]) -> WorkerState {
        var worker = WorkerState(config: config(slots: slots), cachedBlobs: cached)
        _ = worker.start(now: 0)
        _ = worker.receive(welcome(), now: 0)
        return worker
    }

    @Test func startsByConnectingAndSayingHello() {
        var worker = WorkerState(config: config(slots: 4))
        let actions = worker.start(now: 0)
        #expect(actions == [.connect, .send(.hello(Hello(slots: 4, host: "h", pid: 9, version: "v", batches: true)))])
        #expect(worker.connection == .awaitingWelcome(since: 0))
        _ = worker.receive(welcome(interval: 0.5, liveness: 4), now: 0.1)
        #expect(worker.connection == .connected)
        #expect(worker.heartbeatInterval == 0.5)
        #expect(worker.liveness == 4)
    }

    @Test func runsUpToSlotsAndQueuesTheRest() {
        var worker = connected(slots: 2)
        var all: [WorkerAction] = []
        for i in 0..<3 { all += worker.receive(.assign(assignment(i)), now: 1) }
        #expect(started(all) == [0, 1])
        #expect(worker.running == 2)
        let done = worker.taskFinished(assignment(0).task, .success([7]), now: 2)
        #expect(sends(done) == [.result(assignment(0).task, payload: [7])])
        #expect(started(done) == [2])
        #expect(worker.unackedCount == 1)
        _ = worker.receive(.ack(assignment(0).task), now: 2.1)
        #expect(worker.unackedCount == 0)
    }

    @Test func heartbeatsKeepFlowingDuringALongTask() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        var beats = 0
        // A ten-minute task: the loop ticks every 0.25 s and the coordinator's heartbeats arrive every second.
        var t = 0.0
        while t < 600 {
            t += 0.25
            for message in sends(worker.tick(now: t)) {
                guard case .heartbeat(let running) = message else { continue }
                #expect(running == [assignment(0).task])
                beats += 1
            }
            if t.truncatingRemainder(dividingBy: 1) == 0 { _ = worker.receive(.heartbeat, now: t) }
            #expect(worker.connection == .connected)
        }
        #expect(beats == 600)
    }

    @Test func silentCoordinatorTriggersBackOffWithJitterThenHelloWithHeldTasks() {
        var worker = connected(slots: 2)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        #expect(
            worker.tick(now: 3).allSatisfy { if case .log = $0 { return false } else { return true } },
            "3 s of silence is not more than 3 intervals")
        _ = worker.tick(now: 3.01)
        guard case .backingOff(let until) = worker.connection else {
            Issue.record("not backing off: \(worker.connection)")
            return
        }
        // First back-off: 1 s × jitter in [0.5, 1).
        #expect(until - 3.01 >= 0.5 && until - 3.01 < 1)
        #expect(worker.tick(now: until - 0.001).isEmpty)
        let reconnect = worker.tick(now: until)
        #expect(reconnect.first == .connect)
        #expect(sends(reconnect) == [.hello(Hello(slots: 2, host: "h", pid: 9, version: "v", running: [assignment(0).task], batches: true))])
    }

    @Test func backOffGrowsExponentiallyUpToTheCapAndIsDeterministicPerSeed() {
        func delays(seed: UInt64) -> [Double] {
            var worker = WorkerState(config: config(seed: seed))
            var t = 0.0
            _ = worker.start(now: t)
            var result: [Double] = []
            for _ in 0..<7 {
                t += 3.5
                _ = worker.tick(now: t)  // coordinator silent: back off
                guard case .backingOff(let until) = worker.connection else { return [] }
                result.append(until - t)
                t = until
                _ = worker.tick(now: t)  // reconnect and hello again
            }
            return result
        }
        let a = delays(seed: 1)
        #expect(a == delays(seed: 1))
        #expect(a != delays(seed: 2))
        for (n, delay) in a.enumerated() {
            let base = min(8, pow2(n))
            #expect(delay >= base * 0.5 && delay < base, "attempt \(n): \(delay)")
        }
    }

    @Test func unackedResultsAreResentAfterTheNextWelcome() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        _ = worker.tick(now: 3.5)  // coordinator lost; back off
        // The task finishes while disconnected: kept, not sent.
        #expect(sends(worker.taskFinished(assignment(0).task, .failure("boom"), now: 4)).isEmpty)
        guard case .backingOff(let until) = worker.connection else { return }
        _ = worker.tick(now: until)
        let resent = worker.receive(welcome(), now: until + 0.1)
        #expect(sends(resent) == [.failure(assignment(0).task, error: "boom")])
    }

    @Test func missingBlobsAreFetchedInChunksBeforeTheTaskStarts() {
        var worker = connected(slots: 1)
        let bytes = Array("dataset".utf8)
        let assign = worker.receive(.assign(assignment(0, blobs: [data])), now: 0)
        #expect(sends(assign) == [.blobRequest(data, offset: 0)])
        #expect(started(assign).isEmpty)
        let first = worker.receive(.blob(BlobChunk(hash: data, offset: 0, total: 7, bytes: Array(bytes[0..<4]))), now: 0.1)
        #expect(
            first == [
                .writeBlobChunk(BlobChunk(hash: data, offset: 0, total: 7, bytes: Array(bytes[0..<4]))),
                .send(.blobRequest(data, offset: 4)),
            ])
        // A repeated or out-of-order chunk is ignored.
        #expect(worker.receive(.blob(BlobChunk(hash: data, offset: 0, total: 7, bytes: Array(bytes[0..<4]))), now: 0.2).isEmpty)
        let last = worker.receive(.blob(BlobChunk(hash: data, offset: 4, total: 7, bytes: Array(bytes[4...]))), now: 0.3)
        #expect(last.last == .finishBlob(data, size: 7))
        // A second task needing the same blob does not fetch it again.
        #expect(sends(worker.receive(.assign(assignment(1, blobs: [data])), now: 0.35)).isEmpty)
        let stored = worker.blobStored(data, ok: true, now: 0.4)
        #expect(started(stored) == [0])
    }

    @Test func blobFailingVerificationIsFetchedAgainThenTheTaskFails() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0, blobs: [data])), now: 0)
        for n in 1...3 {
            _ = worker.receive(.blob(BlobChunk(hash: data, offset: 0, total: 2, bytes: [1, 2])), now: Double(n))
            let verdict = worker.blobStored(data, ok: false, now: Double(n))
            if n < 3 {
                #expect(sends(verdict) == [.blobRequest(data, offset: 0)])
            } else {
                #expect(
                    sends(verdict) == [.failure(assignment(0).task, error: "blob \(data) failed SHA-256 verification 3 times")])
            }
        }
    }

    @Test func blobMissingAtTheCoordinatorFailsTheTasksNeedingIt() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0, blobs: [data])), now: 0)
        let actions = worker.receive(.blobMissing(data), now: 1)
        #expect(sends(actions) == [.failure(assignment(0).task, error: "blob \(data) is not available at the coordinator")])
        #expect(worker.heldTasks.isEmpty)
    }

    @Test func cancelStopsARunningTaskWithoutAReport() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        _ = worker.receive(.assign(assignment(1)), now: 0)
        #expect(worker.receive(.cancel(assignment(1).task), now: 1).isEmpty, "a queued task is just dropped")
        #expect(worker.receive(.cancel(assignment(0).task), now: 1) == [.cancel(assignment(0).task)])
        let finished = worker.taskFinished(assignment(0).task, .cancelled, now: 2)
        #expect(sends(finished).isEmpty)
        #expect(worker.running == 0)
        #expect(worker.heldTasks.isEmpty)
    }

    @Test func cancelFreesTheSlotAtOnceAndALateOutcomeIsDropped() {
        // A task hanging past its deadline: the coordinator sends CANCEL; the worker must
        // not wait for the runner to notice before it runs the next task.
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        _ = worker.receive(.assign(assignment(1)), now: 0)
        #expect(worker.running == 1)
        let cancel = worker.receive(.cancel(assignment(0).task), now: 1)
        #expect(cancel == [.cancel(assignment(0).task), .start(assignment(1))])
        #expect(worker.running == 1)
        #expect(worker.heldTasks == [assignment(1).task], "heartbeats no longer list the dropped attempt")
        // The abandoned runner returns after all: nothing is reported, the slot count holds.
        #expect(worker.taskFinished(assignment(0).task, .success([1]), now: 5).isEmpty)
        #expect(worker.unackedCount == 0)
        #expect(worker.running == 1)
        let done = worker.taskFinished(assignment(1).task, .success([2]), now: 6)
        #expect(sends(done) == [.result(assignment(1).task, payload: [2])])
        #expect(worker.running == 0)
    }

    @Test func decisionsReachRunningTasksAndProgressIsSent() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        let report: JSON = ["epoch": 1, "loss": 0.5]
        #expect(
            worker.reportProgress(assignment(0).task, report: report, now: 1) == [
                .send(.progress(assignment(0).task, report: report))
            ])
        #expect(worker.receive(.decision(assignment(0).task, .stop), now: 2) == [.deliver(assignment(0).task, .stop)])
    }

    @Test func reconnectRequestLeadsToANewHello() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        let actions = worker.receive(.reconnect(reason: "unknown worker"), now: 1)
        #expect(sends(actions) == [.hello(Hello(slots: 1, host: "h", pid: 9, version: "v", running: [assignment(0).task], batches: true))])
        #expect(worker.connection == .awaitingWelcome(since: 1))
    }

    @Test func stopSaysGoodbyeAndShutdownExits() {
        var worker = connected(slots: 1)
        _ = worker.receive(.assign(assignment(0)), now: 0)
        let stop = worker.stop(now: 1)
        #expect(
            stop == [.send(.goodbye(returning: [assignment(0).task])), .cancel(assignment(0).task), .exit(reason: "stopped")])
        var other = connected(slots: 1)
        #expect(other.receive(.shutdown(reason: "done"), now: 1) == [.exit(reason: "coordinator shut down: done")])
        #expect(other.connection == .stopped)
    }
}

private func pow2(_ n: Int) -> Double { Double(1 << n) }
