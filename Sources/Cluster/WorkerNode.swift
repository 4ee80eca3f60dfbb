// The worker's shell: one thread owns the DEALER socket and drives `WorkerState`;
// tasks run on a pool of `slots` threads and report back through a `Mailbox` the loop
// polls. The loop waits at most until `state.nextDeadline` and calls `tick` every
// time round, so heartbeats flow while tasks run for hours.
//
//     poll(DEALER, monitor, mailbox; timeout ≤ nextDeadline, results' release deadline)
//       → coordinator messages → state.receive → perform actions
//       → task outcomes, progress, stop → state.taskFinished / reportProgress / stop
//       → state.tick
//       → results due (`ResultBatches.due`: held a moment while every slot is busy)
//
// `.connect` closes the DEALER (linger 0) and opens a new one with the same routing
// id (`host-pid-random`), so a worker that reconnects is recognised. A CURVE client
// refused by the coordinator's allow-list is never retried by libzmq; the state
// machine's silence detection and back-off make it try again with a fresh socket, and
// the socket monitor says why in the log.

import ClusterCore
import DuetSupport
import Foundation
import Logging
import ZeroMQ

public struct WorkerOptions: Sendable {
    public var endpoint: String
    /// Tasks run at once.
    public var slots: Int
    /// Tasks held queued beyond the slots (for very short tasks).
    public var prefetch: Int
    /// CURVE keys; nil talks plain (loopback and ipc only, unless the caller allowed more).
    public var keys: ClientKeys?
    /// Where blobs are cached across restarts; nil keeps them in memory only.
    public var cacheDirectory: String?
    public var host: String
    public var pid: Int
    /// The routing identity: `host-pid-random` by default.
    public var identity: String
    public var version: String
    /// Exit when the parent process is no longer this one (`duet sweep --local`).
    public var parentPID: Int32?
    /// The state machine's `now`: monotonic, so that a wall-clock step does not look
    /// like a silent coordinator.
    public var clock: any ClusterClock = MonotonicClock()

    public init(endpoint: String, slots: Int, prefetch: Int = 0, keys: ClientKeys? = nil, cacheDirectory: String? = nil,
                version: String) {
        self.endpoint = endpoint
        self.slots = slots
        self.prefetch = prefetch
        self.keys = keys
        self.cacheDirectory = cacheDirectory
        host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        if host.isEmpty { host = "host" }
        pid = Int(getpid())
        identity = "\(host)-\(pid)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
        self.version = version
    }
}

/// A worker process's main loop. `run()` blocks until the coordinator says `SHUTDOWN`
/// or `stop()` is called (from any thread, e.g. a signal handler).
public final class WorkerNode: @unchecked Sendable {
    enum Event: Sendable {
        case finished(TaskAttempt, TaskOutcome)
        case progress(TaskAttempt, JSON)
        case stop(String)
    }

    public let options: WorkerOptions
    let registry: TaskRegistry
    let logger: Logger
    private let lock = NSLock()
    private var mailbox: Mailbox<Event>?
    private var pendingStop: String?

    public init(options: WorkerOptions, registry: TaskRegistry = .standard, logger: Logger) {
        self.options = options
        self.registry = registry
        self.logger = logger
    }

    /// Leaves gracefully: the tasks held go back to the coordinator (`GOODBYE`), then
    /// `run()` returns. Callable from any thread, before or during `run()`.
    public func stop(reason: String = "stopped") {
        lock.withLock {
            if let mailbox { mailbox.post(.stop(reason)) } else { pendingStop = reason }
        }
    }

    /// Serves tasks until told to stop. Returns the reason.
    @discardableResult
    public func run() throws -> String {
        let context = try Context()
        let mailbox = try Mailbox<Event>(context: context, name: "worker")
        lock.withLock {
            self.mailbox = mailbox
            if let reason = pendingStop { mailbox.post(.stop(reason)) }
        }
        let loop = try WorkerLoop(node: self, context: context, mailbox: mailbox)
        let reason: String
        do {
            reason = try loop.run()
        } catch {
            loop.close(linger: 0)
            lock.withLock { self.mailbox = nil }
            mailbox.close()
            context.close()
            throw error
        }
        lock.withLock { self.mailbox = nil }
        mailbox.close()
        context.close()
        return reason
    }
}

/// A DEALER to the coordinator and a PAIR reading its monitor events.
final class CoordinatorLink {
    let socket: Socket
    let monitor: Socket

    init(context: Context, endpoint: String, identity: String?, keys: ClientKeys?) throws {
        socket = try context.makeSocket(.dealer)
        do {
            if let identity { try socket.set(.routingID, Array(identity.utf8)) }
            if let keys { try socket.configureCurveClient(serverKey: keys.serverKey, keys: keys.keys) }
            try socket.set(.reconnectInterval, 20)
            try socket.set(.reconnectIntervalMax, 250)
            try socket.set(.sendHighWaterMark, 100_000)
            try socket.set(.receiveHighWaterMark, 100_000)
            let monitorEndpoint = "inproc://duet.monitor.\(UUID().uuidString)"
            try socket.monitor(
                monitorEndpoint,
                events: [.handshakeFailedAuth, .handshakeFailedProtocol, .handshakeFailedNoDetail, .handshakeSucceeded])
            monitor = try context.makeSocket(.pair)
            try monitor.connect(monitorEndpoint)
            try socket.connect(endpoint)
        } catch {
            socket.close()
            throw error
        }
    }

    func close(linger: Int32 = 0) {
        socket.close(linger: linger)
        monitor.close()
    }

    /// What the monitor saw since the last call, as log-worthy text (nil when nothing
    /// noteworthy): refusals and handshake failures.
    func drainMonitor() -> (refused: Bool, messages: [String]) {
        var refused = false
        var messages: [String] = []
        while let frames = try? monitor.receive(dontWait: true) {
            guard let event = MonitorEvent(frames: frames) else { continue }
            switch event.event {
            case .handshakeFailedAuth:
                refused = true
                messages.append(
                    "the coordinator refused this process's key (ZAP status \(event.value)): "
                        + "is its .pub file in the coordinator's allowed/ directory?")
            case .handshakeFailedProtocol:
                messages.append("handshake with \(event.endpoint) failed (protocol error \(event.value)): wrong coordinator.pub, or CURVE on one side only?")
            case .handshakeFailedNoDetail:
                messages.append("handshake with \(event.endpoint) failed (wrong coordinator.pub, or CURVE on one side only?)")
            default:
                break
            }
        }
        return (refused, messages)
    }
}

/// The loop's state, confined to the thread that runs it.
private final class WorkerLoop {
    let node: WorkerNode
    let options: WorkerOptions
    let context: Context
    let mailbox: Mailbox<WorkerNode.Event>
    let store: BlobStore
    let pool: ThreadPool
    var state: WorkerState
    var link: CoordinatorLink?
    var controls: [TaskAttempt: TaskControl] = [:]
    var exitReason: String?
    var sentGoodbye = false
    var outgoingResults = ResultBatches()
    var lastRefusalLog = -Double.infinity

    init(node: WorkerNode, context: Context, mailbox: Mailbox<WorkerNode.Event>) throws {
        self.node = node
        options = node.options
        self.context = context
        self.mailbox = mailbox
        store = try BlobStore(directory: options.cacheDirectory)
        var config = WorkerConfig(
            slots: options.slots, prefetch: options.prefetch, host: options.host, pid: options.pid, version: options.version)
        config.seed = UInt64(truncatingIfNeeded: options.pid) &* 0x9E37_79B9_7F4A_7C15
            ^ UInt64(truncatingIfNeeded: Int(Date().timeIntervalSince1970 * 1e6))
        state = WorkerState(config: config, cachedBlobs: store.hashes)
        pool = ThreadPool(threads: options.slots, name: "duet.task")
    }

    func now() -> Double { options.clock.now() }

    func run() throws -> String {
        node.logger.log(
            .info,
            "worker starting: \(options.slots) slot\(options.slots == 1 ? "" : "s"), connecting to \(options.endpoint)"
                + (options.keys == nil ? " (plain)" : " (CURVE, key \(options.keys!.name))"),
            ["worker.id": options.identity])
        perform(state.start(now: now()))
        while exitReason == nil {
            let deadline = min(state.nextDeadline, outgoingResults.releaseDeadline)
            let wait = min(1.0, max(0, deadline - now()))
            var poller = Poller()
            let mailboxIndex = poller.add(mailbox.receiver)
            var socketIndex = -1
            var monitorIndex = -1
            if let link {
                socketIndex = poller.add(link.socket)
                monitorIndex = poller.add(link.monitor)
            }
            let ready = try poller.poll(timeoutMilliseconds: Int((wait * 1000).rounded(.up)))
            if ready[mailboxIndex].contains(.readable) {
                for event in mailbox.drain() { handle(event) }
            }
            if socketIndex >= 0, ready[socketIndex].contains(.readable) { receiveMessages() }
            if monitorIndex >= 0, ready[monitorIndex].contains(.readable), let link {
                let (refused, messages) = link.drainMonitor()
                if !messages.isEmpty, !refused || now() - lastRefusalLog > 30 {
                    if refused { lastRefusalLog = now() }
                    for message in Set(messages).sorted() { node.logger.log(.error, message, ["worker.id": options.identity]) }
                }
            }
            if exitReason == nil, let parent = options.parentPID, getppid() != parent {
                node.logger.log(.notice, "the parent process exited; leaving", ["worker.id": options.identity])
                perform(state.stop(now: now()))
            }
            if exitReason == nil { perform(state.tick(now: now())) }
            // Results may wait a moment for more while the queue keeps every slot busy;
            // a worker on its way out sends what it holds.
            let everySlotBusy = exitReason == nil && state.running >= options.slots
            for message in outgoingResults.due(now: now(), everySlotBusy: everySlotBusy) { transmit(message) }
        }
        pool.shutdown()
        close(linger: sentGoodbye ? 1500 : 0)
        return exitReason ?? "stopped"
    }

    func close(linger: Int32) {
        link?.close(linger: linger)
        link = nil
    }

    func receiveMessages() {
        guard let socket = link?.socket else { return }
        for _ in 0..<1024 {
            guard let frames = try? socket.receive(dontWait: true) else { return }
            let message: CoordinatorMessage
            do {
                message = try CoordinatorMessage.decode(frames)
            } catch {
                node.logger.log(.warning, "dropped a message from the coordinator: \(error)", ["worker.id": options.identity])
                continue
            }
            perform(state.receive(message, now: now()))
            if exitReason != nil || link?.socket !== socket { return }
        }
    }

    func handle(_ event: WorkerNode.Event) {
        switch event {
        case .finished(let attempt, let outcome):
            controls[attempt] = nil
            if case .failure(let error) = outcome {
                node.logger.log(.warning, "task failed: \(error)", ["task.id": attempt.description, "worker.id": options.identity])
            }
            perform(state.taskFinished(attempt, outcome, now: now()))
        case .progress(let attempt, let report):
            perform(state.reportProgress(attempt, report: report, now: now()))
        case .stop(let reason):
            node.logger.log(.notice, "stopping (\(reason)); returning \(state.heldTasks.count) held tasks", ["worker.id": options.identity])
            perform(state.stop(now: now()))
        }
    }

    func perform(_ actions: [WorkerAction]) {
        for action in actions {
            switch action {
            case .connect:
                // Results held for the old connection stay unacknowledged in the state,
                // which sends them again after the next welcome.
                _ = outgoingResults.release()
                link?.close(linger: 0)
                link = nil
                do {
                    link = try CoordinatorLink(
                        context: context, endpoint: options.endpoint, identity: options.identity, keys: options.keys)
                } catch {
                    node.logger.log(.error, "cannot open a socket to \(options.endpoint): \(error)", ["worker.id": options.identity])
                }
            case .send(let message):
                send(message)
            case .start(let assignment):
                start(assignment)
            case .cancel(let attempt):
                // The state machine freed the slot: a runner that ignores cancellation
                // keeps its thread, and another thread takes its place.
                if controls[attempt]?.abandon() == true { pool.addThread() }
            case .deliver(let attempt, let decision):
                controls[attempt]?.deliver(decision)
            case .writeBlobChunk(let chunk):
                store.write(chunk)
            case .finishBlob(let hash, let size):
                let ok = store.finish(hash, size: size)
                if !ok { node.logger.log(.warning, "blob failed SHA-256 verification", ["blob": hash.short]) }
                perform(state.blobStored(hash, ok: ok, now: now()))
            case .discardBlob(let hash):
                store.discard(hash)
            case .exit(let reason):
                exitReason = reason
            case .log(var entry):
                if entry.metadata["worker.id"] == nil { entry.metadata["worker.id"] = options.identity }
                node.logger.log(entry)
            }
        }
    }

    /// Sends `message`, or holds it back to merge it with other results (sent at the
    /// end of the loop's pass at the latest).
    func send(_ message: WorkerMessage) {
        for ready in outgoingResults.add(message, merging: state.coordinatorReadsBatches) { transmit(ready) }
    }

    func transmit(_ message: WorkerMessage) {
        guard let socket = link?.socket else { return }
        do {
            if !(try socket.send(message.encoded(), dontWait: true)) {
                node.logger.log(.warning, "send queue full; dropped a \(message.typeName)", ["worker.id": options.identity])
            } else if case .goodbye = message {
                sentGoodbye = true
            }
        } catch {
            node.logger.log(.warning, "cannot send \(message.typeName): \(error)", ["worker.id": options.identity])
        }
    }

    func start(_ assignment: Assignment) {
        let attempt = assignment.task
        let mailbox = self.mailbox
        guard let runner = node.registry.runner(for: assignment.kind) else {
            let known = node.registry.kinds.joined(separator: ", ")
            mailbox.post(
                .finished(
                    attempt,
                    .failure("this worker has no runner for task kind \"\(assignment.kind)\" (it runs: \(known))")))
            return
        }
        let control = TaskControl(onReport: { report in mailbox.post(.progress(attempt, report)) })
        controls[attempt] = control
        let task = TaskContext(
            attempt: attempt, kind: assignment.kind, payload: assignment.payload, spec: assignment.spec,
            blobs: assignment.blobs, worker: options.identity, store: store, control: control)
        node.logger.log(.debug, "task started (\(assignment.kind))", ["task.id": attempt.description, "worker.id": options.identity])
        pool.submit {
            let outcome: TaskOutcome
            do {
                outcome = .success(try runner.run(task))
            } catch {
                outcome = .failure(String(describing: error))
            }
            mailbox.post(.finished(attempt, control.isCancelled ? .cancelled : outcome))
            return control.end()
        }
    }
}
