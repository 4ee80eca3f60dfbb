// SplitMix64 (Steele, Lea and Flood, 2014): the one random-mixing function. The
// simulator uses it only to expand seeds into well-mixed xoshiro states
// (`RandomStream`); the worker uses it as a small seeded generator for jitter.

/// A tiny seeded generator: deterministic per seed, not for the simulator's draws.
@frozen
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    @inlinable public init(seed: UInt64) { state = seed }

    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    @inlinable public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
