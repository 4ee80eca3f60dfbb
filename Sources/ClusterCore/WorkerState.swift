// The worker's side as a value: connection and heartbeats, the coordinator's liveness,
// reconnect back-off with seeded jitter, slots in use, blob fetching, and results kept
// until acknowledged. The shell owns the DEALER socket, the task runners and the
// blob cache on disk, and performs the actions in order.
//
// Heartbeats never wait for tasks: tasks run elsewhere (threads or child processes)
// and the shell's poll loop keeps calling `tick`, which is all heartbeats need.

import DuetSupport

public struct WorkerConfig: Sendable, Hashable {
    public var slots: Int
    /// Tasks to hold queued beyond the slots (hides the round trip for tiny tasks).
    public var prefetch: Int = 0
    public var host: String
    public var pid: Int
    public var version: String
    /// Used until the coordinator's welcome says otherwise.
    public var heartbeatInterval: Double = 1
    public var liveness: Int = 3
    /// Back-off before reconnecting: `initial × 2^n`, capped at `max`, times a jitter
    /// factor uniform in [0.5, 1).
    public var reconnectInitial: Double = 0.5
    public var reconnectMax: Double = 30
    /// Seeds the jitter (use something per worker, e.g. pid ^ time, in production).
    public var seed: UInt64 = 0
    /// Downloads of a blob that fail verification before the tasks needing it fail.
    public var blobAttempts = 3

    public init(slots: Int, prefetch: Int = 0, host: String, pid: Int, version: String) {
        self.slots = slots
        self.prefetch = prefetch
        self.host = host
        self.pid = pid
        self.version = version
    }
}

/// How a task ended, as the shell reports it.
public enum TaskOutcome: Sendable, Hashable {
    case success([UInt8])
    case failure(String)
    /// Stopped after a `.cancel` action: nothing is reported.
    case cancelled
}

/// What the worker's shell must do, in order.
public enum WorkerAction: Sendable, Hashable {
    /// Close the current DEALER socket (linger 0) if any, open a new one, connect.
    case connect
    case send(WorkerMessage)
    /// Run the task now (its blobs are in the cache); report with `taskFinished`.
    case start(Assignment)
    /// Stop a running task. After a coordinator's `CANCEL` its slot is already free
    /// (the task is abandoned: a runner that ignores cancellation must not hold a slot,
    /// so the shell runs the next task beside it) and whatever it reports is dropped.
    case cancel(TaskAttempt)
    /// Hand a coordinator decision to a running task (continue or stop training).
    case deliver(TaskAttempt, Decision)
    /// Write a chunk of a blob being downloaded (at `offset` of a temporary file).
    case writeBlobChunk(BlobChunk)
    /// The download is complete: verify its SHA-256, move it into the cache, report `blobStored`.
    case finishBlob(BlobHash, size: Int)
    /// Delete a partial download.
    case discardBlob(BlobHash)
    case exit(reason: String)
    case log(LogEntry)
}

public struct WorkerState: Sendable {
    public enum Connection: Sendable, Hashable {
        case idle
        case backingOff(until: Double)
        case awaitingWelcome(since: Double)
        case connected
        case stopped
    }

    enum HeldState: Sendable, Hashable {
        case waitingForBlobs
        case queued
        case running
        case cancelling
    }

    struct Held: Sendable {
        var assignment: Assignment
        var state: HeldState
    }

    struct Fetch: Sendable {
        var offset = 0
        var requestedAt: Double
        var attempts = 1
        var verifying = false
    }

    public let config: WorkerConfig
    public private(set) var connection: Connection = .idle
    public private(set) var workerID: String?
    public private(set) var heartbeatInterval: Double
    public private(set) var liveness: Int
    /// The epoch of the journal whose coordinator last welcomed this worker: every
    /// attempt it holds and every report it keeps was leased under it (attempts of an
    /// earlier epoch are dropped at a welcome naming another). Said in HELLO, RESULT, FAILURE.
    public private(set) var epoch: String?
    /// The coordinator that welcomed this worker reads `RESULTBATCH` (`Welcome.batches`).
    public private(set) var coordinatorReadsBatches = false
    var lastReceived = 0.0
    var lastHeartbeatSent = 0.0
    var reconnectAttempts = 0
    var rng: SplitMix64
    var cachedBlobs: Set<BlobHash>
    var held: [TaskAttempt: Held] = [:]
    var queue = Deque<TaskAttempt>()
    public private(set) var running = 0
    var fetches: [BlobHash: Fetch] = [:]
    /// Reports sent (or to send) and not yet acknowledged; resent after every welcome.
    var unacked: [TaskAttempt: WorkerMessage] = [:]

    /// `cachedBlobs`: the hashes already in the worker's cache directory.
    public init(config: WorkerConfig, cachedBlobs: Set<BlobHash> = []) {
        self.config = config
        self.cachedBlobs = cachedBlobs
        heartbeatInterval = config.heartbeatInterval
        liveness = config.liveness
        rng = SplitMix64(seed: config.seed)
    }

    /// Tasks held (running, queued, waiting for blobs), in a stable order.
    public var heldTasks: [TaskAttempt] {
        held.keys.sorted { ($0.task, $0.attempt) < ($1.task, $1.attempt) }
    }

    /// Reports not yet acknowledged.
    public var unackedCount: Int { unacked.count }

    /// When `tick` next has something to do; use it as the poll timeout.
    public var nextDeadline: Double {
        switch connection {
        case .idle, .stopped: return .infinity
        case .backingOff(let until): return until
        case .awaitingWelcome, .connected:
            let silence = lastReceived + heartbeatInterval * Double(liveness)
            if connection == .connected { return min(silence, lastHeartbeatSent + heartbeatInterval) }
            return silence
        }
    }

    // MARK: - Events

    public mutating func start(now: Double) -> [WorkerAction] {
        guard connection == .idle else { return [] }
        var actions: [WorkerAction] = []
        connect(now: now, into: &actions)
        return actions
    }

    public mutating func tick(now: Double) -> [WorkerAction] {
        var actions: [WorkerAction] = []
        switch connection {
        case .idle, .stopped:
            break
        case .backingOff(let until):
            if now >= until { connect(now: now, into: &actions) }
        case .awaitingWelcome, .connected:
            let silence = now - lastReceived
            if silence > heartbeatInterval * Double(liveness) {
                let delay = backoff()
                connection = .backingOff(until: now + delay)
                actions.append(
                    .log(
                        LogEntry(
                            .warning, "coordinator silent for \(formatSeconds(silence)); reconnecting in \(formatSeconds(delay))",
                            ["tasks": String(held.count)])))
                return actions
            }
            if connection == .connected {
                if now - lastHeartbeatSent >= heartbeatInterval {
                    lastHeartbeatSent = now
                    actions.append(.send(.heartbeat(running: heldTasks)))
                }
                // Chunks can be lost with a connection: ask again after a silence's worth.
                for (hash, fetch) in fetches.sorted(by: { $0.key < $1.key })
                where !fetch.verifying && now - fetch.requestedAt > heartbeatInterval * Double(liveness) {
                    fetches[hash]!.requestedAt = now
                    actions.append(.send(.blobRequest(hash, offset: fetch.offset)))
                }
            }
        }
        return actions
    }

    public mutating func receive(_ message: CoordinatorMessage, now: Double) -> [WorkerAction] {
        switch connection {
        case .idle, .stopped, .backingOff: return []
        case .awaitingWelcome, .connected: break
        }
        lastReceived = now
        var actions: [WorkerAction] = []
        switch message {
        case .welcome(let welcome):
            connection = .connected
            workerID = welcome.workerID
            coordinatorReadsBatches = welcome.batches
            heartbeatInterval = welcome.heartbeatInterval
            liveness = welcome.liveness
            reconnectAttempts = 0
            lastHeartbeatSent = now
            actions.append(.log(LogEntry(.info, "connected", ["worker.id": welcome.workerID])))
            if let old = epoch, let new = welcome.epoch, old != new {
                dropForeign(old: old, new: new, into: &actions)
            }
            epoch = welcome.epoch
            for attempt in unacked.keys.sorted(by: { ($0.task, $0.attempt) < ($1.task, $1.attempt) }) {
                actions.append(.send(unacked[attempt]!))
            }
            for (hash, fetch) in fetches.sorted(by: { $0.key < $1.key }) where !fetch.verifying {
                fetches[hash]!.requestedAt = now
                actions.append(.send(.blobRequest(hash, offset: fetch.offset)))
            }
        case .assign(let assignment):
            accept(assignment, now: now, into: &actions)
        case .assignBatch(let batch):
            for assignment in batch.assignments { accept(assignment, now: now, into: &actions) }
        case .ack(let attempt):
            unacked[attempt] = nil
        case .ackBatch(let attempts):
            for attempt in attempts { unacked[attempt] = nil }
        case .decision(let attempt, let decision):
            if held[attempt]?.state == .running { actions.append(.deliver(attempt, decision)) }
        case .blob(let chunk):
            receiveChunk(chunk, now: now, into: &actions)
        case .blobMissing(let hash):
            fetches[hash] = nil
            actions.append(.discardBlob(hash))
            failWaiting(on: hash, error: "blob \(hash) is not available at the coordinator", into: &actions)
        case .heartbeat:
            break
        case .cancel(let attempt):
            if let entry = held[attempt] {
                switch entry.state {
                case .running:
                    // Abandoned: the slot is free at once, a late outcome is ignored.
                    held[attempt] = nil
                    running -= 1
                    actions.append(.cancel(attempt))
                case .cancelling:
                    break
                case .queued, .waitingForBlobs:
                    held[attempt] = nil
                }
            }
        case .reconnect(let reason):
            if connection == .connected {
                actions.append(.log(LogEntry(.notice, "coordinator asked for a new hello: \(reason)")))
                connection = .awaitingWelcome(since: now)
                actions.append(.send(.hello(hello())))
            }
        case .shutdown(let reason):
            stopAll(reason: "coordinator shut down: \(reason)", into: &actions)
        }
        startQueued(into: &actions)
        return actions
    }

    /// A task ended (or was cancelled). Results and failures are kept until acknowledged.
    public mutating func taskFinished(_ attempt: TaskAttempt, _ outcome: TaskOutcome, now: Double) -> [WorkerAction] {
        guard let entry = held[attempt], entry.state == .running || entry.state == .cancelling else { return [] }
        held[attempt] = nil
        running -= 1
        var actions: [WorkerAction] = []
        let message: WorkerMessage?
        switch outcome {
        case .success(let payload): message = .result(attempt, payload: payload, epoch: epoch)
        case .failure(let error): message = .failure(attempt, error: error, epoch: epoch)
        case .cancelled: message = nil
        }
        if let message {
            unacked[attempt] = message
            if connection == .connected { actions.append(.send(message)) }
        }
        if connection != .stopped { startQueued(into: &actions) }
        return actions
    }

    /// A running task reports progress (a validation loss at a rung).
    public mutating func reportProgress(_ attempt: TaskAttempt, report: JSON, now: Double) -> [WorkerAction] {
        guard held[attempt]?.state == .running, connection == .connected else { return [] }
        return [.send(.progress(attempt, report: report))]
    }

    /// The shell verified (or failed to verify) a finished download.
    public mutating func blobStored(_ hash: BlobHash, ok: Bool, now: Double) -> [WorkerAction] {
        guard let fetch = fetches[hash] else { return [] }
        var actions: [WorkerAction] = []
        if ok {
            fetches[hash] = nil
            cachedBlobs.insert(hash)
            for attempt in heldTasks where held[attempt]?.state == .waitingForBlobs {
                if held[attempt]!.assignment.allBlobs.allSatisfy({ cachedBlobs.contains($0) }) {
                    held[attempt]!.state = .queued
                    queue.append(attempt)
                }
            }
            startQueued(into: &actions)
        } else if fetch.attempts < config.blobAttempts {
            fetches[hash] = Fetch(offset: 0, requestedAt: now, attempts: fetch.attempts + 1)
            actions.append(.discardBlob(hash))
            actions.append(.log(LogEntry(.warning, "blob failed verification; downloading again", ["blob": hash.short])))
            if connection == .connected { actions.append(.send(.blobRequest(hash, offset: 0))) }
        } else {
            fetches[hash] = nil
            actions.append(.discardBlob(hash))
            failWaiting(on: hash, error: "blob \(hash) failed SHA-256 verification \(fetch.attempts) times", into: &actions)
        }
        return actions
    }

    /// Leaves gracefully: gives the held tasks back and exits.
    public mutating func stop(now: Double) -> [WorkerAction] {
        var actions: [WorkerAction] = []
        if connection == .connected { actions.append(.send(.goodbye(returning: heldTasks))) }
        stopAll(reason: "stopped", into: &actions)
        return actions
    }

    // MARK: - Internals

    private func hello() -> Hello {
        Hello(
            slots: config.slots, prefetch: config.prefetch, host: config.host, pid: config.pid, version: config.version,
            running: heldTasks, epoch: epoch, batches: true)
    }

    /// The coordinator that welcomed us serves another journal than the one our attempts
    /// came from (it was replaced, on a new journal): their run ids mean other runs there.
    /// Running attempts are stopped, queued ones and unacknowledged reports forgotten.
    private mutating func dropForeign(old: String, new: String, into actions: inout [WorkerAction]) {
        let count = held.count + unacked.count
        guard count > 0 else { return }
        for attempt in heldTasks {
            switch held[attempt]!.state {
            case .running:
                running -= 1
                actions.append(.cancel(attempt))
            case .cancelling:
                running -= 1
            case .queued, .waitingForBlobs:
                break
            }
            held[attempt] = nil
        }
        queue.removeAll()
        unacked.removeAll()
        actions.append(
            .log(
                LogEntry(
                    .warning, "the coordinator serves another journal (epoch \(new), was \(old)); dropped \(count) attempts and reports of the old one",
                    ["epoch": new])))
    }

    private mutating func connect(now: Double, into actions: inout [WorkerAction]) {
        connection = .awaitingWelcome(since: now)
        lastReceived = now
        actions.append(.connect)
        actions.append(.send(.hello(hello())))
    }

    private mutating func backoff() -> Double {
        let base = min(config.reconnectMax, config.reconnectInitial * Double(1 << min(reconnectAttempts, 30)))
        reconnectAttempts += 1
        return base * (0.5 + 0.5 * rng.unit())
    }

    private mutating func accept(_ assignment: Assignment, now: Double, into actions: inout [WorkerAction]) {
        let attempt = assignment.task
        guard held[attempt] == nil else { return }
        let missing = assignment.allBlobs.filter { !cachedBlobs.contains($0) }
        if missing.isEmpty {
            held[attempt] = Held(assignment: assignment, state: .queued)
            queue.append(attempt)
            return
        }
        held[attempt] = Held(assignment: assignment, state: .waitingForBlobs)
        for hash in Set(missing).sorted() where fetches[hash] == nil {
            fetches[hash] = Fetch(requestedAt: now)
            actions.append(.send(.blobRequest(hash, offset: 0)))
        }
    }

    private mutating func receiveChunk(_ chunk: BlobChunk, now: Double, into actions: inout [WorkerAction]) {
        guard let fetch = fetches[chunk.hash], !fetch.verifying, chunk.offset == fetch.offset else { return }
        actions.append(.writeBlobChunk(chunk))
        let offset = chunk.offset + chunk.bytes.count
        fetches[chunk.hash]!.offset = offset
        fetches[chunk.hash]!.requestedAt = now
        if offset >= chunk.total {
            fetches[chunk.hash]!.verifying = true
            actions.append(.finishBlob(chunk.hash, size: chunk.total))
        } else {
            actions.append(.send(.blobRequest(chunk.hash, offset: offset)))
        }
    }

    private mutating func failWaiting(on hash: BlobHash, error: String, into actions: inout [WorkerAction]) {
        for attempt in heldTasks where held[attempt]?.state == .waitingForBlobs {
            guard held[attempt]!.assignment.allBlobs.contains(hash) else { continue }
            held[attempt] = nil
            let message = WorkerMessage.failure(attempt, error: error, epoch: epoch)
            unacked[attempt] = message
            if connection == .connected { actions.append(.send(message)) }
        }
    }

    private mutating func startQueued(into actions: inout [WorkerAction]) {
        while running < config.slots, let attempt = queue.popFirst() {
            guard let entry = held[attempt], entry.state == .queued else { continue }
            held[attempt]!.state = .running
            running += 1
            actions.append(.start(entry.assignment))
        }
    }

    private mutating func stopAll(reason: String, into actions: inout [WorkerAction]) {
        for attempt in heldTasks where held[attempt]?.state == .running {
            held[attempt]!.state = .cancelling
            actions.append(.cancel(attempt))
        }
        connection = .stopped
        actions.append(.exit(reason: reason))
    }
}
