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

    @inlinable init(dispatch: Double, completion: Double, cold: Bool) {
        self.dispatch = dispatch
        self.completion = completion
        self.cold = cold
    }
}

@usableFromInline
struct StationState {
    @usableFromInline let servers: Int
    @usableFromInline let maxBatch: Int
    @usableFromInline let timeout: Double
    @usableFromInline let setup: Double
    @usableFromInline let keepAlive: Double
    @usableFromInline let service: MomentSampler
    @usableFromInline let coldStart: MomentSampler
    @usableFromInline var serviceStream: RandomStream
    @usableFromInline var coldStream: RandomStream

    /// When each instance slot frees (or freed). `-infinity` marks a slot whose
    /// instance has never started; a slot idle for longer than `keepAlive` holds a
    /// reclaimed instance, which is the same as an empty slot. Memory of its own
    /// (`deallocate()`), so the hot loop has no copy-on-write or bounds checks.
    @usableFromInline var slotFree: UnsafeMutablePointer<Double>
    /// FCFS: no invocation is dispatched before the one released ahead of it.
    @usableFromInline var lastDispatch: Double = -.infinity

    init(_ config: StationConfig, station: Int, seed: UInt64, replication: Int) {
        servers = config.servers
        maxBatch = config.maxBatch
        timeout = config.timeout
        setup = config.setup
        keepAlive = config.keepAlive
        service = MomentSampler(config.service)
        coldStart = MomentSampler(config.coldStart)
        serviceStream = RandomStream(seed: seed, replication: replication, purpose: .service(station))
        coldStream = RandomStream(seed: seed, replication: replication, purpose: .coldStart(station))
        slotFree = .allocate(capacity: config.servers)
        slotFree.initialize(repeating: -.infinity, count: config.servers)
    }

    /// Frees the slots; the state is unusable afterwards.
    func deallocate() { slotFree.deallocate() }

    /// The same state with slots of its own.
    func copy() -> StationState {
        var twin = self
        twin.slotFree = .allocate(capacity: servers)
        twin.slotFree.initialize(from: slotFree, count: servers)
        return twin
    }

    /// Dispatches an invocation of `jobs` jobs released at `release` (MODEL.md rules
    /// 2 to 4) and returns when it starts and completes and whether it started cold.
    @inlinable @inline(__always)
    mutating func dispatch(release: Double, jobs: Int) -> Dispatch {
        var claim = claimInstance(release: release)
        for _ in 0..<jobs { claim.hold += service.sample(&serviceStream) }
        return finish(claim)
    }

    /// The same for trace jobs with work multipliers: job `jobs[i]` needs
    /// X x `work[jobs[i]]` seconds (setup and cold start unscaled).
    @inlinable @inline(__always)
    mutating func dispatch(release: Double, jobs: UnsafeMutablePointer<Int>, count: Int, work: [Double]) -> Dispatch {
        var claim = claimInstance(release: release)
        for i in 0..<count { claim.hold += service.sample(&serviceStream) * work[jobs[i]] }
        return finish(claim)
    }

    /// An instance chosen for an invocation: when it starts, and the time it is
    /// held so far (setup and cold start; the caller adds the jobs' service).
    @usableFromInline
    struct Claim {
        @usableFromInline var start: Double
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
    mutating func finish(_ claim: Claim) -> Dispatch {
        let completion = claim.start + claim.hold
        slotFree[claim.slot] = completion
        lastDispatch = claim.start
        return Dispatch(dispatch: claim.start, completion: completion, cold: claim.cold)
    }

    @inlinable @inline(__always)
    mutating func claimInstance(release: Double) -> Claim {
        // The earliest the invocation can start: released, and behind its elders.
        let ready = release > lastDispatch ? release : lastDispatch
        // Most recently freed idle slot at `ready` (rule 3), and the first slot to free
        // in case all are busy.
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
        let start: Double
        let slot: Int
        let cold: Bool
        if idleSlot >= 0 {
            start = ready
            slot = idleSlot
            // Idle for exactly keepAlive is still warm (fine point 4); -infinity is
            // a slot that never held an instance.
            cold = idleFree == -.infinity || ready - idleFree > keepAlive
        } else {
            // All instances busy: wait for the first to free; it is warm (idle 0).
            start = firstFree
            slot = firstSlot
            cold = false
        }
        var hold = setup
        if cold { hold += coldStart.sample(&coldStream) }
        return Claim(start: start, slot: slot, cold: cold, hold: hold)
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
