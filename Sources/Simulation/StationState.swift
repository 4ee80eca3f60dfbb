// One station's instances and invocation queue, advanced by the Kiefer-Wolfowitz
// recursion: with a FCFS invocation queue, an invocation's dispatch time follows
// from its release time and the instances' free times alone, so no event list is
// needed.

/// What happened to one invocation at a station.
@usableFromInline
struct Dispatch {
    @usableFromInline var dispatch: Double
    @usableFromInline var completion: Double
    @usableFromInline var cold: Bool
    /// The sum of the jobs' service draws (before any trace work multiplier): a
    /// control variate's input, whose mean per job is the service mean.
    @usableFromInline var service: Double

    @inlinable init(dispatch: Double, completion: Double, cold: Bool, service: Double) {
        self.dispatch = dispatch
        self.completion = completion
        self.cold = cold
        self.service = service
    }
}

@usableFromInline
struct StationState {
    @usableFromInline let servers: Int
    @usableFromInline let maxBatch: Int
    @usableFromInline let timeout: Double
    @usableFromInline let setup: Double
    @usableFromInline let keepAlive: Double
    @usableFromInline let coldStart: MomentSampler
    /// Service times drawn ahead from the service stream, in its order.
    @usableFromInline var services: SampleBlock
    @usableFromInline var coldStream: RandomStream

    /// When each instance slot frees (or freed). Which slot an invocation takes
    /// matters only through its free time (warm or cold, when it starts), so the
    /// slots are kept as free times alone. `-infinity` marks a slot whose instance
    /// has never started; a slot idle for longer than `keepAlive` holds a reclaimed
    /// instance, which is the same as an empty slot. Memory of its own
    /// (`deallocate()`), so the hot loop has no copy-on-write or bounds checks.
    ///
    /// A station of up to `scanLimit` servers keeps every slot in `slotFree` (and
    /// an empty `idleStack`) and scans them at each dispatch. A larger one splits
    /// them by the last dispatch time: `slotFree` holds the busy slots as a
    /// min-heap on free time (`busyCount`), `idleStack` the idle ones as a stack in
    /// the order they freed, the most recently freed on top (`idleCount`). Dispatch
    /// times never go back (FCFS), so a slot leaves the heap for the stack once, in
    /// free-time order, and the stack stays sorted: a dispatch costs O(log servers),
    /// not O(servers).
    @usableFromInline var slotFree: UnsafeMutablePointer<Double>
    @usableFromInline var idleStack: UnsafeMutablePointer<Double>
    @usableFromInline let splitsSlots: Bool
    @usableFromInline var busyCount = 0
    @usableFromInline var idleCount = 0
    /// The most servers for which a scan is the faster search. Whole runs of two
    /// such stations, each build in turn (2026-12-06): at 4 servers the scan took a
    /// fifth less time than the heap; from 6 to 11 servers at load 0.8 the two were
    /// within noise, while at load 0.16 the heap took a tenth to a third less from 8
    /// servers on; at 64 servers and load 0.8 it took 45% less, at 1,024 a sixth of
    /// the time (README, "Performance").
    static let scanLimit = 8
    /// FCFS: no invocation is dispatched before the one released ahead of it.
    @usableFromInline var lastDispatch: Double = -.infinity

    /// `splitSlots` chooses the slot search (nil: by the number of servers); both
    /// give the same dispatches.
    init(_ config: StationConfig, station: Int, seed: UInt64, replication: Int, splitSlots: Bool? = nil) {
        servers = config.servers
        splitsSlots = splitSlots ?? (config.servers > Self.scanLimit)
        maxBatch = config.maxBatch
        timeout = config.timeout
        setup = config.setup
        keepAlive = config.keepAlive
        coldStart = MomentSampler(config.coldStart)
        services = SampleBlock(sampler: MomentSampler(config.service),
                               stream: RandomStream(seed: seed, replication: replication, purpose: .service(station)))
        coldStream = RandomStream(seed: seed, replication: replication, purpose: .coldStart(station))
        slotFree = .allocate(capacity: config.servers)
        idleStack = .allocate(capacity: splitsSlots ? config.servers : 0)
        if splitsSlots {
            idleStack.initialize(repeating: -.infinity, count: config.servers)
            idleCount = config.servers
        } else {
            slotFree.initialize(repeating: -.infinity, count: config.servers)
        }
    }

    /// Frees the slots; the state is unusable afterwards.
    func deallocate() {
        slotFree.deallocate()
        idleStack.deallocate()
        services.deallocate()
    }

    /// The same state with slots of its own.
    func copy() -> StationState {
        var twin = self
        twin.services = services.copy()
        twin.slotFree = .allocate(capacity: servers)
        twin.slotFree.initialize(from: slotFree, count: splitsSlots ? busyCount : servers)
        twin.idleStack = .allocate(capacity: splitsSlots ? servers : 0)
        twin.idleStack.initialize(from: idleStack, count: idleCount)
        return twin
    }

    /// Dispatches an invocation of `jobs` jobs released at `release` (MODEL.md rules
    /// 2 to 4) and returns when it starts and completes and whether it started cold.
    @inlinable @inline(__always)
    mutating func dispatch(release: Double, jobs: Int) -> Dispatch {
        var claim = claimInstance(release: release)
        var service = 0.0
        for _ in 0..<jobs {
            let draw = services.next()
            claim.hold += draw
            service += draw
        }
        return finish(claim, service: service)
    }

    /// The same for trace jobs with work multipliers: job `jobs[i]` needs
    /// X x `work[jobs[i]]` seconds (setup and cold start unscaled).
    @inlinable @inline(__always)
    mutating func dispatch(release: Double, jobs: UnsafeMutablePointer<Int>, count: Int, work: [Double]) -> Dispatch {
        var claim = claimInstance(release: release)
        var service = 0.0
        for i in 0..<count {
            let draw = services.next()
            claim.hold += draw * work[jobs[i]]
            service += draw
        }
        return finish(claim, service: service)
    }

    /// An instance chosen for an invocation: when it starts, and the time it is
    /// held so far (setup and cold start; the caller adds the jobs' service).
    @usableFromInline
    struct Claim {
        @usableFromInline var start: Double
        /// The position in `slotFree` of the slot taken (scanned slots only).
        @usableFromInline var slot: Int
        @usableFromInline var cold: Bool
        @usableFromInline var hold: Double

        @inlinable init(start: Double, slot: Int, cold: Bool, hold: Double) {
            self.start = start
            self.slot = slot
            self.cold = cold
            self.hold = hold
        }
    }

    @inlinable @inline(__always)
    mutating func finish(_ claim: Claim, service: Double) -> Dispatch {
        let completion = claim.start + claim.hold
        if splitsSlots { pushBusy(completion) } else { slotFree[claim.slot] = completion }
        lastDispatch = claim.start
        return Dispatch(dispatch: claim.start, completion: completion, cold: claim.cold, service: service)
    }

    @inlinable @inline(__always)
    mutating func claimInstance(release: Double) -> Claim {
        // The earliest the invocation can start: released, and behind its elders.
        let ready = release > lastDispatch ? release : lastDispatch
        var start = ready
        var slot = 0
        var cold = false
        if splitsSlots {
            // The slots freed by `ready` go on the idle stack, in the order they freed.
            while busyCount > 0 && slotFree[0] <= ready {
                idleStack[idleCount] = popBusy()
                idleCount += 1
            }
            if idleCount > 0 {
                // The most recently freed idle slot (rule 3), off the stack.
                idleCount -= 1
                cold = isCold(freed: idleStack[idleCount], at: ready)
            } else {
                // All instances busy: the first to free (the heap's, replaced by
                // `pushBusy`); it is warm (idle 0).
                start = slotFree[0]
            }
        } else {
            // Most recently freed idle slot at `ready` (rule 3), and the first slot to
            // free in case all are busy.
            var idleSlot = -1
            var idleFree = -Double.infinity
            var firstSlot = 0
            var firstFree = Double.infinity
            for slot in 0..<servers {
                let free = slotFree[slot]
                if free <= ready {
                    if idleSlot < 0 || free > idleFree { idleSlot = slot; idleFree = free }
                } else if free < firstFree {
                    firstFree = free; firstSlot = slot
                }
            }
            if idleSlot >= 0 {
                slot = idleSlot
                cold = isCold(freed: idleFree, at: ready)
            } else {
                // All instances busy: wait for the first to free; it is warm (idle 0).
                start = firstFree
                slot = firstSlot
            }
        }
        var hold = setup
        if cold { hold += coldStart.sample(&coldStream) }
        return Claim(start: start, slot: slot, cold: cold, hold: hold)
    }

    /// Whether an idle slot that freed at `freed` starts cold at `ready`: idle for
    /// exactly keepAlive is still warm (fine point 4); -infinity is a slot that
    /// never held an instance.
    @inlinable @inline(__always)
    func isCold(freed: Double, at ready: Double) -> Bool {
        freed == -.infinity || ready - freed > keepAlive
    }

    /// Adds a busy slot that frees at `free`. With every slot busy, it replaces
    /// the first to free (position 0), the one just taken.
    @inlinable @inline(__always)
    mutating func pushBusy(_ free: Double) {
        if busyCount == servers {
            siftDownFromFirst(free, count: busyCount)
            return
        }
        var child = busyCount
        busyCount += 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard free < slotFree[parent] else { break }
            slotFree[child] = slotFree[parent]
            child = parent
        }
        slotFree[child] = free
    }

    /// Removes and returns the earliest free time of the busy slots (there is one).
    @inlinable @inline(__always)
    mutating func popBusy() -> Double {
        let first = slotFree[0]
        busyCount -= 1
        if busyCount > 0 { siftDownFromFirst(slotFree[busyCount], count: busyCount) }
        return first
    }

    /// Puts `free` in the heap's first `count` entries in place of position 0.
    @inlinable @inline(__always)
    func siftDownFromFirst(_ free: Double, count: Int) {
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            var least = left
            if left + 1 < count && slotFree[left + 1] < slotFree[left] { least = left + 1 }
            guard slotFree[least] < free else { break }
            slotFree[parent] = slotFree[least]
            parent = least
        }
        slotFree[parent] = free
    }
}

/// Jobs waiting in a station's batch buffer (MODEL.md rule 1): at most `maxBatch`,
/// kept in FCFS order with the time each entered and arrived in the system, in
/// memory of its own (`deallocate()`).
@usableFromInline
struct BatchBuffer {
    @usableFromInline let jobs: UnsafeMutablePointer<Int>
    @usableFromInline let arrivals: UnsafeMutablePointer<Double>
    @usableFromInline let enters: UnsafeMutablePointer<Double>
    @usableFromInline var count = 0
    /// When the oldest job's timeout expires (valid while count > 0).
    @usableFromInline var deadline = Double.infinity

    init(capacity: Int) {
        jobs = .allocate(capacity: capacity)
        jobs.initialize(repeating: 0, count: capacity)
        arrivals = .allocate(capacity: capacity)
        arrivals.initialize(repeating: 0, count: capacity)
        enters = .allocate(capacity: capacity)
        enters.initialize(repeating: 0, count: capacity)
    }

    /// Frees the buffer; unusable afterwards.
    func deallocate() {
        jobs.deallocate()
        arrivals.deallocate()
        enters.deallocate()
    }

    /// The same jobs in memory of its own (`capacity` as this buffer was made with).
    func copy(capacity: Int) -> BatchBuffer {
        var twin = BatchBuffer(capacity: capacity)
        twin.jobs.update(from: jobs, count: count)
        twin.arrivals.update(from: arrivals, count: count)
        twin.enters.update(from: enters, count: count)
        twin.count = count
        twin.deadline = deadline
        return twin
    }

    @inlinable @inline(__always)
    mutating func append(job: Int, arrival: Double, enter: Double, timeout: Double) {
        if count == 0 { deadline = enter + timeout }
        jobs[count] = job
        arrivals[count] = arrival
        enters[count] = enter
        count += 1
    }
}

/// Draws from one sampler and stream a block at a time and hands the values out in
/// order: the same numbers as drawing one by one (the stream serves nothing else),
/// but a block's logarithms run back to back, independent of each other, instead of
/// one inside each dispatch's chain of dependent steps. Memory of its own
/// (`deallocate()`).
@usableFromInline
struct SampleBlock {
    @usableFromInline static let size = 64
    @usableFromInline let sampler: MomentSampler
    @usableFromInline var stream: RandomStream
    @usableFromInline var values: UnsafeMutablePointer<Double>
    /// The next value to hand out; `size` when the block is used up.
    @usableFromInline var index: Int

    init(sampler: MomentSampler, stream: RandomStream) {
        self.sampler = sampler
        self.stream = stream
        values = .allocate(capacity: Self.size)
        values.initialize(repeating: 0, count: Self.size)
        index = Self.size
    }

    func deallocate() { values.deallocate() }

    /// The same position in the same stream, in memory of its own.
    func copy() -> SampleBlock {
        var twin = self
        twin.values = .allocate(capacity: Self.size)
        twin.values.initialize(from: values, count: Self.size)
        return twin
    }

    @inlinable @inline(__always)
    mutating func next() -> Double {
        if index == Self.size { refill() }
        let value = values[index]
        index += 1
        return value
    }

    @inlinable @inline(never)
    mutating func refill() {
        for i in 0..<Self.size { values[i] = sampler.sample(&stream) }
        index = 0
    }
}
