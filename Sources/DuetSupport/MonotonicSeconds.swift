// The monotonic clock as seconds, for progress and elapsed times (sweeps, searches,
// the tool's printer); wall-clock steps do not move it.

import Dispatch

/// Seconds on the monotonic clock (since an arbitrary origin).
public func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
