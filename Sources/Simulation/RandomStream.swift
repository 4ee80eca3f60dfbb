// Seeded, splittable random numbers.
//
// Every replication draws from streams derived from (seed, replication, purpose),
// so a result never depends on the thread or the worker that computed it, and two
// configurations simulated with the same seed share their random numbers purpose by
// purpose (common random numbers: neighbouring sweep points differ smoothly).
// Seeds are expanded into xoshiro states through SplitMix64 (DuetSupport).

import DuetSupport

/// xoshiro256** (Blackman and Vigna, 2018): fast, 256 bits of state, passes
/// BigCrush. A value type so that the hot loop owns it without reference counting.
public struct RandomStream: RandomNumberGenerator, Sendable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    /// The stream for one purpose of one replication of a run seeded with `seed`.
    public init(seed: UInt64, replication: Int, purpose: StreamPurpose) {
        self.init(seed: seed, substream: UInt64(replication), purpose.rawValue)
    }

    /// A stream keyed by any path of integers (seed first): each key component is
    /// mixed in through SplitMix64, so nearby keys give unrelated streams.
    public init(seed: UInt64, substream keys: UInt64...) {
        var mixer = SplitMix64(seed: seed)
        var key = mixer.next()
        for component in keys {
            var m = SplitMix64(seed: key ^ (component &* 0xD1B5_4A32_D192_ED03))
            key = m.next()
        }
        var expand = SplitMix64(seed: key)
        s0 = expand.next(); s1 = expand.next(); s2 = expand.next(); s3 = expand.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is a fixed point
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform on (0, 1]: never 0, so `log` of it is finite.
    @inlinable @inline(__always)
    public mutating func nextOpenUnit() -> Double {
        Double((next() >> 11) + 1) * 0x1.0p-53
    }
}

/// What a stream is used for inside one replication: its key. Stations 1 and 2
/// keep the keys they had when the model was a tandem (service 3 and 4, cold start
/// 5 and 6), so two-station results stay the same for the same seed; station
/// k >= 3 draws service from key 2k + 1 and cold starts from 2k + 2 (7, 8 for
/// station 3, ...), so every station of a chain has streams of its own.
public struct StreamPurpose: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let interArrival = StreamPurpose(rawValue: 1)
    public static let batchSize = StreamPurpose(rawValue: 2)

    /// The service stream of `station` (0-based).
    public static func service(_ station: Int) -> StreamPurpose {
        precondition(station >= 0)
        return StreamPurpose(rawValue: station < 2 ? 3 + UInt64(station) : 2 * UInt64(station + 1) + 1)
    }

    /// The cold-start stream of `station` (0-based).
    public static func coldStart(_ station: Int) -> StreamPurpose {
        precondition(station >= 0)
        return StreamPurpose(rawValue: station < 2 ? 5 + UInt64(station) : 2 * UInt64(station + 1) + 2)
    }
}
