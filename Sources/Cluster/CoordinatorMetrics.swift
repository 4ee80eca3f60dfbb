// The coordinator's Prometheus metrics (`duet coordinator --metrics HOST:PORT`), in a
// registry of its own. The loop is single-threaded and must stay fast: it publishes
// `CoordinatorState.totals` once per turn (a batch of up to `batchLimit` messages) and
// the duration of each journal commit, never anything per message. A scrape reads the
// registry from the HTTP server's threads.
//
//     duet_coordinator_tasks_queued              gauge    not leased, of unfinished runs
//     duet_coordinator_tasks_running             gauge    leased to workers
//     duet_coordinator_tasks_done_total          counter  since the coordinator started
//     duet_coordinator_tasks_failed_total        counter  failed on every attempt
//     duet_coordinator_tasks_cancelled_total     counter  unfinished tasks of cancelled runs
//     duet_coordinator_runs_active               gauge    unfinished runs
//     duet_coordinator_workers_connected         gauge
//     duet_coordinator_worker_slots              gauge    slots of the connected workers
//     duet_coordinator_throughput_tasks_per_second gauge  over the status window (30 s)
//     duet_coordinator_messages_received_total   counter
//     duet_coordinator_journal_commit_seconds    histogram  one observation per commit
//
// Tasks per second for dashboards: rate(duet_coordinator_tasks_done_total[1m]).

import ClusterCore
import Prometheus
import Synchronization

public final class CoordinatorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let queued: Gauge
    private let running: Gauge
    private let runs: Gauge
    private let workers: Gauge
    private let slots: Gauge
    private let throughput: Gauge
    private let done: Counter
    private let failed: Counter
    private let cancelled: Counter
    private let messages: Counter
    private let commits: ValueHistogram
    /// The totals last published, to turn the state's running totals into increments.
    private let last = Mutex(CoordinatorTotals())

    /// Commit latency buckets, in seconds: a WAL commit takes tens of microseconds, an
    /// fsync'ed one (`--durable`) milliseconds, a disk in trouble far more.
    static let commitBuckets: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func name(_ metric: String, _ unit: String? = nil, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "duet", subsystem: "coordinator", metricName: metric, unitName: unit, helpText: help)
        }
        queued = registry.makeGauge(descriptor: name("tasks_queued", nil, "tasks of unfinished runs not leased to a worker"))
        running = registry.makeGauge(descriptor: name("tasks_running", nil, "tasks leased to a worker"))
        runs = registry.makeGauge(descriptor: name("runs_active", nil, "unfinished runs"))
        workers = registry.makeGauge(descriptor: name("workers_connected", nil, "workers connected"))
        slots = registry.makeGauge(descriptor: name("worker_slots", nil, "task slots of the connected workers"))
        throughput = registry.makeGauge(
            descriptor: name("throughput", "tasks_per_second", "tasks finished per second over the status window"))
        done = registry.makeCounter(descriptor: name("tasks_done", "total", "tasks finished with a result since the coordinator started"))
        failed = registry.makeCounter(descriptor: name("tasks_failed", "total", "tasks failed on every attempt since the coordinator started"))
        cancelled = registry.makeCounter(
            descriptor: name("tasks_cancelled", "total", "unfinished tasks of runs cancelled since the coordinator started"))
        messages = registry.makeCounter(descriptor: name("messages_received", "total", "messages from workers and clients"))
        commits = registry.makeValueHistogram(
            descriptor: name("journal_commit", "seconds", "time to commit one batch of journal changes"), buckets: Self.commitBuckets)
    }

    /// Publishes the state's figures (once per turn of the loop).
    public func publish(_ totals: CoordinatorTotals) {
        let previous = last.withLock { last in
            defer { last = totals }
            return last
        }
        queued.set(to: Double(totals.tasksQueued))
        running.set(to: Double(totals.tasksRunning))
        runs.set(to: Double(totals.runsActive))
        workers.set(to: Double(totals.workers))
        slots.set(to: Double(totals.slots))
        throughput.set(to: totals.throughput)
        func add(_ counter: Counter, _ now: Int, _ before: Int) {
            if now > before { counter.increment(by: Int64(now - before)) }
        }
        add(done, totals.tasksDone, previous.tasksDone)
        add(failed, totals.tasksFailed, previous.tasksFailed)
        add(cancelled, totals.tasksCancelled, previous.tasksCancelled)
        add(messages, totals.messagesIn, previous.messagesIn)
    }

    /// One journal commit took `seconds`.
    public func committed(seconds: Double) { commits.record(seconds) }

    /// The Prometheus text exposition of every metric.
    public func text() -> String { registry.emitToString() }
}
