// The exact simulator of MODEL.md as one streaming pass over a chain of N stations.
//
// Batches arrive at station 1; its buffer releases invocations in time order and
// the Kiefer-Wolfowitz recursion (StationState) gives each one's dispatch and
// completion at once. A station's invocations complete out of order, so they wait
// in a small heap until no later-dispatched invocation there can complete before
// them, and then hand their jobs to the next station in completion order (fine
// point 3: ties in dispatch order). Each station runs the same buffer and
// recursion on the stream it receives, so every station sees its input in time
// order. Memory is bounded by the jobs in flight, not by the run length, and the
// work per job grows linearly with N.

/// Receives what happens to every job and invocation. The engine is generic over
/// it, so statistics and tracing are specialised into the loop (no dynamic dispatch).
public protocol TandemObserver {
    /// A job finished at `station` (0-based): it entered the station's buffer at
    /// `enter`, left in an invocation released at `release`, dispatched at
    /// `dispatch`, and completed at `completion`.
    mutating func stationJob(station: Int, job: Int, enter: Double, release: Double, dispatch: Double,
                             completion: Double)
    /// An invocation of `jobs` jobs whose first (FCFS) job is `firstJob` held an
    /// instance from `dispatch` to `completion`; its jobs drew `service` seconds of
    /// service in all (before any trace work multiplier).
    mutating func invocation(station: Int, firstJob: Int, jobs: Int, dispatch: Double, completion: Double,
                             cold: Bool, service: Double)
    /// A job left the system (completed at the last station).
    mutating func jobCompleted(job: Int, arrival: Double, completion: Double)
    /// One invocation at `station` with its jobs: `count` jobs numbered `jobs[i]` that
    /// entered the station at `enters[i]` and the system at `arrivals[i]`, released
    /// together at `release`, dispatched at `dispatch`, completed at `completion`,
    /// with `service` seconds of service drawn; `leaving` when the station is the
    /// last. The default is `invocationJobByJob`; the metrics fuse the updates
    /// (`MetricsAccumulator`, `SegmentedMetrics`).
    mutating func invocationWithJobs(station: Int, jobs: UnsafePointer<Int>, enters: UnsafePointer<Double>,
                                     arrivals: UnsafePointer<Double>, count: Int, release: Double, dispatch: Double,
                                     completion: Double, cold: Bool, service: Double, leaving: Bool)
    /// A batch of `size` jobs (as drawn, before a run's end cuts it short), the first
    /// numbered `firstJob`, arrived `gap` after the one before (not called for a
    /// replayed trace). With the invocations' `service`, the run's random inputs
    /// whose means are known: control variates (`ControlCoefficients`). The default
    /// ignores it.
    mutating func batchArrived(firstJob: Int, gap: Double, size: Int)
    /// `invocationWithJobs` of an invocation of one job (every invocation of a station
    /// whose maxBatch is 1): job `job`, which entered the station at `enter` and the
    /// system at `arrival`. The default passes it on as a list of one.
    mutating func invocationOfOne(station: Int, job: Int, enter: Double, arrival: Double, release: Double,
                                  dispatch: Double, completion: Double, cold: Bool, service: Double, leaving: Bool)
    /// Takes memory of its own for whatever it shares with a copy of itself. The
    /// engine calls it when a pass starts and on a pass's copy, so that the calls
    /// above may write shared memory without a copy-on-write check per job
    /// (`MeasurementMemory`); an observer of plain values does nothing.
    mutating func ownMemory()
}

extension TandemObserver {
    @inline(__always)
    public mutating func batchArrived(firstJob: Int, gap: Double, size: Int) {}

    @inline(__always)
    public mutating func invocationWithJobs(station: Int, jobs: UnsafePointer<Int>, enters: UnsafePointer<Double>,
                                            arrivals: UnsafePointer<Double>, count: Int, release: Double,
                                            dispatch: Double, completion: Double, cold: Bool, service: Double,
                                            leaving: Bool) {
        invocationJobByJob(station: station, jobs: jobs, enters: enters, arrivals: arrivals, count: count,
                           release: release, dispatch: dispatch, completion: completion, cold: cold, service: service,
                           leaving: leaving)
    }

    @inline(__always)
    public mutating func invocationOfOne(station: Int, job: Int, enter: Double, arrival: Double, release: Double,
                                         dispatch: Double, completion: Double, cold: Bool, service: Double,
                                         leaving: Bool) {
        var job = job, enter = enter, arrival = arrival
        invocationWithJobs(station: station, jobs: &job, enters: &enter, arrivals: &arrival, count: 1,
                           release: release, dispatch: dispatch, completion: completion, cold: cold, service: service,
                           leaving: leaving)
    }

    /// `invocationWithJobs` as the per-job calls: `stationJob` (and `jobCompleted` when
    /// leaving) job by job, then `invocation`.
    @inline(__always)
    public mutating func invocationJobByJob(station: Int, jobs: UnsafePointer<Int>, enters: UnsafePointer<Double>,
                                            arrivals: UnsafePointer<Double>, count: Int, release: Double,
                                            dispatch: Double, completion: Double, cold: Bool, service: Double,
                                            leaving: Bool) {
        for i in 0..<count {
            stationJob(station: station, job: jobs[i], enter: enters[i], release: release, dispatch: dispatch,
                       completion: completion)
            if leaving { jobCompleted(job: jobs[i], arrival: arrivals[i], completion: completion) }
        }
        invocation(station: station, firstJob: jobs[0], jobs: count, dispatch: dispatch, completion: completion,
                   cold: cold, service: service)
    }
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
    /// Jobs between the oldest invocation of a station still in service and its
    /// newest, beyond which memory is at risk: reported as unstable.
    public static let maxJobsInFlight = 1 << 24

    /// Which slot search the stations use (nil: by their number of servers, see
    /// `StationState.scanLimit`); tests set it to check that both agree.
    let splitSlots: Bool?
    /// Whether jobs of maxBatch-1 stations go through the buffer as any other
    /// (`Pass.releasesAlone`); tests set it to check that both ways agree.
    let bufferEveryJob: Bool

    public init(config: TandemConfig, replication: Int) {
        self.init(config: config, replication: replication, splitSlots: nil)
    }

    init(config: TandemConfig, replication: Int, splitSlots: Bool?, bufferEveryJob: Bool = false) {
        self.config = config
        self.replication = replication
        self.splitSlots = splitSlots
        self.bufferEveryJob = bufferEveryJob
    }

    /// Simulates `jobs` jobs (the last batch cut short) and lets every job complete.
    /// Returns the outcome and the measurement window: from the arrival of job
    /// `firstKeptJob` to the arrival of the last job.
    public func run<Observer: TandemObserver>(
        jobs totalJobs: Int, firstKeptJob: Int, observer: inout Observer
    ) -> (outcome: ReplicationOutcome, windowStart: Double, windowEnd: Double) {
        var pass = Pass(config: config, replication: replication, observer: observer, marks: [firstKeptJob],
                        splitSlots: splitSlots, bufferEveryJob: bufferEveryJob)
        defer { pass.deallocate() }
        pass.arrive(until: totalJobs)
        let outcome = pass.drain()
        observer = pass.observer
        return (outcome, pass.markTimes.first ?? 0, pass.lastArrival)
    }
}

/// A dispatched invocation waiting to hand its jobs to the next station.
@usableFromInline
struct PendingInvocation {
    @usableFromInline var completion: Double
    /// Dispatch order at its station (fine point 3: ties hand over in dispatch order).
    @usableFromInline var sequence: Int
    /// Where its jobs start in the hand-over ring, and how many there are.
    @usableFromInline var position: Int
    @usableFromInline var jobs: Int

    @inlinable func precedes(_ other: PendingInvocation) -> Bool {
        completion < other.completion || (completion == other.completion && sequence < other.sequence)
    }
}

/// The invocations a station has dispatched whose jobs have not yet gone on to the
/// next station: a min-heap in completion order (ties in dispatch order), and the
/// jobs themselves (number and system arrival) in a ring in dispatch order. The heap
/// holds at most `servers` invocations between dispatches, so the ring spans the
/// jobs dispatched since the oldest invocation still in service. Heap and ring are
/// memory of the queue's own (`deallocate()`): the hot loop updates them without
/// copy-on-write or bounds checks.
@usableFromInline
struct HandOverQueue {
    var heap: UnsafeMutablePointer<PendingInvocation>
    var heapCount = 0
    var heapCapacity: Int
    var jobs: UnsafeMutablePointer<Int>
    var arrivals: UnsafeMutablePointer<Double>
    var mask: Int
    /// Ring position of the next job dispatched; invocations dispatched so far.
    var next = 0
    var dispatched = 0
    /// A lower bound on the oldest ring position still in the heap.
    var oldestBound = 0

    init(servers: Int) {
        jobs = .allocate(capacity: 1024)
        jobs.initialize(repeating: 0, count: 1024)
        arrivals = .allocate(capacity: 1024)
        arrivals.initialize(repeating: 0, count: 1024)
        mask = 1023
        heapCapacity = servers + 1
        heap = .allocate(capacity: heapCapacity)
    }

    /// Frees heap and ring; unusable afterwards.
    func deallocate() {
        heap.deallocate()
        jobs.deallocate()
        arrivals.deallocate()
    }

    /// The same queue in memory of its own.
    func copy() -> HandOverQueue {
        var twin = self
        twin.heap = .allocate(capacity: heapCapacity)
        twin.heap.initialize(from: heap, count: heapCount)
        twin.jobs = .allocate(capacity: mask + 1)
        twin.jobs.initialize(from: jobs, count: mask + 1)
        twin.arrivals = .allocate(capacity: mask + 1)
        twin.arrivals.initialize(from: arrivals, count: mask + 1)
        return twin
    }

    var isEmpty: Bool { heapCount == 0 }

    /// The invocation to hand over first (valid when not empty).
    var top: PendingInvocation { heap[0] }

    /// Adds an invocation of the buffer's first `count` jobs that completes at `completion`.
    /// Returns the span of ring positions in use when the ring had to grow past
    /// `TandemEngine.maxJobsInFlight`, else nil.
    @inline(__always)
    mutating func push(completion: Double, buffer: UnsafeMutablePointer<BatchBuffer>, count: Int) -> Int? {
        var overflow: Int?
        if next + count - oldestBound > mask + 1 { overflow = makeRoom(for: count) }
        let bufferJobs = buffer.pointee.jobs, bufferArrivals = buffer.pointee.arrivals
        for i in 0..<count {
            jobs[(next + i) & mask] = bufferJobs[i]
            arrivals[(next + i) & mask] = bufferArrivals[i]
        }
        insert(PendingInvocation(completion: completion, sequence: dispatched, position: next, jobs: count))
        next += count
        dispatched += 1
        return overflow
    }

    /// `push` of an invocation of one job, `job`, which arrived in the system at `arrival`.
    @inline(__always)
    mutating func pushOne(completion: Double, job: Int, arrival: Double) -> Int? {
        var overflow: Int?
        if next + 1 - oldestBound > mask + 1 { overflow = makeRoom(for: 1) }
        jobs[next & mask] = job
        arrivals[next & mask] = arrival
        insert(PendingInvocation(completion: completion, sequence: dispatched, position: next, jobs: 1))
        next += 1
        dispatched += 1
        return overflow
    }

    /// Adds `item` to the heap.
    @inline(__always)
    mutating func insert(_ item: PendingInvocation) {
        if heapCount == heapCapacity { growHeap() }
        var child = heapCount
        heapCount += 1
        // Sift up: move parents down until the new item's place is found.
        while child > 0 {
            let parent = (child - 1) / 2
            guard item.precedes(heap[parent]) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = item
    }

    @inline(__always)
    mutating func pop() -> PendingInvocation {
        let top = heap[0]
        heapCount -= 1
        if heapCount > 0 {
            let last = heap[heapCount]
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= heapCount { break }
                var best = left
                if left + 1 < heapCount && heap[left + 1].precedes(heap[left]) { best = left + 1 }
                guard heap[best].precedes(last) else { break }
                heap[parent] = heap[best]
                parent = best
            }
            heap[parent] = last
        }
        return top
    }

    /// Doubles the heap's room (the bound of `servers` + 1 holds between dispatches;
    /// this keeps the queue safe whatever happens).
    mutating func growHeap() {
        let grown = UnsafeMutablePointer<PendingInvocation>.allocate(capacity: 2 * heapCapacity)
        grown.moveInitialize(from: heap, count: heapCount)
        heap.deallocate()
        heap = grown
        heapCapacity *= 2
    }

    /// Finds the oldest position still needed and grows the ring until the span in
    /// use is at most half of it (so the search runs rarely), or, past
    /// `TandemEngine.maxJobsInFlight` entries, just fits.
    mutating func makeRoom(for count: Int) -> Int? {
        var oldest = next
        for i in 0..<heapCount { oldest = min(oldest, heap[i].position) }
        oldestBound = oldest
        let span = next + count - oldest
        guard 2 * span > mask + 1 else { return nil }
        var capacity = mask + 1
        while 2 * span > capacity && capacity < TandemEngine.maxJobsInFlight { capacity *= 2 }
        while span > capacity { capacity *= 2 }
        if capacity == mask + 1 { return span >= TandemEngine.maxJobsInFlight ? span : nil }
        let grownJobs = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
        grownJobs.initialize(repeating: 0, count: capacity)
        let grownArrivals = UnsafeMutablePointer<Double>.allocate(capacity: capacity)
        grownArrivals.initialize(repeating: 0, count: capacity)
        for p in oldest..<next {
            grownJobs[p & (capacity - 1)] = jobs[p & mask]
            grownArrivals[p & (capacity - 1)] = arrivals[p & mask]
        }
        jobs.deallocate()
        arrivals.deallocate()
        jobs = grownJobs
        arrivals = grownArrivals
        mask = capacity - 1
        return span >= TandemEngine.maxJobsInFlight ? span : nil
    }
}

/// The mutable state of one replication's pass. Station k (0-based) releases
/// invocations in time order; those of every station but the last wait in
/// `handOvers[k]` until no later dispatch there can complete before them, then
/// enter station k + 1's buffer, which may release and so on down the chain.
///
/// The per-station state lives in memory the pass allocates and frees itself
/// (`deallocate()`): reached through pointers, each station's state is updated in
/// place, without the copy-on-write checks and reference counting of an array of
/// structs holding arrays, which cost a third of the speed of the two-station
/// reference run.
@usableFromInline
struct Pass<Observer: TandemObserver> {
    var observer: Observer
    var stations: UnsafeMutablePointer<StationState>
    var buffers: UnsafeMutablePointer<BatchBuffer>
    /// `handOvers[k]` holds station k's invocations on their way to station k + 1.
    var handOvers: UnsafeMutablePointer<HandOverQueue>
    var waits: UnsafeMutablePointer<QueueWaitWindows>
    /// The last station's index (N - 1).
    let last: Int
    var arrivalStream: RandomStream
    var batchStream: RandomStream
    let interArrival: MomentSampler
    /// Markov-modulated arrivals' levels (nil for renewal arrivals).
    var mmpp: MMPPSampler?
    let batchSizes: BatchSampler
    /// Replayed arrivals, and each trace job's work multiplier (empty without).
    let trace: ArrivalTrace?
    /// Trace times are divided by it (`TandemConfig.rateMultiplier`).
    let rateMultiplier: Double
    let work: [Double]
    let hasWork: Bool
    /// Whether a maxBatch-1 station may skip its buffer (`releasesAlone`).
    let singlesSkipBuffer: Bool

    /// For the instability check: jobs per second and jobs per arriving batch.
    let jobRate: Double
    let batchMean: Double
    var jobsArrived = 0
    var lastArrival = 0.0
    var unstableReason: String?

    /// Where the arrivals stopped, so that `arrive(until:)` can go on from there: the
    /// clock, the next trace batch, and the jobs of a batch cut short at the last
    /// stop that have yet to arrive (at `clock`).
    var clock = 0.0
    var traceBatch = 0
    var cutJobs = 0

    /// Job numbers, ascending, whose arrival times are recorded in `markTimes` as they
    /// arrive: the first kept job of each run length a caller may ask about (the
    /// start of its measurement window).
    let marks: [Int]
    var markTimes: [Double] = []
    var nextMark: Int

    init(config: TandemConfig, replication: Int, observer: Observer, marks: [Int], splitSlots: Bool? = nil,
         bufferEveryJob: Bool = false) {
        precondition(!config.stations.isEmpty, "a workflow needs at least one station")
        self.observer = observer
        self.observer.ownMemory()
        let seed = config.run.seed
        let count = config.stations.count
        stations = .allocate(capacity: count)
        buffers = .allocate(capacity: count)
        handOvers = .allocate(capacity: count)
        waits = .allocate(capacity: count)
        for (k, station) in config.stations.enumerated() {
            (stations + k).initialize(to: StationState(station, station: k, seed: seed, replication: replication,
                                                       splitSlots: splitSlots))
            (buffers + k).initialize(to: BatchBuffer(capacity: station.maxBatch))
            if k < count - 1 { (handOvers + k).initialize(to: HandOverQueue(servers: station.servers)) }
            (waits + k).initialize(to: QueueWaitWindows())
        }
        last = count - 1
        arrivalStream = RandomStream(seed: seed, replication: replication, purpose: .interArrival)
        batchStream = RandomStream(seed: seed, replication: replication, purpose: .batchSize)
        interArrival = MomentSampler(interArrivalOf: config)
        batchSizes = BatchSampler(config.batch)
        trace = config.trace
        rateMultiplier = config.rateMultiplier
        work = config.trace?.work ?? []
        hasWork = !work.isEmpty
        singlesSkipBuffer = !hasWork && !bufferEveryJob
        jobRate = config.jobRate
        batchMean = config.batch.mean
        if let spec = config.mmpp { mmpp = MMPPSampler(spec, stream: &arrivalStream) }
        self.marks = marks
        nextMark = marks.first ?? Int.max
    }

    /// Frees the per-station state; the pass is unusable afterwards.
    func deallocate() {
        for k in 0...last {
            stations[k].deallocate()
            buffers[k].deallocate()
            if k < last { handOvers[k].deallocate() }
        }
        stations.deinitialize(count: last + 1)
        buffers.deinitialize(count: last + 1)
        handOvers.deinitialize(count: last)
        waits.deinitialize(count: last + 1)
        stations.deallocate()
        buffers.deallocate()
        handOvers.deallocate()
        waits.deallocate()
    }

    /// Generates arrivals until `totalJobs` jobs have arrived, the last batch cut
    /// short; its other jobs arrive first when called again with a larger total, so
    /// that arriving in steps is the same pass as arriving at once. Stops early when
    /// the run is found unstable (`unstableReason`).
    mutating func arrive(until totalJobs: Int) {
        if cutJobs > 0 && unstableReason == nil {
            let size = min(cutJobs, totalJobs - jobsArrived)
            cutJobs -= size
            arriveAtStation1(time: clock, jobs: size)
        }
        while jobsArrived < totalJobs && unstableReason == nil {
            let drawn: Int
            if let trace {
                // Each batch at its first row's time; the trace's first row at time 0.
                guard traceBatch < trace.batchCount else { return }
                clock = trace.batchTime(traceBatch) / rateMultiplier
                drawn = trace.batchSize(traceBatch)
                traceBatch += 1
            } else {
                // The first batch arrives after one inter-arrival time from the empty start.
                let previous = clock
                if mmpp != nil {
                    clock = mmpp!.next(after: clock, &arrivalStream)
                } else {
                    clock += interArrival.sample(&arrivalStream)
                }
                drawn = batchSizes.sample(&batchStream)
                observer.batchArrived(firstJob: jobsArrived, gap: clock - previous, size: drawn)
            }
            let size = min(drawn, totalJobs - jobsArrived)
            cutJobs = drawn - size
            arriveAtStation1(time: clock, jobs: size)
        }
    }

    /// No more arrivals: down the chain, each buffer releases on its timeout once
    /// nothing more can enter it, and every job completes.
    mutating func drain() -> ReplicationOutcome {
        if let reason = unstableReason { return .unstable(reason: reason) }
        for k in 0...last {
            if buffers[k].count > 0 { release(k, at: buffers[k].deadline) }
            if k < last {
                while !handOvers[k].isEmpty { handOver(to: k + 1, handOvers[k].pop()) }
            }
        }
        if let reason = unstableReason { return .unstable(reason: reason) }
        return .completed
    }

    /// A pass in the same state with memory of its own, to drain without ending this one.
    func copy() -> Pass {
        var twin = self
        twin.observer.ownMemory()
        let count = last + 1
        twin.stations = .allocate(capacity: count)
        twin.buffers = .allocate(capacity: count)
        twin.handOvers = .allocate(capacity: count)
        twin.waits = .allocate(capacity: count)
        for k in 0...last {
            (twin.stations + k).initialize(to: stations[k].copy())
            (twin.buffers + k).initialize(to: buffers[k].copy(capacity: stations[k].maxBatch))
            if k < last { (twin.handOvers + k).initialize(to: handOvers[k].copy()) }
            (twin.waits + k).initialize(to: waits[k])
        }
        return twin
    }

    // MARK: Station 1

    @inline(__always)
    mutating func arriveAtStation1(time: Double, jobs: Int) {
        // A timeout that expired strictly before this arrival released first; one
        // expiring exactly now waits, so the new jobs ride along (fine point 1).
        if buffers[0].count > 0 && buffers[0].deadline < time { release(0, at: buffers[0].deadline) }
        if releasesAlone(0) {
            arriveAlone(time: time, jobs: jobs)
        } else {
            let timeout = stations[0].timeout
            let maxBatch = stations[0].maxBatch
            for _ in 0..<jobs {
                buffers[0].append(job: nextJob(at: time), arrival: time, enter: time, timeout: timeout)
                if buffers[0].count == maxBatch { release(0, at: time) }
            }
        }
        lastArrival = time
    }

    /// `jobs` jobs arrive at `time` at a station 1 that releases each alone
    /// (`releasesAlone`). A call of its own, once a batch: inlined, it made
    /// `arriveAtStation1` too large to be inlined into `arrive` (the batching
    /// scenario ran up to 3% slower, three runs each).
    @inline(never)
    mutating func arriveAlone(time: Double, jobs: Int) {
        for _ in 0..<jobs { releaseOne(0, job: nextJob(at: time), arrival: time, at: time) }
    }

    /// Numbers the next job, which arrives at `time`.
    @inline(__always)
    mutating func nextJob(at time: Double) -> Int {
        let job = jobsArrived
        if job == nextMark { markArrival(at: time) }
        jobsArrived += 1
        return job
    }

    mutating func markArrival(at time: Double) {
        markTimes.append(time)
        nextMark = markTimes.count < marks.count ? marks[markTimes.count] : Int.max
    }

    // MARK: Release and hand-over

    /// Station `k` releases its buffer as one invocation at `release`; the jobs of
    /// the last station leave the system, the others wait to hand over.
    mutating func release(_ k: Int, at release: Double) {
        let size = buffers[k].count
        let result = hasWork
            ? stations[k].dispatch(release: release, jobs: buffers[k].jobs, count: size, work: work)
            : stations[k].dispatch(release: release, jobs: size)
        observer.invocationWithJobs(station: k, jobs: buffers[k].jobs, enters: buffers[k].enters,
                                    arrivals: buffers[k].arrivals, count: size, release: release,
                                    dispatch: result.dispatch, completion: result.completion, cold: result.cold,
                                    service: result.service, leaving: k == last)
        if waits[k].add(result.dispatch - release) { judge(station: k) }
        guard k < last else {
            buffers[k].count = 0
            return
        }
        if let span = handOvers[k].push(completion: result.completion, buffer: buffers + k, count: size) {
            noteTooManyInFlight(station: k, span: span)
        }
        buffers[k].count = 0
        // As `handOverCompleted`, with the buffer's hand-over in this function's body
        // when the next station has a buffer. `handOver` makes the same choice, but
        // calling `handOverCompleted` here instead made the compiler lay the engine out
        // otherwise: r1 and chain5 about 4% slower (four runs of `bench simulate` each,
        // in turn, 2026-12-07; batching unchanged).
        while !handOvers[k].isEmpty && handOvers[k].top.completion <= result.dispatch {
            let invocation = handOvers[k].pop()
            if releasesAlone(k + 1) {
                handOver(to: k + 1, invocation)
            } else {
                handOverToBuffer(to: k + 1, invocation)
            }
        }
    }

    /// Whether station `k` releases each job alone the moment it enters (maxBatch 1:
    /// the buffer never holds one), so that `releaseOne` may stand for the buffer and
    /// `release`. Trace work multipliers take the general path.
    @inline(__always)
    func releasesAlone(_ k: Int) -> Bool { singlesSkipBuffer && stations[k].maxBatch == 1 }

    /// `release` of an invocation of one job, `job`, that entered station `k` at
    /// `release` and the system at `arrival`, without the buffer: the same steps in
    /// the same order, so the same numbers.
    @inline(__always)
    mutating func releaseOne(_ k: Int, job: Int, arrival: Double, at release: Double) {
        let result = stations[k].dispatch(release: release, jobs: 1)
        observer.invocationOfOne(station: k, job: job, enter: release, arrival: arrival, release: release,
                                 dispatch: result.dispatch, completion: result.completion, cold: result.cold,
                                 service: result.service, leaving: k == last)
        if waits[k].add(result.dispatch - release) { judge(station: k) }
        guard k < last else { return }
        if let span = handOvers[k].pushOne(completion: result.completion, job: job, arrival: arrival) {
            noteTooManyInFlight(station: k, span: span)
        }
        handOverCompleted(from: k, by: result.dispatch)
    }

    /// Every later invocation at station `k` dispatches at or after `dispatch` and
    /// takes a positive time, so all that complete by then can go on, in order.
    @inline(__always)
    mutating func handOverCompleted(from k: Int, by dispatch: Double) {
        while !handOvers[k].isEmpty && handOvers[k].top.completion <= dispatch {
            handOver(to: k + 1, handOvers[k].pop())
        }
    }

    /// The jobs of `invocation` (from station `k - 1`) enter station `k` at its
    /// completion, in FCFS order.
    @inline(__always)
    mutating func handOver(to k: Int, _ invocation: PendingInvocation) {
        guard releasesAlone(k) else {
            handOverToBuffer(to: k, invocation)
            return
        }
        let mask = handOvers[k - 1].mask
        for p in invocation.position..<(invocation.position + invocation.jobs) {
            releaseOne(k, job: handOvers[k - 1].jobs[p & mask], arrival: handOvers[k - 1].arrivals[p & mask],
                       at: invocation.completion)
        }
    }

    /// The jobs of `invocation` enter station `k`'s buffer.
    mutating func handOverToBuffer(to k: Int, _ invocation: PendingInvocation) {
        let time = invocation.completion
        if buffers[k].count > 0 && buffers[k].deadline < time { release(k, at: buffers[k].deadline) }
        let timeout = stations[k].timeout
        let maxBatch = stations[k].maxBatch
        let mask = handOvers[k - 1].mask
        for p in invocation.position..<(invocation.position + invocation.jobs) {
            buffers[k].append(job: handOvers[k - 1].jobs[p & mask], arrival: handOvers[k - 1].arrivals[p & mask],
                              enter: time, timeout: timeout)
            if buffers[k].count == maxBatch { release(k, at: time) }
        }
    }

    /// Out of the hot path: built inline, the message made `release` too large for
    /// `StationState.dispatch` to be inlined into it (the batching scenario ran 6%
    /// slower, four runs of each build in turn, 2026-12-06).
    @inline(never)
    mutating func noteTooManyInFlight(station k: Int, span: Int) {
        unstableReason = unstableReason
            ?? "station \(k + 1): \(span) jobs in flight between stations \(k + 1) and \(k + 2), more than "
            + "\(TandemEngine.maxJobsInFlight)"
    }

    mutating func judge(station: Int) {
        let waits = waits[station]
        guard unstableReason == nil, let (previous, latest) = waits.lastTwoGrowths,
              previous >= TandemEngine.growthFactor, latest >= TandemEngine.growthFactor else { return }
        let backlog = waits.latestMean * jobRate
        guard backlog > max(TandemEngine.backlogFloor, 4 * batchMean) else { return }
        unstableReason = "station \(station + 1): the mean queue wait grew from window to window "
            + "(x\(rounded(previous)), then x\(rounded(latest))) to about \(Int(backlog)) jobs queued for an instance "
            + "after \(jobsArrived) arrivals; the queue grows without bound"
    }

    private func rounded(_ value: Double) -> String { String(Double(Int(value * 100)) / 100) }
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
