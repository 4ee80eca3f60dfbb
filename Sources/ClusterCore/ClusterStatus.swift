// What `duet status` shows: workers, runs and their tasks by state, throughput, ETA,
// counters and recent failures. The coordinator builds it from its state
// (`CoordinatorState.status(now:)`); the journal builds the same shape from the file
// alone (`Journal.status(now:)`, `duet status --journal FILE`), without live workers.

import DuetSupport

/// Where a run is in its life.
public enum RunPhase: String, Sendable, Hashable, CaseIterable {
    /// Tasks remain to be handed out.
    case dispatching
    /// Every task has been handed out; waiting for the last results.
    case draining
    /// Every task is done or failed.
    case completed
    /// Cancelled by a client; unfinished tasks were abandoned.
    case cancelled

    public var isFinished: Bool { self == .completed || self == .cancelled }

    /// The coarse state the journal's `runs.state` column keeps.
    public var state: String { isFinished ? rawValue : "running" }
}

/// One failed attempt, for status and logs.
public struct FailureRecord: Sendable, Hashable {
    public var task: TaskAttempt
    public var worker: String?
    public var error: String
    public var time: Double
    /// True when the task ran out of attempts and was recorded as failed.
    public var final: Bool

    public init(task: TaskAttempt, worker: String?, error: String, time: Double, final: Bool) {
        self.task = task
        self.worker = worker
        self.error = error
        self.time = time
        self.final = final
    }
}

public struct WorkerStatus: Sendable, Hashable {
    public var id: String
    public var host: String
    public var pid: Int
    public var version: String
    public var slots: Int
    public var prefetch: Int
    /// Attempts leased to the worker.
    public var running: [TaskAttempt]
    /// When a message from the worker last arrived.
    public var lastHeartbeat: Double
    public var connectedAt: Double

    public init(
        id: String, host: String, pid: Int, version: String, slots: Int, prefetch: Int, running: [TaskAttempt],
        lastHeartbeat: Double, connectedAt: Double
    ) {
        self.id = id
        self.host = host
        self.pid = pid
        self.version = version
        self.slots = slots
        self.prefetch = prefetch
        self.running = running
        self.lastHeartbeat = lastHeartbeat
        self.connectedAt = connectedAt
    }
}

public struct RunStatus: Sendable, Hashable {
    public var id: RunID
    public var kind: String
    public var label: String
    public var phase: RunPhase
    public var taskCount: Int
    /// Not yet handed out (including tasks waiting for a retry).
    public var queued: Int
    public var leased: Int
    public var done: Int
    public var failed: Int
    /// Tasks finished per second over the status window.
    public var throughput: Double
    /// Seconds to finish at that throughput; nil when unknown (nothing finished lately) or finished.
    public var eta: Double?
    public var createdAt: Double
    public var finishedAt: Double?

    public init(
        id: RunID, kind: String, label: String, phase: RunPhase, taskCount: Int, queued: Int, leased: Int, done: Int,
        failed: Int, throughput: Double, eta: Double?, createdAt: Double, finishedAt: Double?
    ) {
        self.id = id
        self.kind = kind
        self.label = label
        self.phase = phase
        self.taskCount = taskCount
        self.queued = queued
        self.leased = leased
        self.done = done
        self.failed = failed
        self.throughput = throughput
        self.eta = eta
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// What `duet coordinator --metrics` exports, from `CoordinatorState.totals(now:)`.
/// The `tasks*` totals other than queued and running count since the coordinator started.
public struct CoordinatorTotals: Sendable, Hashable {
    /// Tasks of unfinished runs not leased (not yet handed out, or waiting for a retry).
    public var tasksQueued = 0
    /// Tasks leased to a worker.
    public var tasksRunning = 0
    public var tasksDone = 0
    /// Tasks failed for good (every attempt failed).
    public var tasksFailed = 0
    /// Unfinished tasks of cancelled runs (`CANCELRUN`, or abandoned).
    public var tasksCancelled = 0
    public var runsActive = 0
    public var workers = 0
    public var slots = 0
    public var messagesIn = 0
    /// Tasks finished per second over the throughput window.
    public var throughput = 0.0

    public init() {}
}

/// Counters since the coordinator started.
public struct ClusterCounters: Sendable, Hashable {
    /// Messages dropped because they could not be decoded, by `WireError.Kind`.
    public var dropped: [String: Int] = [:]
    /// Results for tasks already finished (acknowledged and ignored).
    public var duplicates = 0
    /// Reports for attempts that are no longer current (revoked, cancelled, unknown run).
    public var stale = 0
    public var lostWorkers = 0
    /// Leases the worker never acknowledged holding (re-queued without counting a failure).
    public var lostAssignments = 0
    /// Leases taken back at their task kind's deadline (each a failed attempt).
    public var overdue = 0
    /// Reports and held attempts from another journal (another epoch): a worker that
    /// worked for a coordinator on another journal. Acknowledged or cancelled, never accepted.
    public var foreignEpoch = 0
    /// Failed attempts given back: a worker declared lost came back with its attempt
    /// (adopted, or its result accepted), so the loss was not a failure after all.
    public var refunded = 0
    public var retries = 0
    public var results = 0
    public var failures = 0
    public var messagesIn = 0

    public init() {}

    public var droppedTotal: Int { dropped.values.reduce(0, +) }
}

public struct ClusterStatus: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable { case coordinator, journal }

    public var source: Source
    public var time: Double
    public var workers: [WorkerStatus]
    /// Unfinished runs first (oldest first), then recently finished ones.
    public var runs: [RunStatus]
    public var throughput: Double
    /// The window `throughput` is measured over, in seconds.
    public var window: Double
    /// Seconds until every unfinished run is finished at the current throughput.
    public var eta: Double?
    public var counters: ClusterCounters
    /// Most recent first.
    public var recentFailures: [FailureRecord]

    public init(
        source: Source, time: Double, workers: [WorkerStatus], runs: [RunStatus], throughput: Double, window: Double,
        eta: Double?, counters: ClusterCounters, recentFailures: [FailureRecord]
    ) {
        self.source = source
        self.time = time
        self.workers = workers
        self.runs = runs
        self.throughput = throughput
        self.window = window
        self.eta = eta
        self.counters = counters
        self.recentFailures = recentFailures
    }

    /// The run a one-line status talks about: the oldest unfinished run, else the newest.
    public var currentRun: RunStatus? {
        runs.first { !$0.phase.isFinished } ?? runs.max { $0.id < $1.id }
    }
}

// MARK: - JSON

extension ClusterStatus {
    /// The JSON shape of `duet status --json` and of the STATUS reply.
    public var json: JSON {
        func optional(_ value: Double?) -> JSON { value.map(JSON.number) ?? .null }
        func attempt(_ a: TaskAttempt) -> JSON { [.integer(a.task.run.rawValue), .integer(a.task.index), .integer(a.attempt)] }
        return [
            "source": .string(source.rawValue),
            "time": .number(time),
            "throughput": .number(throughput),
            "window": .number(window),
            "eta": optional(eta),
            "workers": .array(
                workers.map { w in
                    [
                        "id": .string(w.id), "host": .string(w.host), "pid": .integer(w.pid), "version": .string(w.version),
                        "slots": .integer(w.slots), "prefetch": .integer(w.prefetch),
                        "running": .array(w.running.map(attempt)), "lastHeartbeat": .number(w.lastHeartbeat),
                        "connectedAt": .number(w.connectedAt),
                    ]
                }),
            "runs": .array(
                runs.map { r in
                    [
                        "id": .integer(r.id.rawValue), "kind": .string(r.kind), "label": .string(r.label),
                        "phase": .string(r.phase.rawValue), "taskCount": .integer(r.taskCount), "queued": .integer(r.queued),
                        "leased": .integer(r.leased), "done": .integer(r.done), "failed": .integer(r.failed),
                        "throughput": .number(r.throughput), "eta": optional(r.eta), "createdAt": .number(r.createdAt),
                        "finishedAt": optional(r.finishedAt),
                    ]
                }),
            "counters": [
                "dropped": .object(counters.dropped.sorted { $0.key < $1.key }.map { JSON.Member($0.key, .integer($0.value)) }),
                "duplicates": .integer(counters.duplicates), "stale": .integer(counters.stale),
                "lostWorkers": .integer(counters.lostWorkers), "lostAssignments": .integer(counters.lostAssignments),
                "overdue": .integer(counters.overdue), "foreignEpoch": .integer(counters.foreignEpoch),
                "refunded": .integer(counters.refunded),
                "retries": .integer(counters.retries), "results": .integer(counters.results),
                "failures": .integer(counters.failures), "messagesIn": .integer(counters.messagesIn),
            ],
            "recentFailures": .array(
                recentFailures.map { f in
                    [
                        "task": attempt(f.task), "worker": f.worker.map(JSON.string) ?? .null, "error": .string(f.error),
                        "time": .number(f.time), "final": .bool(f.final),
                    ]
                }),
        ]
    }

    /// Reads the JSON shape back (a STATUS reply's header).
    public init(json: JSON) throws(WireError) {
        try self.init(header: Header(type: "STATUS", json: json))
    }

    init(header h: Header) throws(WireError) {
        guard case .object = h.json else { throw h.fail("header", "expected an object") }
        let sourceText = try h.string("source")
        guard let source = Source(rawValue: sourceText) else { throw h.fail("source", "unknown source \"\(sourceText)\"") }
        var workers: [WorkerStatus] = []
        for i in try h.array("workers").indices {
            let w = try h.nested("workers", i)
            workers.append(
                WorkerStatus(
                    id: try w.string("id"), host: try w.string("host"), pid: try w.int("pid"), version: try w.string("version"),
                    slots: try w.int("slots"), prefetch: try w.int("prefetch"), running: try w.attempts("running"),
                    lastHeartbeat: try w.optionalDouble("lastHeartbeat") ?? 0,
                    connectedAt: try w.optionalDouble("connectedAt") ?? 0))
        }
        var runs: [RunStatus] = []
        for i in try h.array("runs").indices {
            let r = try h.nested("runs", i)
            let phaseText = try r.string("phase")
            guard let phase = RunPhase(rawValue: phaseText) else { throw r.fail("phase", "unknown phase \"\(phaseText)\"") }
            runs.append(
                RunStatus(
                    id: RunID(try r.int("id")), kind: try r.string("kind"), label: try r.optionalString("label") ?? "",
                    phase: phase, taskCount: try r.int("taskCount"), queued: try r.int("queued"), leased: try r.int("leased"),
                    done: try r.int("done"), failed: try r.int("failed"), throughput: try r.optionalDouble("throughput") ?? 0,
                    eta: try r.optionalDouble("eta"), createdAt: try r.optionalDouble("createdAt") ?? 0,
                    finishedAt: try r.optionalDouble("finishedAt")))
        }
        var counters = ClusterCounters()
        if h.json["counters"] != nil {
            let c = try h.nested("counters")
            if let dropped = c.json["dropped"], case .object(let members) = dropped {
                for member in members {
                    counters.dropped[member.key] = try Header.int(
                        member.value, field: "dropped.\(member.key)", atLeast: 0, header: c)
                }
            }
            counters.duplicates = try c.optionalInt("duplicates") ?? 0
            counters.stale = try c.optionalInt("stale") ?? 0
            counters.lostWorkers = try c.optionalInt("lostWorkers") ?? 0
            counters.lostAssignments = try c.optionalInt("lostAssignments") ?? 0
            counters.overdue = try c.optionalInt("overdue") ?? 0
            counters.foreignEpoch = try c.optionalInt("foreignEpoch") ?? 0
            counters.refunded = try c.optionalInt("refunded") ?? 0
            counters.retries = try c.optionalInt("retries") ?? 0
            counters.results = try c.optionalInt("results") ?? 0
            counters.failures = try c.optionalInt("failures") ?? 0
            counters.messagesIn = try c.optionalInt("messagesIn") ?? 0
        }
        var failures: [FailureRecord] = []
        for i in try h.array("recentFailures").indices {
            let f = try h.nested("recentFailures", i)
            failures.append(
                FailureRecord(
                    task: try f.triple(try f.value("task"), field: "task"), worker: try f.optionalString("worker"),
                    error: try f.string("error"),
                    time: try f.optionalDouble("time") ?? 0, final: try f.bool("final", default: false)))
        }
        self.init(
            source: source, time: try h.optionalDouble("time") ?? 0, workers: workers, runs: runs,
            throughput: try h.optionalDouble("throughput") ?? 0, window: try h.optionalDouble("window") ?? 0,
            eta: try h.optionalDouble("eta"), counters: counters, recentFailures: failures)
    }
}
