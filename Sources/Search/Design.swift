// Space-filling designs over the unit hypercube [0, 1)^d: seeded, reproducible, and
// addressable by point index, so a sweep (or, later, a distributed one) can make
// point i on demand instead of holding every point.

import Simulation

/// A design that cannot be built as asked.
public struct DesignError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Random-stream keys of the designs: `RandomStream(seed:substream: key, ...)`.
enum DesignStream {
    static let sobol: UInt64 = 0x736F_626F_6C  // "sobol"
    static let lhsPermutation: UInt64 = 0x6C68_7370  // "lhsp"
    static let lhsJitter: UInt64 = 0x6C68_736A  // "lhsj"
    static let random: UInt64 = 0x7261_6E64  // "rand"
}

/// How a design spreads its points.
public enum DesignMethod: String, Sendable, CaseIterable, Codable {
    /// Scrambled Sobol' sequence (low discrepancy; extending `points` keeps the
    /// earlier points).
    case sobol
    /// Latin hypercube: each of the n equal strata of every dimension holds exactly
    /// one point (the whole design depends on n).
    case lhs
    /// Independent uniform points (extending `points` keeps the earlier points).
    case random
}

/// A Latin hypercube of `points` points: in dimension d, point i lies in stratum
/// `permutation_d[i]` of n, at a uniform random offset inside it.
///
/// Memory: one seeded permutation of the n strata per dimension (4 bytes per point
/// and dimension, e.g. 48 MB for a million points in 12 dimensions); any point is
/// then read off in O(dimensions).
public struct LatinHypercube: Sendable, Equatable {
    public let dimensions: Int
    public let points: Int
    public let seed: UInt64
    /// `strata[d][i]`: the stratum of point i in dimension d.
    private let strata: [[UInt32]]

    public init(dimensions: Int, points: Int, seed: UInt64) throws(DesignError) {
        guard dimensions >= 1 else { throw DesignError("a design needs at least 1 dimension, got \(dimensions)") }
        guard points >= 1, points <= Int(UInt32.max) else {
            throw DesignError("a Latin hypercube needs 1 to \(UInt32.max) points, got \(points)")
        }
        self.dimensions = dimensions
        self.points = points
        self.seed = seed
        strata = (0..<dimensions).map { dimension in
            var random = RandomStream(seed: seed, substream: DesignStream.lhsPermutation, UInt64(dimension))
            // Fisher-Yates with our own bounded draws, so the permutation does not
            // depend on the standard library's shuffle algorithm.
            var permutation = (0..<points).map { UInt32($0) }
            for i in stride(from: points - 1, to: 0, by: -1) {
                permutation.swapAt(i, Int(bounded(&random, UInt64(i + 1))))
            }
            return permutation
        }
    }

    public func point(_ index: Int) -> [Double] {
        precondition(index >= 0 && index < points, "Latin hypercube point index \(index) out of range 0..<\(points)")
        var random = RandomStream(seed: seed, substream: DesignStream.lhsJitter, UInt64(index))
        let n = Double(points)
        return (0..<dimensions).map { dimension in
            let stratum = Double(strata[dimension][index])
            // A jitter close to 1 could round the sum up into the next stratum.
            let position = min(stratum + unitInterval(&random), (stratum + 1).nextDown)
            return position / n
        }
    }
}

/// Independent uniform points; point i is drawn from its own stream.
public struct RandomDesign: Sendable, Equatable {
    public let dimensions: Int
    public let seed: UInt64

    public init(dimensions: Int, seed: UInt64) throws(DesignError) {
        guard dimensions >= 1 else { throw DesignError("a design needs at least 1 dimension, got \(dimensions)") }
        self.dimensions = dimensions
        self.seed = seed
    }

    public func point(_ index: Int) -> [Double] {
        precondition(index >= 0, "random design point index \(index) out of range")
        var random = RandomStream(seed: seed, substream: DesignStream.random, UInt64(index))
        return (0..<dimensions).map { _ in unitInterval(&random) }
    }
}

/// Uniform on [0, 1) with 53 random bits.
@inline(__always)
func unitInterval(_ random: inout RandomStream) -> Double {
    Double(random.next() >> 11) * 0x1.0p-53
}

/// Uniform on 0 ..< bound (Lemire's multiply-and-reject, unbiased).
func bounded(_ random: inout RandomStream, _ bound: UInt64) -> UInt64 {
    var product = random.next().multipliedFullWidth(by: bound)
    if product.low < bound {
        let threshold = (0 &- bound) % bound
        while product.low < threshold {
            product = random.next().multipliedFullWidth(by: bound)
        }
    }
    return product.high
}

/// One of the designs, chosen at run time: `points` points in `dimensions` dimensions.
public struct Design: Sendable, Equatable {
    public let method: DesignMethod
    public let dimensions: Int
    public let points: Int
    public let seed: UInt64

    private enum Generator: Sendable, Equatable {
        case sobol(SobolSequence)
        case lhs(LatinHypercube)
        case random(RandomDesign)
    }

    private let generator: Generator

    /// A seeded design. Sobol designs are scrambled by the seed.
    public init(method: DesignMethod, dimensions: Int, points: Int, seed: UInt64) throws(DesignError) {
        guard points >= 1 else { throw DesignError("a design needs at least 1 point, got \(points)") }
        self.method = method
        self.dimensions = dimensions
        self.points = points
        self.seed = seed
        switch method {
        case .sobol:
            guard points <= SobolSequence.maxPoints else {
                throw DesignError("a Sobol design has at most \(SobolSequence.maxPoints) points, got \(points)")
            }
            generator = .sobol(try SobolSequence(dimensions: dimensions, seed: seed))
        case .lhs:
            generator = .lhs(try LatinHypercube(dimensions: dimensions, points: points, seed: seed))
        case .random:
            generator = .random(try RandomDesign(dimensions: dimensions, seed: seed))
        }
    }

    /// Point `index` (0 ..< points), each coordinate in [0, 1).
    public func point(_ index: Int) -> [Double] {
        precondition(index >= 0 && index < points, "design point index \(index) out of range 0..<\(points)")
        switch generator {
        case .sobol(let sequence): return sequence.point(index)
        case .lhs(let hypercube): return hypercube.point(index)
        case .random(let design): return design.point(index)
        }
    }

    /// Whether point i is the same for every point count (true for Sobol and
    /// random designs, whose points are a sequence; false for a Latin hypercube).
    public var isExtensible: Bool { method != .lhs }
}
