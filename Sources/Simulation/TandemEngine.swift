// The exact simulator of MODEL.md as one streaming pass.
//
// Batches arrive at station 1; its buffer releases invocations in time order and
// the Kiefer-Wolfowitz recursion (StationState) gives each one's dispatch and
// completion at once. Station-1 invocations complete out of order, so they wait in
// a small heap until no later-dispatched invocation can complete before them, and
// then hand their jobs to station 2 in completion order (fine point 3: ties in
// dispatch order). Station 2 runs the same buffer and recursion on that stream.
// Memory is bounded by the jobs in flight, not by the run length.

/// Receives what happens to every job and invocation. The engine is generic over
/// it, so statistics and tracing are specialised into the loop (no dynamic dispatch).
public protocol TandemObserver {
    /// A job finished at `station` (0 or 1): it entered the station's buffer at
    /// `enter`, left in an invocation released at `release`, dispatched at
    /// `dispatch`, and completed at `completion`.
    mutating func stationJob(station: Int, job: Int, enter: Double, release: Double, dispatch: Double,
                             completion: Double)
    /// An invocation of `jobs` jobs whose first (FCFS) job is `firstJob` held an
    /// instance from `dispatch` to `completion`.
    mutating func invocation(station: Int, firstJob: Int, jobs: Int, dispatch: Double, completion: Double,
                             cold: Bool)
    /// A job left the system.
    mutating func jobCompleted(job: Int, arrival: Double, completion: Double)
}

/// How a replication ended.
public enum ReplicationOutcome: Sendable, Equatable {
    case completed
    /// The queue grew without bound; the reason names the station and the evidence.
    case unstable(reason: String)
}

public struct TandemEngine {
    public let config: TandemConfig
    public let replication: Int

    /// Instability is judged on the mean queue wait over windows of invocations
    /// that double in length (4096, 8192, ... at each station): a queue that grows
    /// without bound has a mean wait that doubles from window to window, a stable
    /// one settles. A replication is declared unstable when the window mean grew
    /// by at least `growthFactor` twice in a row and the jobs it represents (mean
    /// wait x job rate) exceed `backlogFloor` and 4 arriving batches, so that large
    /// but stable bursts are not mistaken for growth.
    public static let firstWindow = 4096
    public static let growthFactor = 1.5
    public static let backlogFloor = 1_000.0
    /// Station-1 invocations waiting to hand over, in jobs, beyond which memory is
    /// at risk: reported as unstable.
    public static let maxJobsInFlight = 1 << 24

    public init(config: TandemConfig, replication: Int) {
        self.config = config
        self.replication = replication
    }

    /// Simulates `jobs` jobs (the last batch cut short) and lets every job complete.
    /// Returns the outcome and the measurement window: from the arrival of job
    /// `firstKeptJob` to the arrival of the last job.
    public func run<Observer: TandemObserver>(
        jobs totalJobs: Int, firstKeptJob: Int, observer: inout Observer
    ) -> (outcome: ReplicationOutcome, windowStart: Double, windowEnd: Double) {
        var pass = Pass(config: config, replication: replication, observer: observer)
        let outcome = pass.run(totalJobs: totalJobs, firstKeptJob: firstKeptJob)
        observer = pass.observer
        return (outcome, pass.windowStart, pass.lastArrival)
    }
}

/// A station-1 invocation waiting to hand its jobs to station 2.
@usableFromInline
struct PendingInvocation {
    @usableFromInline var completion: Double
    @usableFromInline var sequence: Int
    @usableFromInline var firstJob: Int
    @usableFromInline var jobs: Int

    @inlinable func precedes(_ other: PendingInvocation) -> Bool {
        completion < other.completion || (completion == other.completion && sequence < other.sequence)
    }
}

/// The mutable state of one replication's pass.
@usableFromInline
struct Pass<Observer: TandemObserver> {
    var observer: Observer
    var station1: StationState
    var station2: StationState
    var buffer1: BatchBuffer
    var buffer2: BatchBuffer
    var arrivalStream: RandomStream
    var batchStream: RandomStream
    let interArrival: MomentSampler
    let batchSizes: BatchSampler
    /// Replayed arrivals, and each trace job's work multiplier (empty without).
    let trace: ArrivalTrace?
    let work: [Double]
    let hasWork: Bool

    /// Min-heap of completed-but-not-handed-over station-1 invocations.
    var pending: [PendingInvocation] = []
    var dispatched1 = 0

    /// Arrival time of every job from the oldest not yet handed to station 2 to the
    /// newest, indexed by job number modulo the capacity.
    var arrivalRing: [Double]
    var ringMask: Int
    /// A lower bound on the oldest job still needing the ring.
    var ringOldestBound = 0

    /// For the instability check: jobs per second and jobs per arriving batch.
    let jobRate: Double
    let batchMean: Double
    var waits1 = QueueWaitWindows()
    var waits2 = QueueWaitWindows()
    var jobsArrived = 0
    var windowStart = 0.0
    var lastArrival = 0.0
    var unstableReason: String?

    init(config: TandemConfig, replication: Int, observer: Observer) {
        self.observer = observer
        let seed = config.run.seed
        station1 = StationState(config.stations[0], station: 0, seed: seed, replication: replication)
        station2 = StationState(config.stations[1], station: 1, seed: seed, replication: replication)
        buffer1 = BatchBuffer(capacity: config.stations[0].maxBatch)
        buffer2 = BatchBuffer(capacity: config.stations[1].maxBatch)
        arrivalStream = RandomStream(seed: seed, replication: replication, purpose: .interArrival)
        batchStream = RandomStream(seed: seed, replication: replication, purpose: .batchSize)
        interArrival = MomentSampler(interArrivalOf: config)
        batchSizes = BatchSampler(config.batch)
        trace = config.trace
        work = config.trace?.work ?? []
        hasWork = !work.isEmpty
        arrivalRing = Array(repeating: 0, count: 1024)
        ringMask = 1023
        jobRate = config.jobRate
        batchMean = config.batch.mean
        pending.reserveCapacity(config.stations[0].servers + 1)
    }

    mutating func run(totalJobs: Int, firstKeptJob: Int) -> ReplicationOutcome {
        if let trace {
            // Each batch at its first row's time; the trace's first row at time 0.
            var batch = 0
            while jobsArrived < totalJobs && batch < trace.batchCount {
                let size = min(trace.batchSize(batch), totalJobs - jobsArrived)
                arriveAtStation1(time: trace.batchTime(batch), jobs: size, firstKeptJob: firstKeptJob)
                batch += 1
                if unstableReason != nil { break }
            }
        } else {
            var clock = 0.0
            while jobsArrived < totalJobs {
                // The first batch arrives after one inter-arrival time from the empty start.
                clock += interArrival.sample(&arrivalStream)
                let size = min(batchSizes.sample(&batchStream), totalJobs - jobsArrived)
                arriveAtStation1(time: clock, jobs: size, firstKeptJob: firstKeptJob)
                if unstableReason != nil { break }
            }
        }
        if let reason = unstableReason { return .unstable(reason: reason) }
        // No more arrivals: buffers release on their timeouts and every job completes.
        if buffer1.count > 0 { release1(at: buffer1.deadline) }
        while !pending.isEmpty { handOver(popPending()) }
        if buffer2.count > 0 { release2(at: buffer2.deadline) }
        if let reason = unstableReason { return .unstable(reason: reason) }
        return .completed
    }

    // MARK: Station 1

    @inline(__always)
    mutating func arriveAtStation1(time: Double, jobs: Int, firstKeptJob: Int) {
        // A timeout that expired strictly before this arrival released first; one
        // expiring exactly now waits, so the new jobs ride along (fine point 1).
        if buffer1.count > 0 && buffer1.deadline < time { release1(at: buffer1.deadline) }
        for _ in 0..<jobs {
            let job = jobsArrived
            if job == firstKeptJob { windowStart = time }
            storeArrival(job: job, time: time)
            jobsArrived += 1
            buffer1.append(job: job, arrival: time, enter: time, timeout: station1.timeout)
            if buffer1.count == station1.maxBatch { release1(at: time) }
        }
        lastArrival = time
    }

    @inline(__always)
    mutating func release1(at release: Double) {
        let size = buffer1.count
        let firstJob = buffer1.jobs[0]
        let result = hasWork ? station1.dispatch(release: release, jobs: buffer1.jobs, count: size, work: work)
            : station1.dispatch(release: release, jobs: size)
        for i in 0..<size {
            observer.stationJob(station: 0, job: buffer1.jobs[i], enter: buffer1.enters[i], release: release,
                                dispatch: result.dispatch, completion: result.completion)
        }
        observer.invocation(station: 0, firstJob: firstJob, jobs: size, dispatch: result.dispatch,
                            completion: result.completion, cold: result.cold)
        buffer1.count = 0
        checkBacklog(station: 0, queueWait: result.dispatch - release)
        pushPending(PendingInvocation(completion: result.completion, sequence: dispatched1, firstJob: firstJob,
                                      jobs: size))
        dispatched1 += 1
        // Every later station-1 invocation dispatches at or after this one, so all
        // that complete by now can go on to station 2 in order.
        while let top = pending.first, top.completion <= result.dispatch {
            handOver(popPending())
        }
    }

    // MARK: Hand-over and station 2

    @inline(__always)
    mutating func handOver(_ invocation: PendingInvocation) {
        let time = invocation.completion
        if buffer2.count > 0 && buffer2.deadline < time { release2(at: buffer2.deadline) }
        for job in invocation.firstJob..<(invocation.firstJob + invocation.jobs) {
            buffer2.append(job: job, arrival: arrivalRing[job & ringMask], enter: time, timeout: station2.timeout)
            if buffer2.count == station2.maxBatch { release2(at: time) }
        }
    }

    @inline(__always)
    mutating func release2(at release: Double) {
        let size = buffer2.count
        let result = hasWork ? station2.dispatch(release: release, jobs: buffer2.jobs, count: size, work: work)
            : station2.dispatch(release: release, jobs: size)
        for i in 0..<size {
            let job = buffer2.jobs[i]
            observer.stationJob(station: 1, job: job, enter: buffer2.enters[i], release: release,
                                dispatch: result.dispatch, completion: result.completion)
            observer.jobCompleted(job: job, arrival: buffer2.arrivals[i], completion: result.completion)
        }
        observer.invocation(station: 1, firstJob: buffer2.jobs[0], jobs: size, dispatch: result.dispatch,
                            completion: result.completion, cold: result.cold)
        buffer2.count = 0
        checkBacklog(station: 1, queueWait: result.dispatch - release)
    }

    @inline(__always)
    mutating func checkBacklog(station: Int, queueWait: Double) {
        if station == 0 {
            if waits1.add(queueWait) { judge(station: 0, waits1) }
        } else {
            if waits2.add(queueWait) { judge(station: 1, waits2) }
        }
    }

    mutating func judge(station: Int, _ waits: QueueWaitWindows) {
        guard unstableReason == nil, let (previous, latest) = waits.lastTwoGrowths,
              previous >= TandemEngine.growthFactor, latest >= TandemEngine.growthFactor else { return }
        let backlog = waits.latestMean * jobRate
        guard backlog > max(TandemEngine.backlogFloor, 4 * batchMean) else { return }
        unstableReason = "station \(station + 1): the mean queue wait grew from window to window "
            + "(x\(rounded(previous)), then x\(rounded(latest))) to about \(Int(backlog)) jobs queued for an instance "
            + "after \(jobsArrived) arrivals; the queue grows without bound"
    }

    private func rounded(_ value: Double) -> String { String(Double(Int(value * 100)) / 100) }

    // MARK: The arrival ring

    @inline(__always)
    mutating func storeArrival(job: Int, time: Double) {
        if job - ringOldestBound > ringMask { makeRoom(for: job) }
        arrivalRing[job & ringMask] = time
    }

    /// Finds the oldest job still needed; grows the ring when the span in flight
    /// really is larger than the ring.
    mutating func makeRoom(for job: Int) {
        var oldest = buffer1.count > 0 ? buffer1.jobs[0] : job
        for invocation in pending { oldest = min(oldest, invocation.firstJob) }
        ringOldestBound = oldest
        guard job - oldest > ringMask else { return }
        if job - oldest >= TandemEngine.maxJobsInFlight {
            unstableReason = unstableReason
                ?? "station 1: more than \(TandemEngine.maxJobsInFlight) jobs in flight between the stations"
        }
        var capacity = arrivalRing.count
        while job - oldest >= capacity { capacity *= 2 }
        var grown = [Double](repeating: 0, count: capacity)
        for j in oldest..<job { grown[j & (capacity - 1)] = arrivalRing[j & ringMask] }
        arrivalRing = grown
        ringMask = capacity - 1
    }

    // MARK: The pending heap

    @inline(__always)
    mutating func pushPending(_ item: PendingInvocation) {
        pending.append(item)
        var child = pending.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard pending[child].precedes(pending[parent]) else { break }
            pending.swapAt(child, parent)
            child = parent
        }
    }

    @inline(__always)
    mutating func popPending() -> PendingInvocation {
        let top = pending[0]
        let last = pending.removeLast()
        if !pending.isEmpty {
            pending[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= pending.count { break }
                var best = left
                if left + 1 < pending.count && pending[left + 1].precedes(pending[left]) { best = left + 1 }
                guard pending[best].precedes(pending[parent]) else { break }
                pending.swapAt(best, parent)
                parent = best
            }
        }
        return top
    }
}

/// Mean queue wait over consecutive windows of invocations of doubling length.
@usableFromInline
struct QueueWaitWindows {
    var windowLength = TandemEngine.firstWindow
    var count = 0
    var sum = 0.0
    /// Means of the last three completed windows, oldest first.
    var means: [Double] = []

    /// Adds one invocation's queue wait; true when a window just completed.
    @inline(__always)
    mutating func add(_ wait: Double) -> Bool {
        sum += wait
        count += 1
        guard count == windowLength else { return false }
        means.append(sum / Double(count))
        if means.count > 3 { means.removeFirst() }
        sum = 0
        count = 0
        windowLength *= 2
        return true
    }

    var latestMean: Double { means.last ?? 0 }

    /// The growth factors between the last three windows' means.
    var lastTwoGrowths: (Double, Double)? {
        guard means.count == 3, means[0] > 0, means[1] > 0 else { return nil }
        return (means[1] / means[0], means[2] / means[1])
    }
}
