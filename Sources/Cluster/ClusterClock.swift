// The one clock of the cluster's shells. `CoordinatorState` and `WorkerState` take
// `now` as seconds; the shells read it from a `ClusterClock`, injected so that tests can
// drive it.
//
// Timers (heartbeats, liveness, leases, task deadlines, back-off) need a clock that
// never jumps: `MonotonicClock` reads the wall clock once, when it is made, and adds
// the monotonic time elapsed since (Swift's `ContinuousClock`, immune to `date -s`,
// NTP steps and leap-second smearing). Its readings are therefore also fit for the
// journal and the status (`createdAt`, `lastHeartbeat`): wall-clock times as of the
// process's start, off by at most the steps the system clock took while it ran. A
// restarted coordinator makes a new clock: nothing time-based is restored from the
// journal (leases come back queued; adopted leases start their timers afresh).

import Foundation

/// Seconds for the state machines.
public protocol ClusterClock: Sendable {
    func now() -> Double
}

/// Wall-clock seconds at creation plus monotonic seconds since.
public struct MonotonicClock: ClusterClock {
    private let base: Double
    private let start: ContinuousClock.Instant

    public init(wallClockAtStart: Double = Date().timeIntervalSince1970) {
        base = wallClockAtStart
        start = ContinuousClock.now
    }

    public func now() -> Double {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        return base + Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// A clock that moves only when told (tests).
public final class ManualClock: ClusterClock, @unchecked Sendable {
    private let lock = NSLock()
    private var time: Double

    public init(_ time: Double = 0) { self.time = time }

    public func now() -> Double { lock.withLock { time } }

    public func advance(by seconds: Double) { lock.withLock { time += seconds } }
}
