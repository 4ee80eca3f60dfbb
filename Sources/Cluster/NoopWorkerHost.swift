// Many lightweight worker connections in one process, for `duet bench dispatch
// --workers-in-process N`: each connection is a DEALER socket of its own, with its own
// routing identity and its own `WorkerState` (hello, welcome, heartbeats, acks,
// reconnects: the real protocol), but an assignment is answered at once with an empty
// result on the loop's thread instead of running on a task thread. One thread polls
// every socket, so 64 or more connections cost the machine little CPU and the
// coordinator is measured, not the workers competing with it for the cores.
//
// Only for no-op tasks: a task of another kind is reported as failed. Blobs (a run's
// spec) are fetched and checked like a worker does, but kept in memory.

import ClusterCore
import Foundation
import ZeroMQ

public final class NoopWorkerHost: @unchecked Sendable {
    public let endpoint: String
    public let connections: Int
    public let slots: Int
    public let prefetch: Int
    private let clock: any ClusterClock
    private let lock = NSLock()
    private var stopping = false
    private var answered = 0
    private let finished = DispatchSemaphore(value: 0)

    public init(endpoint: String, connections: Int, slots: Int, prefetch: Int, clock: any ClusterClock = MonotonicClock()) {
        self.endpoint = endpoint
        self.connections = connections
        self.slots = slots
        self.prefetch = prefetch
        self.clock = clock
    }

    /// Assignments answered so far.
    public var tasksAnswered: Int { lock.withLock { answered } }

    /// Starts the loop on a thread of its own.
    public func start() {
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            guard let context = try? Context() else { return }
            defer { context.close() }
            run(context)
        }
    }

    /// Says goodbye on every connection, closes them and waits for the thread.
    public func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 10)
    }

    private struct Connection {
        var identity: String
        var state: WorkerState
        var socket: Socket?
        /// Blobs being received, by hash.
        var blobs: [BlobHash: [UInt8]] = [:]
        var results = ResultBatches()
    }

    private func run(_ context: Context) {
        let pid = Int(getpid())
        var links: [Connection] = (0..<connections).map { index in
            var config = WorkerConfig(slots: slots, prefetch: prefetch, host: "inprocess", pid: pid, version: "noop-host")
            config.seed = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: pid)
            return Connection(identity: "inprocess-\(pid)-\(index)", state: WorkerState(config: config), socket: nil)
        }
        for index in links.indices { perform(links[index].state.start(now: clock.now()), on: &links[index], context) }
        while !lock.withLock({ stopping }) {
            var poller = Poller()
            var polled: [Int] = []
            var deadline = Double.infinity
            for index in links.indices {
                deadline = min(deadline, links[index].state.nextDeadline)
                if let socket = links[index].socket {
                    _ = poller.add(socket)
                    polled.append(index)
                }
            }
            let wait = min(0.1, max(0, deadline - clock.now()))
            guard let ready = try? poller.poll(timeoutMilliseconds: Int((wait * 1000).rounded(.up))) else { break }
            for (slot, index) in polled.enumerated() where ready[slot].contains(.readable) {
                receive(on: &links[index], context)
                Self.sendHeldResults(on: &links[index])
            }
            let now = clock.now()
            for index in links.indices where links[index].state.nextDeadline <= now {
                perform(links[index].state.tick(now: now), on: &links[index], context)
                Self.sendHeldResults(on: &links[index])
            }
        }
        // Leave as a worker does: GOODBYE returns what each holds.
        for index in links.indices {
            perform(links[index].state.stop(now: clock.now()), on: &links[index], context)
            Self.sendHeldResults(on: &links[index])
        }
        for link in links { link.socket?.close(linger: 500) }
    }

    private func receive(on link: inout Connection, _ context: Context) {
        for _ in 0..<256 {
            guard let socket = link.socket, let frames = try? socket.receive(dontWait: true) else { return }
            guard let message = try? CoordinatorMessage.decode(frames) else { continue }
            perform(link.state.receive(message, now: clock.now()), on: &link, context)
        }
    }

    private func perform(_ actions: [WorkerAction], on link: inout Connection, _ context: Context) {
        var queue = actions[...]
        while let action = queue.popFirst() {
            switch action {
            case .connect:
                _ = link.results.release()  // the state sends them again after the welcome
                link.socket?.close(linger: 0)
                link.socket = try? Self.dealer(context, endpoint: endpoint, identity: link.identity)
            case .send(let message):
                for ready in link.results.add(message, merging: link.state.coordinatorReadsBatches) {
                    _ = try? link.socket?.send(ready.encoded(), dontWait: true)
                }
            case .start(let assignment):
                let outcome: TaskOutcome =
                    assignment.kind == NoopRunner.kind
                    ? .success([]) : .failure("the in-process worker host runs only no-op tasks")
                lock.withLock { answered += 1 }
                queue.append(contentsOf: link.state.taskFinished(assignment.task, outcome, now: clock.now()))
            case .writeBlobChunk(let chunk):
                var bytes = link.blobs[chunk.hash, default: []]
                if bytes.count == chunk.offset { bytes += chunk.bytes }
                link.blobs[chunk.hash] = bytes
            case .finishBlob(let hash, let size):
                let bytes = link.blobs.removeValue(forKey: hash) ?? []
                let ok = bytes.count == size && BlobHash(of: bytes) == hash
                queue.append(contentsOf: link.state.blobStored(hash, ok: ok, now: clock.now()))
            case .discardBlob(let hash):
                link.blobs[hash] = nil
            case .cancel, .deliver, .log:
                break
            case .exit:
                link.socket?.close(linger: 0)
                link.socket = nil
            }
        }
    }

    private static func sendHeldResults(on link: inout Connection) {
        for message in link.results.release() { _ = try? link.socket?.send(message.encoded(), dontWait: true) }
    }

    private static func dealer(_ context: Context, endpoint: String, identity: String) throws -> Socket {
        let socket = try context.makeSocket(.dealer)
        do {
            try socket.set(.routingID, Array(identity.utf8))
            try socket.set(.reconnectInterval, 20)
            try socket.set(.reconnectIntervalMax, 250)
            try socket.set(.sendHighWaterMark, 100_000)
            try socket.set(.receiveHighWaterMark, 100_000)
            try socket.connect(endpoint)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }
}
