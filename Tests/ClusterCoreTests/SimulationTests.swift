import DuetSupport
import Testing

@testable import ClusterCore

/// The coordinator and several workers wired together through encoded frames, on a
/// virtual clock, with workers crashing and the coordinator killed (-9) at random
/// moments, including between a commit and its sends. Whatever happens, every task
/// ends with exactly one result (or a recorded failure) in the journal.
struct ClusterSimulation {
    struct SimWorker {
        var id: PeerID
        var state: WorkerState
        var pid: Int
        /// Running tasks and when they finish.
        var running: [TaskAttempt: Double] = [:]
        var downloads: [BlobHash: [UInt8]] = [:]
        var alive = true
        var restartAt: Double?
    }

    var rng: SplitMix64
    var now = 0.0
    var coordinator: CoordinatorState
    var config: CoordinatorConfig
    var journal = JournalModel()
    var workers: [SimWorker] = []
    var toCoordinator: [(PeerID, [[UInt8]])] = []
    var toWorkers: [PeerID: [[[UInt8]]]] = [:]
    var coordinatorDown: Double?
    var crashes = 0
    var workerDeaths = 0
    var poison: Set<Int> = []
    var run = RunID(0)
    var client = PeerID("client")
    var decodeFailures = 0
    /// Steps after which the coordinator is killed (at the next message, after its
    /// commit and before its sends), besides the random kills.
    var crashAt: Set<Int> = [60, 200]
    var steps = 0

    init(seed: UInt64, workers count: Int, slots: Int) {
        rng = SplitMix64(seed: seed)
        config = CoordinatorConfig()
        config.heartbeatInterval = 0.5
        config.liveness = 3
        config.maxAttempts = 3
        config.blobChunkBytes = 1000
        coordinator = CoordinatorState(config: config)
        for i in 0..<count {
            let id = PeerID("w\(i)")
            workers.append(SimWorker(id: id, state: Self.workerState(slots: slots, pid: 100 + i, seed: UInt64(i)), pid: 100 + i))
        }
    }

    static func workerState(slots: Int, pid: Int, seed: UInt64) -> WorkerState {
        var config = WorkerConfig(slots: slots, host: "sim", pid: pid, version: "test")
        config.seed = seed
        config.reconnectInitial = 0.2
        config.reconnectMax = 2
        return WorkerState(config: config)
    }

    /// The coordinator shell: commit every journal change of the batch, then (unless
    /// killed in between) perform the sends.
    mutating func execute(_ actions: [CoordinatorAction], crashBeforeSends: Bool = false) {
        for action in actions { if let change = action.journalChange { journal.apply(change) } }
        if crashBeforeSends {
            crashCoordinator()
            return
        }
        for action in actions {
            switch action {
            case .send(let to, let message):
                toWorkers[to, default: []].append(message.encoded())
            case .serveBlob(let to, let hash, let offset, let maxBytes):
                if let bytes = journal.blobs[hash] {
                    let end = min(bytes.count, offset + maxBytes)
                    let chunk = BlobChunk(
                        hash: hash, offset: offset, total: bytes.count, bytes: Array(bytes[min(offset, end)..<end]))
                    toWorkers[to, default: []].append(CoordinatorMessage.blob(chunk).encoded())
                } else {
                    toWorkers[to, default: []].append(CoordinatorMessage.blobMissing(hash).encoded())
                }
            case .progress(let report):
                execute(coordinator.decide(report.task, .continue, now: now))
            case .journal, .reply, .serveResults, .log:
                break
            }
        }
    }

    mutating func crashCoordinator() {
        crashes += 1
        coordinatorDown = now + 0.3 + rng.unit()
        toCoordinator.removeAll()
        toWorkers.removeAll()
    }

    mutating func restartCoordinator() {
        coordinator = CoordinatorState(config: config)
        coordinatorDown = nil
        execute(coordinator.recovered(from: journal.snapshot(), now: now))
    }

    /// A worker shell: performs its state machine's actions.
    mutating func perform(_ actions: [WorkerAction], worker i: Int) {
        for action in actions {
            switch action {
            case .connect:
                toWorkers[workers[i].id] = []
            case .send(let message):
                toCoordinator.append((workers[i].id, message.encoded()))
            case .start(let assignment):
                let index = assignment.task.task.index
                workers[i].running[assignment.task] = now + 0.05 + 0.4 * rng.unit() + (index % 50 == 7 ? 3 : 0)
            case .cancel(let attempt):
                workers[i].running[attempt] = nil
                perform(workers[i].state.taskFinished(attempt, .cancelled, now: now), worker: i)
            case .deliver:
                break
            case .writeBlobChunk(let chunk):
                workers[i].downloads[chunk.hash, default: []] += chunk.bytes
            case .finishBlob(let hash, _):
                let ok = BlobHash(of: workers[i].downloads[hash] ?? []) == hash
                perform(workers[i].state.blobStored(hash, ok: ok, now: now), worker: i)
            case .discardBlob(let hash):
                workers[i].downloads[hash] = nil
            case .exit, .log:
                break
            }
        }
    }

    mutating func step() {
        now += 0.05
        steps += 1
        // The coordinator comes back on the same journal.
        if let down = coordinatorDown, now >= down { restartCoordinator() }
        // Workers die and come back as new processes under the same identity.
        for i in workers.indices {
            if workers[i].alive, rng.unit() < 0.001 || (steps == 150 && i == 0) {
                workers[i].alive = false
                workers[i].restartAt = now + 2 * rng.unit()
                toWorkers[workers[i].id] = nil
                workerDeaths += 1
            } else if !workers[i].alive, let at = workers[i].restartAt, now >= at {
                workers[i].pid += 1000
                workers[i].state = Self.workerState(
                    slots: workers[i].state.config.slots, pid: workers[i].pid, seed: UInt64(workers[i].pid))
                workers[i].running = [:]
                workers[i].downloads = [:]
                workers[i].alive = true
                perform(workers[i].state.start(now: now), worker: i)
            }
        }
        // Deliver to the coordinator (if it is up), one batch per message.
        if coordinatorDown == nil {
            let inbox = toCoordinator
            toCoordinator.removeAll()
            for (from, frames) in inbox {
                guard coordinatorDown == nil else { break }
                let actions: [CoordinatorAction]
                do {
                    actions = coordinator.receive(try WorkerMessage.decode(frames), from: from, now: now)
                } catch {
                    decodeFailures += 1
                    actions = coordinator.dropped(from: from, error, now: now)
                }
                var crash = rng.unit() < 0.004
                if let due = crashAt.min(), due <= steps {
                    crashAt.remove(due)
                    crash = true
                }
                execute(actions, crashBeforeSends: crash)
            }
            if coordinatorDown == nil { execute(coordinator.tick(now: now), crashBeforeSends: rng.unit() < 0.002) }
        } else {
            toCoordinator.removeAll()
        }
        // Deliver to workers and run their clocks.
        for i in workers.indices where workers[i].alive {
            let inbox = toWorkers[workers[i].id] ?? []
            toWorkers[workers[i].id] = []
            for frames in inbox {
                do {
                    perform(workers[i].state.receive(try CoordinatorMessage.decode(frames), now: now), worker: i)
                } catch {
                    decodeFailures += 1
                }
            }
            for (attempt, end) in workers[i].running.sorted(by: { $0.key.task < $1.key.task }) where end <= now {
                workers[i].running[attempt] = nil
                let index = attempt.task.index
                let outcome: TaskOutcome =
                    poison.contains(index) ? .failure("task \(index) always throws") : .success(Array("result \(index)".utf8))
                perform(workers[i].state.taskFinished(attempt, outcome, now: now), worker: i)
            }
            perform(workers[i].state.tick(now: now), worker: i)
        }
    }
}

@Suite("Cluster simulation")
struct SimulationTests {
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func everyTaskFinishesExactlyOnceThroughCrashes(seed: UInt64) {
        var sim = ClusterSimulation(seed: seed, workers: 3, slots: 2)
        sim.poison = [13, 77]
        let dataset = (0..<2500).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let hash = BlobHash(of: dataset)
        sim.execute(sim.coordinator.putBlob(from: sim.client, dataset, now: 0))
        let submit = sim.coordinator.submit(
            from: sim.client, RunSubmission(kind: "sim", taskCount: 300, blobs: [hash], spec: Array("spec".utf8)), now: 0)
        for case .reply(_, .submitted(let run, _)) in submit { sim.run = run }
        sim.execute(submit)
        for i in sim.workers.indices { sim.perform(sim.workers[i].state.start(now: 0), worker: i) }

        var steps = 0
        while sim.journal.runs[sim.run]?.phase != .completed && steps < 40_000 {
            sim.step()
            steps += 1
        }
        #expect(sim.journal.runs[sim.run]?.phase == .completed, "not finished after \(steps) steps")
        #expect(sim.journal.duplicateInserts == 0)
        #expect(sim.decodeFailures == 0)
        // A task fails only by throwing (the poison ones) or by taking its worker down with it
        // `maxAttempts` times; with workers dying this often, a long task can legitimately
        // meet three deaths.
        func crashedItsWorker(_ error: String?) -> Bool {
            guard let error else { return false }
            return error.contains("lost: silent") || error.contains("restarted")
        }
        var failedByCrashes = 0
        for index in 0..<300 {
            let task = TaskID(run: sim.run, index: index)
            let row = sim.journal.tasks[task]
            if sim.poison.contains(index) {
                #expect(row?.state == "failed")
                #expect(
                    row?.error == "task \(index) always throws" || crashedItsWorker(row?.error),
                    "task \(index): \(String(describing: row))")
                #expect(sim.journal.results[task] == nil)
            } else if row?.state == "failed" {
                failedByCrashes += 1
                #expect(crashedItsWorker(row?.error), "task \(index): \(String(describing: row))")
                #expect(row?.failures == 3)
            } else {
                #expect(sim.journal.results[task] == Array("result \(index)".utf8), "task \(index): \(String(describing: row))")
            }
        }
        #expect(failedByCrashes <= 3)
        #expect(sim.crashes > 0, "the scenario should include coordinator crashes")
        #expect(sim.workerDeaths > 0, "the scenario should include worker deaths")
    }
}
