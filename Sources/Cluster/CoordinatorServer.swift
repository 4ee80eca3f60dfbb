// The coordinator's shell: one thread owns the ROUTER socket, the journal and
// `CoordinatorState`, and runs
//
//     poll (timeout heartbeatInterval / 4)
//       → drain up to `batchLimit` messages without blocking
//       → answer the batch's STATUS requests at once
//       → decode the rest (errors → dropped), collect the state machine's actions
//         (+ tick when due)
//       → journal.commit(actions), once for the whole batch
//       → only then perform the sends, replies, blob and result reads, in order.
//
// Committing a batch at a time is what makes the journal fast (group commit) and the
// protocol safe: nothing is acknowledged or assigned before it is on disk.
//
// STATUS changes nothing, so it does not wait for the batch it came in: it is answered
// before the batch's other messages are handled, from the state as last committed
// (every earlier batch is). Its latency is then the turn in progress when it arrived,
// at most one batch of work, and not also the handling, commit and sends of its own
// batch. A STATUS that follows another message from the same peer in the batch keeps
// its place, so a peer's requests are still answered in order.
//
// Workers and clients share the one endpoint (deploy/README.md opens a single port):
// each decoder accepts only its own message types, so a message is routed to the
// client decoder by its type (SUBMIT, PUTBLOB, STATUS, RESULTS, CANCELRUN) and to the
// worker decoder otherwise. Malformed, unknown and oversized messages are logged
// (throttled), counted in the status and dropped; libzmq itself drops a connection
// that sends more than `maxMessageBytes` plus a margin.

import ClusterCore
import Foundation
import Logging
import ZeroMQ

public struct CoordinatorOptions: Sendable {
    /// Endpoints to bind (`tcp://*:5555`, `tcp://127.0.0.1:0`, `ipc:///run/duet.sock`).
    public var endpoints: [String]
    public var journalPath: String
    /// CURVE keys and allow-list; nil serves plain connections (loopback, ipc).
    public var keys: ServerKeys?
    public var config: CoordinatorConfig
    /// Most messages handled per journal commit.
    public var batchLimit = 256
    /// fsync every commit (survives power loss, at a cost per commit).
    public var durable = false
    /// Exit when the parent process is no longer this one (`duet sweep --local`).
    public var parentPID: Int32?
    /// Where the loop publishes its figures, once per turn, and each commit's duration
    /// (`duet coordinator --metrics`); nil: nothing is measured.
    public var metrics: CoordinatorMetrics?
    /// Sees every ZAP request before it is answered; tests throw from it to make the
    /// authentication handler fail.
    var zapRequestHook: (@Sendable (ZAPRequest) throws -> Void)?
    /// The state machine's `now`: monotonic, so that a wall-clock step expires no lease.
    public var clock: any ClusterClock = MonotonicClock()

    public init(endpoints: [String], journalPath: String, keys: ServerKeys? = nil,
                config: CoordinatorConfig = CoordinatorConfig()) {
        self.endpoints = endpoints
        self.journalPath = journalPath
        self.keys = keys
        self.config = config
    }
}

/// Why a coordinator cannot start, with what to do about it.
public struct CoordinatorError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A coordinator process's main loop. `run(listening:)` blocks until `stop()` (from any
/// thread, e.g. a signal handler).
public final class CoordinatorServer: @unchecked Sendable {
    public let options: CoordinatorOptions
    let logger: Logger
    private let lock = NSLock()
    private var mailbox: Mailbox<String>?
    private var pendingStop: String?

    public init(options: CoordinatorOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Stops after the batch in hand is committed and answered.
    public func stop(reason: String = "stopped") {
        lock.withLock {
            if let mailbox { mailbox.post(reason) } else { pendingStop = reason }
        }
    }

    /// Opens the journal, recovers, binds, calls `listening` with the bound endpoints
    /// (real ports), and serves until stopped.
    public func run(listening: ([String]) -> Void = { _ in }) throws {
        let journal = try Journal(path: options.journalPath, options: Journal.Options(durableAgainstPowerLoss: options.durable))
        defer { try? journal.close() }
        let lockFD = try Self.lockJournal(options.journalPath)
        defer { Foundation.close(lockFD) }
        // WAL checkpoints (the only fsyncs of a non-durable journal) on a thread of their own.
        let checkpointer = try journal.checkpointInBackground()
        defer { checkpointer.stop() }
        let context = try Context()
        let mailbox: Mailbox<String>
        do {
            mailbox = try Mailbox<String>(context: context, name: "coordinator")
        } catch {
            context.close()
            throw error
        }
        lock.withLock {
            self.mailbox = mailbox
            if let reason = pendingStop { mailbox.post(reason) }
        }
        defer {
            lock.withLock { self.mailbox = nil }
            mailbox.close()
            context.close()
        }
        let loop = CoordinatorLoop(server: self, context: context, journal: journal, mailbox: mailbox)
        try loop.run(listening: listening)
    }

    /// Takes the one-coordinator-per-journal lock and returns its descriptor (close it
    /// to release). Two coordinators would hand out the same tasks. flock(2) is
    /// independent of SQLite's own fcntl locks and is released if the process dies.
    static func lockJournal(_ path: String) throws(CoordinatorError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw CoordinatorError("cannot open the journal \(path) to lock it: \(String(cString: strerror(code))) (errno \(code))")
        }
        var result: Int32
        repeat { result = flock(fd, LOCK_EX | LOCK_NB) } while result != 0 && errno == EINTR
        if result != 0 {
            let code = errno
            Foundation.close(fd)
            throw journalLockError(path: path, errno: code)
        }
        return fd
    }

    /// Why `flock` on the journal failed: only `EWOULDBLOCK` means another holder.
    static func journalLockError(path: String, errno code: Int32) -> CoordinatorError {
        if code == EWOULDBLOCK || code == EAGAIN {
            return CoordinatorError(
                "another coordinator is using the journal \(path); stop it first, or use another --journal")
        }
        return CoordinatorError(
            "cannot lock the journal \(path): flock failed: \(String(cString: strerror(code))) (errno \(code))"
                + (code == ENOLCK || code == EOPNOTSUPP
                    ? "; the filesystem does not support locks (NFS?): put the journal on a local disk" : ""))
    }
}

private let statusType: [UInt8] = Array("STATUS".utf8)

/// The message types clients send; everything else goes to the worker decoder.
private let clientTypes: [[UInt8]] = ["SUBMIT", "PUTBLOB", "STATUS", "RESULTS", "CANCELRUN"].map { Array($0.utf8) }

/// Whether a type frame is a client's (a few byte comparisons, no hashing: this runs
/// for every message).
private func isClientType(_ type: [UInt8]) -> Bool {
    guard let first = type.first, first == UInt8(ascii: "S") || first == UInt8(ascii: "P") || first == UInt8(ascii: "R")
        || first == UInt8(ascii: "C")
    else { return false }
    return clientTypes.contains(type)
}

private final class CoordinatorLoop {
    let server: CoordinatorServer
    let options: CoordinatorOptions
    let config: CoordinatorConfig
    let context: Context
    let journal: Journal
    let mailbox: Mailbox<String>
    let logger: Logger
    var state: CoordinatorState
    var router: Socket?
    var monitor: Socket?
    var authenticator: ZAPAuthenticator?
    /// Clients that sent a REQ envelope (an empty delimiter frame) and await a reply.
    var requestPeers = Set<PeerID>()
    var stopReason: String?
    var refusals = 0
    var unreachable = 0
    /// A turn's ACKs and ASSIGNs to each worker, merged (sent when `perform` returns).
    var outgoing = OutgoingBatches()
    var performDepth = 0
    /// Turns longer than this are logged at debug level.
    let slowTurn = 0.05

    init(server: CoordinatorServer, context: Context, journal: Journal, mailbox: Mailbox<String>) {
        self.server = server
        options = server.options
        var config = server.options.config
        // The journal's epoch goes in every WELCOME; reports from another journal are
        // refused. (A journal that cannot be read fails at the snapshot, in `run`.)
        if let epoch = try? journal.epoch() { config.epoch = epoch }
        self.config = config
        self.context = context
        self.journal = journal
        self.mailbox = mailbox
        logger = server.logger
        state = CoordinatorState(config: config)
    }

    func run(listening: ([String]) -> Void) throws {
        // Recover before accepting anyone.
        let snapshot = try journal.snapshot(recentFailures: config.recentFailureLimit)
        let recovered = state.recovered(from: snapshot, now: options.clock.now())
        try commitAndPerform(recovered)
        options.metrics?.publish(state.totals(now: options.clock.now()))
        if !snapshot.runs.isEmpty {
            logger.log(.notice, "recovered \(snapshot.runs.count) unfinished run\(snapshot.runs.count == 1 ? "" : "s") from \(options.journalPath)")
        }

        let bound = try open()
        defer { closeSockets() }
        let security = options.keys.map { "CURVE, \($0.allowed.count) allowed key\($0.allowed.count == 1 ? "" : "s")" } ?? "plain"
        logger.log(.notice, "listening on \(bound.joined(separator: ", ")) (\(security)); journal \(options.journalPath)")
        listening(bound)

        let interval = config.heartbeatInterval / 4
        var lastTick = -Double.infinity
        var backlog = false
        guard let router, let monitor else { return }
        while stopReason == nil {
            var poller = Poller()
            let mailboxIndex = poller.add(mailbox.receiver)
            let routerIndex = poller.add(router)
            let monitorIndex = poller.add(monitor)
            let ready = try poller.poll(timeoutMilliseconds: backlog ? 0 : max(1, Int(interval * 1000)))
            if ready[mailboxIndex].contains(.readable), let reason = mailbox.drain().first {
                stopReason = reason
            }
            if let failure = authenticator?.failure {
                // Fail closed: without its ZAP handler, libzmq would admit any CURVE client
                // that knows our public key. Everything acknowledged so far is committed.
                let message = "the ZAP authentication handler failed (\(failure)); stopping so that no "
                    + "unauthenticated peer is served. The journal \(options.journalPath) is committed; restart to go on"
                logger.log(.error, message)
                throw CoordinatorError(message)
            }
            var actions: [CoordinatorAction] = []
            let now = options.clock.now()
            var batch: [[[UInt8]]] = []
            if ready[routerIndex].contains(.readable) || backlog {
                while batch.count < options.batchLimit, let frames = try router.receive(dontWait: true) {
                    batch.append(frames)
                }
            }
            backlog = batch.count == options.batchLimit
            var answers: [CoordinatorAction] = []
            var earlier = Set<PeerID>()
            for frames in batch {
                if let peer = frames.first.map(PeerID.init), !earlier.contains(peer), Self.isStatusRequest(frames) {
                    handle(frames, now: now, into: &answers)
                } else {
                    if let first = frames.first { earlier.insert(PeerID(first)) }
                    handle(frames, now: now, into: &actions)
                }
            }
            if !answers.isEmpty { try commitAndPerform(answers) }
            if now - lastTick >= interval {
                lastTick = now
                actions += state.tick(now: now)
            }
            let handled = options.clock.now()
            if !actions.isEmpty { try commitAndPerform(actions) }
            // How long a STATUS may wait behind this turn (`--verbose` logs the slow ones).
            let done = options.clock.now()
            if done - now > slowTurn {
                logger.log(
                    .debug,
                    String(
                        format: "slow turn: %d messages, %d actions; handling %.1f ms, commit and sends %.1f ms",
                        batch.count, actions.count, (handled - now) * 1000, (done - handled) * 1000))
            }
            if ready[monitorIndex].contains(.readable) { drainMonitor(monitor) }
            // Once per turn, never per message: O(runs + workers) and a few atomic stores.
            options.metrics?.publish(state.totals(now: done))
            if stopReason == nil, let parent = options.parentPID, getppid() != parent {
                stopReason = "the parent process exited"
            }
        }
        logger.log(.notice, "stopping: \(stopReason ?? "stopped"); the journal is committed")
    }

    // MARK: Sockets

    /// Starts the ZAP handler (before binding, or a CURVE server admits anyone), then
    /// creates and binds the ROUTER. Returns the endpoints as bound.
    func open() throws -> [String] {
        if let keys = options.keys {
            authenticator = try ZAPAuthenticator(
                context: context, allowedKeys: keys.allowed, onRequest: options.zapRequestHook,
                onFailure: { [server] _ in server.stop(reason: "the ZAP authentication handler failed") })
            if keys.allowed.isEmpty {
                logger.log(.warning, "the allow-list is empty: every worker and client will be refused until their .pub files are in allowed/ (then restart)")
            }
        }
        let router = try context.makeSocket(.router)
        self.router = router
        try router.set(.routerMandatory, true)
        try router.set(.routerHandover, true)
        try router.set(.maxMessageSize, Int64(config.limits.maxMessageBytes + (1 << 20)))
        try router.set(.sendHighWaterMark, 100_000)
        try router.set(.receiveHighWaterMark, 100_000)
        if let keys = options.keys {
            try router.configureCurveServer(keys: keys.keys)
            try router.set(.zapDomain, "duet")
            // Refuse handshakes if the ZAP handler is ever gone, rather than admit all.
            do {
                try router.set(.zapEnforceDomain, true)
            } catch {
                logger.log(.warning, "this libzmq cannot enforce ZAP (\(error)); should the authentication handler fail, "
                    + "peers could connect unchecked until the coordinator stops")
            }
        }
        let monitorEndpoint = "inproc://duet.coordinator.monitor.\(UUID().uuidString)"
        try router.monitor(monitorEndpoint, events: [.handshakeFailedAuth, .handshakeFailedProtocol])
        let monitor = try context.makeSocket(.pair)
        try monitor.connect(monitorEndpoint)
        self.monitor = monitor
        var bound: [String] = []
        for endpoint in options.endpoints {
            do {
                try router.bind(endpoint)
            } catch {
                throw CoordinatorError("cannot listen on \(endpoint): \(error.message)"
                                        + (error.errno == EADDRINUSE ? " (another process uses that port)" : ""))
            }
            bound.append((try? router.lastEndpoint) ?? endpoint)
        }
        return bound
    }

    func closeSockets() {
        router?.close(linger: 500)
        router = nil
        monitor?.close()
        monitor = nil
        authenticator?.stop()
        authenticator = nil
    }

    func drainMonitor(_ monitor: Socket) {
        while let frames = try? monitor.receive(dontWait: true) {
            guard let event = MonitorEvent(frames: frames) else { continue }
            refusals += 1
            guard refusals <= 20 || refusals % 1000 == 0 else { continue }
            let what = event.event == .handshakeFailedAuth
                ? "refused a peer whose key is not on the allow-list (ZAP \(event.value))"
                : "a peer failed the CURVE handshake (protocol error \(event.value); wrong coordinator.pub or no keys?)"
            logger.log(.warning, "\(what) on \(event.endpoint) (\(refusals) so far)")
        }
    }

    // MARK: Messages

    func handle(_ frames: [[UInt8]], now: Double, into actions: inout [CoordinatorAction]) {
        guard let first = frames.first else { return }
        let peer = PeerID(first)
        var body = Array(frames.dropFirst())
        if body.count > 1, body[0].isEmpty {
            // A REQ peer: strip its delimiter, and put one back in the reply.
            body.removeFirst()
            requestPeers.insert(peer)
        }
        if body.count >= 2, isClientType(body[1]) {
            do {
                let request = try ClientRequest.decode(body, limits: config.limits)
                if case .submit(let submission) = request, let completed = completedRun(like: submission) {
                    // The same work again, after it completed: its results are in the journal.
                    actions.append(.log(LogEntry(.info, "submission names a completed run", ["run.id": completed.description])))
                    actions.append(.reply(to: peer, .submitted(run: completed, resumed: true)))
                } else {
                    actions += state.receive(request, from: peer, now: now)
                }
            } catch {
                actions += state.dropped(from: peer, error, now: now)
            }
        } else {
            do {
                actions += state.receive(try WorkerMessage.decode(body, limits: config.limits), from: peer, now: now)
            } catch {
                actions += state.dropped(from: peer, error, now: now)
            }
        }
    }

    /// Whether `frames` (routing id first) are a client's STATUS request, with or without
    /// a REQ delimiter.
    static func isStatusRequest(_ frames: [[UInt8]]) -> Bool {
        var type = 2
        if frames.count > 2, frames[1].isEmpty { type = 3 }
        return frames.count > type && frames[type] == statusType
    }

    /// A completed run, every task done, that computed what `submission` asks for,
    /// unless an unfinished one does (that one is resumed as before).
    func completedRun(like submission: RunSubmission) -> RunID? {
        guard state.unfinishedRun(like: submission) == nil else { return nil }
        if let held = state.completedRun(like: submission) { return held }
        return try? journal.completedRun(
            kind: submission.kind, spec: BlobHash(of: submission.spec), taskCount: submission.taskCount)
    }

    /// Commits the batch's journal changes, then performs the rest in order.
    func commitAndPerform(_ actions: [CoordinatorAction]) throws {
        if actions.contains(where: { $0.journalChange != nil }) {
            do {
                let start = options.metrics == nil ? nil : ContinuousClock.now
                let result = try journal.commit(actions)
                if let start, let metrics = options.metrics { metrics.committed(seconds: Self.seconds(since: start)) }
                if !result.duplicates.isEmpty {
                    logger.log(.debug, "\(result.duplicates.count) results were already in the journal (ignored)")
                }
            } catch {
                logger.log(.error, "cannot write the journal: \(error); stopping, so that nothing is acknowledged that is not on disk")
                throw error
            }
        }
        perform(actions)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    func perform(_ actions: [CoordinatorAction]) {
        performDepth += 1
        defer {
            performDepth -= 1
            if performDepth == 0 {
                for (peer, message) in outgoing.releaseAll() { send(message, to: peer) }
            }
        }
        for action in actions {
            switch action {
            case .journal:
                break
            case .send(let peer, let message):
                for ready in outgoing.add(message, to: peer, merging: state.readsBatches(peer)) { send(ready, to: peer) }
            case .reply(let peer, let reply):
                sendHeld(to: peer)
                send(reply.encoded(), to: peer, what: reply.typeName)
            case .serveBlob(let peer, let hash, let offset, let maxBytes):
                sendHeld(to: peer)
                let message: CoordinatorMessage
                do {
                    message = try journal.blobChunk(hash, offset: offset, maxBytes: maxBytes).map { .blob($0) } ?? .blobMissing(hash)
                } catch {
                    logger.log(.error, "cannot read blob \(hash.short) from the journal: \(error)", ["peer": peer.description])
                    message = .blobMissing(hash)
                }
                send(message, to: peer)
            case .serveResults(let peer, let run, let from, let limit):
                sendHeld(to: peer)
                let reply: ClientReply
                do {
                    if let page = try journal.results(run: run, from: from, limit: limit) {
                        reply = .results(page)
                    } else {
                        reply = .error("no run \(run) in the journal \(options.journalPath)")
                    }
                } catch {
                    logger.log(.error, "cannot read results of run \(run): \(error)", ["peer": peer.description])
                    reply = .error("the coordinator cannot read its journal: \(error)")
                }
                send(reply.encoded(), to: peer, what: reply.typeName)
            case .progress(let report):
                // No decider yet (ASHA comes later): every trial goes on.
                perform(state.decide(report.task, .continue, now: options.clock.now()))
            case .log(let entry):
                logger.log(entry)
            }
        }
    }

    /// Sends what `outgoing` holds for `peer`, ahead of another message to it.
    func sendHeld(to peer: PeerID) {
        for message in outgoing.release(peer) { send(message, to: peer) }
    }

    func send(_ message: CoordinatorMessage, to peer: PeerID) {
        send(message.encoded(), to: peer, what: message.typeName)
    }

    func send(_ frames: [[UInt8]], to peer: PeerID, what: String) {
        guard let router else { return }
        var message: [[UInt8]] = [peer.bytes]
        if !requestPeers.isEmpty, requestPeers.remove(peer) != nil { message.append([]) }
        message.append(contentsOf: frames)
        do {
            if !(try router.send(message, dontWait: true)) {
                logger.log(.warning, "send queue to the peer is full; dropped a \(what)", ["peer": peer.description])
            }
        } catch where error.errno == EHOSTUNREACH {
            // The peer disconnected; workers resend and clients retry.
            unreachable += 1
            if unreachable <= 20 || unreachable % 1000 == 0 {
                logger.log(.debug, "peer gone; dropped a \(what) (\(unreachable) so far)", ["peer": peer.description])
            }
        } catch {
            logger.log(.warning, "cannot send a \(what): \(error)", ["peer": peer.description])
        }
    }
}
