// Fewer messages per task: what the coordinator sends a worker in one turn, and what a
// worker reports in one pass of its loop, goes out merged. A no-op task costs an
// ASSIGN, a RESULT and an ACK, each a ZeroMQ message with its own JSON header and
// syscalls; merged, a turn's work for one worker costs one ASSIGNBATCH and one
// ACKBATCH, and a worker's finished tasks one RESULTBATCH.
//
// Only peers that announced the batch forms get them (`Hello.batches`,
// `Welcome.batches`); a batch of one goes out in the single form.

/// The coordinator's side: holds back the ACKs and ASSIGNs of a turn to each worker
/// that reads batches and merges them. Any other message to that worker first sends
/// what is held for it, so nothing overtakes a CANCEL or a DECISION. Within a worker's
/// merged messages, ACKs go before ASSIGNs: an ACK is about an attempt the worker
/// reported, never one assigned in the same turn.
public struct OutgoingBatches: Sendable {
    /// The most tasks one batch message carries (its header grows by about 20 bytes a task).
    public static let maxTasks = 1024

    private struct Held: Sendable {
        var acks: [TaskAttempt] = []
        /// One batch per run, in the order the runs' first assignments came.
        var assignments: [AssignmentBatch] = []
    }

    private var held: [PeerID: Held] = [:]
    /// Peers in the order their first held message came (a deterministic send order).
    private var order: [PeerID] = []

    public init() {}

    /// Takes `message` for `peer`. Returns what to send now, in order: nothing when the
    /// message was held back to be merged. `merging`: the peer reads the batch forms.
    public mutating func add(_ message: CoordinatorMessage, to peer: PeerID, merging: Bool) -> [CoordinatorMessage] {
        guard merging else { return release(peer) + [message] }
        switch message {
        case .ack(let attempt):
            hold(peer) { $0.acks.append(attempt) }
            guard held[peer]!.acks.count >= Self.maxTasks else { return [] }
            let full = held[peer]!.acks
            held[peer]!.acks.removeAll(keepingCapacity: true)
            return [.ackBatch(full)]
        case .assign(let assignment):
            var full: AssignmentBatch?
            hold(peer) { held in
                if let index = held.assignments.firstIndex(where: { $0.tasks[0].task.run == assignment.task.task.run }) {
                    held.assignments[index].tasks.append(assignment.task)
                    if held.assignments[index].tasks.count >= Self.maxTasks { full = held.assignments.remove(at: index) }
                } else {
                    held.assignments.append(AssignmentBatch(assignment))
                }
            }
            // A full batch may go before ACKs held for the same worker: they are about other attempts.
            return full.map { [.assignBatch($0)] } ?? []
        default:
            return release(peer) + [message]
        }
    }

    /// What is held for `peer`, as messages to send now (and no longer held).
    public mutating func release(_ peer: PeerID) -> [CoordinatorMessage] {
        guard let held = held.removeValue(forKey: peer) else { return [] }
        order.removeAll { $0 == peer }
        var messages: [CoordinatorMessage] = []
        if held.acks.count == 1 {
            messages.append(.ack(held.acks[0]))
        } else if !held.acks.isEmpty {
            messages.append(.ackBatch(held.acks))
        }
        for batch in held.assignments {
            messages.append(batch.tasks.count == 1 ? .assign(batch.assignments[0]) : .assignBatch(batch))
        }
        return messages
    }

    /// Everything held, peer by peer in the order they were first held.
    public mutating func releaseAll() -> [(PeerID, CoordinatorMessage)] {
        var messages: [(PeerID, CoordinatorMessage)] = []
        for peer in order {
            for message in release(peer) { messages.append((peer, message)) }
        }
        return messages
    }

    public var isEmpty: Bool { held.isEmpty }

    private mutating func hold(_ peer: PeerID, _ change: (inout Held) -> Void) {
        if held[peer] == nil {
            held[peer] = Held()
            order.append(peer)
        }
        change(&held[peer]!)
    }
}

/// The worker's side: holds back RESULTs to merge them into one RESULTBATCH. Any other
/// report (a FAILURE, a HEARTBEAT, a GOODBYE) first sends what is held, so reports keep
/// their order.
///
/// At the end of each pass of its loop the worker asks `due` what to send. While every
/// slot is busy (the queue fed each finished task's slot at once), results wait up to
/// `linger` seconds for more, `lingerResults` at most: the coordinator's refill is not
/// yet needed, and short tasks then cost one message and one journal turn per dozens of
/// results instead of one per handful. A free slot sends them at once, so a worker never
/// idles for want of the next assignment.
public struct ResultBatches: Sendable {
    /// The most results one batch carries, and the most body bytes: a larger result
    /// goes alone, as a plain RESULT.
    public static let maxResults = 1024
    public static let maxBytes = 1 << 20
    /// The longest results wait while every slot is busy, in seconds, and how many may.
    public static let linger = 0.001
    public static let lingerResults = 64

    private var results: [TaskResult] = []
    private var bytes = 0
    private var epoch: String?
    /// When `due` first saw the results now held (nil: none held, or not yet asked).
    private var heldSince: Double?

    public init() {}

    /// Takes `message`; returns what to send now, in order. `merging`: the coordinator
    /// reads `RESULTBATCH`.
    public mutating func add(_ message: WorkerMessage, merging: Bool) -> [WorkerMessage] {
        guard merging, case .result(let attempt, let payload, let epoch) = message, payload.count < Self.maxBytes else {
            return release() + [message]
        }
        var ready: [WorkerMessage] = []
        if !results.isEmpty, epoch != self.epoch || bytes + payload.count > Self.maxBytes { ready = release() }
        self.epoch = epoch
        results.append(TaskResult(attempt, payload: payload))
        bytes += payload.count
        if results.count >= Self.maxResults { ready += release() }
        return ready
    }

    /// What to send at the end of a pass of the worker's loop, at `now`: everything held,
    /// unless `everySlotBusy` and the results are fewer than `lingerResults` and younger
    /// than `linger` (then nothing, until `releaseDeadline` at the latest).
    public mutating func due(now: Double, everySlotBusy: Bool) -> [WorkerMessage] {
        guard !results.isEmpty else { return [] }
        let since = heldSince ?? now
        if everySlotBusy && results.count < Self.lingerResults && now < since + Self.linger {
            heldSince = since
            return []
        }
        return release()
    }

    /// When results held back by `due` must go (infinity when none are).
    public var releaseDeadline: Double {
        guard !results.isEmpty, let heldSince else { return .infinity }
        return heldSince + Self.linger
    }

    /// What is held, as one message (none when nothing is).
    public mutating func release() -> [WorkerMessage] {
        defer {
            results.removeAll(keepingCapacity: true)
            bytes = 0
            heldSince = nil
        }
        switch results.count {
        case 0: return []
        case 1: return [.result(results[0].attempt, payload: results[0].payload, epoch: epoch)]
        default: return [.resultBatch(results, epoch: epoch)]
        }
    }

    public var isEmpty: Bool { results.isEmpty }
}
