// Sobol' sequences by index, with Joe and Kuo's direction numbers and an optional
// seeded scramble.
//
// Point n is the XOR of the direction numbers selected by the bits of its Gray code
// n ^ (n >> 1): the same points, in the same order, as Joe and Kuo's Gray-code
// generator, but any point is computed on its own in O(dimensions x 32) time. That
// is what a distributed sweep needs: a worker can produce point 1,234,567 without
// the ones before it.
//
// Direction numbers: S. Joe and F. Y. Kuo, "Constructing Sobol sequences with
// better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008) 2635-2654,
// file new-joe-kuo-6.21201 (dimensions 2 ... 64 here; dimension 1 is van der
// Corput's sequence).
//
// Scrambling: a random linear matrix scramble (each dimension's generator matrix
// multiplied on the left by a random nonsingular lower-triangular matrix over GF(2))
// followed by a random digital shift (XOR with a random 64-bit fraction). Both keep
// the (t, m, s)-net structure, so a scrambled design is as evenly spread as the
// plain one, while different seeds give different designs and no point sits on
// the cube's lower faces.

import Simulation

/// A Sobol' sequence in up to `maxDimensions` dimensions, unscrambled or scrambled
/// by a seed.
public struct SobolSequence: Sendable, Equatable {
    /// Dimensions available: dimension 1 plus the 63 rows of the direction-number
    /// table below.
    public static let maxDimensions = 1 + directionTable.count
    /// Bits of each direction number: up to 2^32 points.
    public static let bits = 32
    public static let maxPoints = 1 << bits

    public let dimensions: Int
    /// The scrambling seed; nil for the plain sequence.
    public let seed: UInt64?
    /// `directions[d * bits + k]`: direction number k + 1 of dimension d, as a
    /// 32-bit binary fraction (scrambled when seeded).
    private let directions: [UInt32]
    /// Per dimension, the digital shift as a 64-bit binary fraction (0 when plain).
    private let shifts: [UInt64]

    /// The plain sequence: point 0 is the origin, dimension 1 is 0, 1/2, 3/4, 1/4, ...
    public init(dimensions: Int) throws(DesignError) {
        try self.init(dimensions: dimensions, scrambleSeed: nil)
    }

    /// A scrambled sequence: the same seed gives the same points.
    public init(dimensions: Int, seed: UInt64) throws(DesignError) {
        try self.init(dimensions: dimensions, scrambleSeed: seed)
    }

    private init(dimensions: Int, scrambleSeed: UInt64?) throws(DesignError) {
        guard dimensions >= 1, dimensions <= Self.maxDimensions else {
            throw DesignError("a Sobol design supports 1 to \(Self.maxDimensions) dimensions, got \(dimensions)")
        }
        self.dimensions = dimensions
        self.seed = scrambleSeed
        var directions = [UInt32]()
        directions.reserveCapacity(dimensions * Self.bits)
        var shifts = [UInt64](repeating: 0, count: dimensions)
        for dimension in 0..<dimensions {
            var numbers = Self.directionNumbers(dimension: dimension)
            if let scrambleSeed {
                var random = RandomStream(seed: scrambleSeed, substream: DesignStream.sobol, UInt64(dimension))
                numbers = Self.linearScramble(numbers, random: &random)
                shifts[dimension] = random.next()
            }
            directions += numbers
        }
        self.directions = directions
        self.shifts = shifts
    }

    /// Point `index` (0-based), each coordinate in [0, 1).
    public func point(_ index: Int) -> [Double] {
        var coordinates = [Double](repeating: 0, count: dimensions)
        point(index, into: &coordinates)
        return coordinates
    }

    /// Writes point `index` into `coordinates` (which must have `dimensions` entries).
    public func point(_ index: Int, into coordinates: inout [Double]) {
        precondition(index >= 0 && index < Self.maxPoints, "Sobol point index \(index) out of range")
        precondition(coordinates.count == dimensions)
        let gray = UInt32(truncatingIfNeeded: index ^ (index >> 1))
        for dimension in 0..<dimensions {
            let base = dimension * Self.bits
            var x: UInt32 = 0
            var bits = gray
            while bits != 0 {
                let k = bits.trailingZeroBitCount
                x ^= directions[base + k]
                bits &= bits - 1
            }
            let fraction = (UInt64(x) << 32) ^ shifts[dimension]
            coordinates[dimension] = Double(fraction >> 11) * 0x1.0p-53
        }
    }

    /// The 32 direction numbers of a dimension (0-based) as binary fractions:
    /// v_k = m_k / 2^k for k <= s, then Bratley and Fox's recurrence.
    static func directionNumbers(dimension: Int) -> [UInt32] {
        var v = [UInt32](repeating: 0, count: bits)
        if dimension == 0 {
            for k in 0..<bits { v[k] = 1 << (31 - k) }
            return v
        }
        let (s, a, m) = directionTable[dimension - 1]
        for k in 0..<min(s, bits) { v[k] = m[k] << (31 - k) }
        if s < bits {
            for k in s..<bits {
                var value = v[k - s] ^ (v[k - s] >> s)
                for j in 1..<s where (a >> (s - 1 - j)) & 1 == 1 {
                    value ^= v[k - j]
                }
                v[k] = value
            }
        }
        return v
    }

    /// Multiplies the generator matrix (columns = direction numbers, most
    /// significant bit = first digit) on the left by a random lower-triangular
    /// matrix with a unit diagonal: output digit r is the parity of row r of the
    /// matrix ANDed with the input digits 1 ... r.
    static func linearScramble(_ numbers: [UInt32], random: inout RandomStream) -> [UInt32] {
        // Row r (0-based, digit r + 1) as a mask over input digits, digit 1 = bit 31.
        var rows = [UInt32](repeating: 0, count: bits)
        for r in 0..<bits {
            let diagonal: UInt32 = 1 << (31 - r)
            // Random bits strictly above the diagonal bit (earlier digits), then the diagonal.
            let earlier: UInt32 = r == 0 ? 0 : ~UInt32(0) << (32 - r)
            rows[r] = (UInt32(truncatingIfNeeded: random.next()) & earlier) | diagonal
        }
        return numbers.map { column in
            var result: UInt32 = 0
            for r in 0..<bits where (rows[r] & column).nonzeroBitCount & 1 == 1 {
                result |= 1 << (31 - r)
            }
            return result
        }
    }

    /// Joe and Kuo's new-joe-kuo-6.21201, rows d = 2 ... 64: (s, a, m_1 ... m_s), where
    /// s is the degree of the primitive polynomial, a encodes its inner coefficients,
    /// and m_k are the initial direction integers.
    static let directionTable: [(s: Int, a: UInt32, m: [UInt32])] = [
        (1, 0, [1]),  // 2
        (2, 1, [1, 3]),  // 3
        (3, 1, [1, 3, 1]),  // 4
        (3, 2, [1, 1, 1]),  // 5
        (4, 1, [1, 1, 3, 3]),  // 6
        (4, 4, [1, 3, 5, 13]),  // 7
        (5, 2, [1, 1, 5, 5, 17]),  // 8
        (5, 4, [1, 1, 5, 5, 5]),  // 9
        (5, 7, [1, 1, 7, 11, 19]),  // 10
        (5, 11, [1, 1, 5, 1, 1]),  // 11
        (5, 13, [1, 1, 1, 3, 11]),  // 12
        (5, 14, [1, 3, 5, 5, 31]),  // 13
        (6, 1, [1, 3, 3, 9, 7, 49]),  // 14
        (6, 13, [1, 1, 1, 15, 21, 21]),  // 15
        (6, 16, [1, 3, 1, 13, 27, 49]),  // 16
        (6, 19, [1, 1, 1, 15, 7, 5]),  // 17
        (6, 22, [1, 3, 1, 15, 13, 25]),  // 18
        (6, 25, [1, 1, 5, 5, 19, 61]),  // 19
        (7, 1, [1, 3, 7, 11, 23, 15, 103]),  // 20
        (7, 4, [1, 3, 7, 13, 13, 15, 69]),  // 21
        (7, 7, [1, 1, 3, 13, 7, 35, 63]),  // 22
        (7, 8, [1, 3, 5, 9, 1, 25, 53]),  // 23
        (7, 14, [1, 3, 1, 13, 9, 35, 107]),  // 24
        (7, 19, [1, 3, 1, 5, 27, 61, 31]),  // 25
        (7, 21, [1, 1, 5, 11, 19, 41, 61]),  // 26
        (7, 28, [1, 3, 5, 3, 3, 13, 69]),  // 27
        (7, 31, [1, 1, 7, 13, 1, 19, 1]),  // 28
        (7, 32, [1, 3, 7, 5, 13, 19, 59]),  // 29
        (7, 37, [1, 1, 3, 9, 25, 29, 41]),  // 30
        (7, 41, [1, 3, 5, 13, 23, 1, 55]),  // 31
        (7, 42, [1, 3, 7, 3, 13, 59, 17]),  // 32
        (7, 50, [1, 3, 1, 3, 5, 53, 69]),  // 33
        (7, 55, [1, 1, 5, 5, 23, 33, 13]),  // 34
        (7, 56, [1, 1, 7, 7, 1, 61, 123]),  // 35
        (7, 59, [1, 1, 7, 9, 13, 61, 49]),  // 36
        (7, 62, [1, 3, 3, 5, 3, 55, 33]),  // 37
        (8, 14, [1, 3, 1, 15, 31, 13, 49, 245]),  // 38
        (8, 21, [1, 3, 5, 15, 31, 59, 63, 97]),  // 39
        (8, 22, [1, 3, 1, 11, 11, 11, 77, 249]),  // 40
        (8, 38, [1, 3, 1, 11, 27, 43, 71, 9]),  // 41
        (8, 47, [1, 1, 7, 15, 21, 11, 81, 45]),  // 42
        (8, 49, [1, 3, 7, 3, 25, 31, 65, 79]),  // 43
        (8, 50, [1, 3, 1, 1, 19, 11, 3, 205]),  // 44
        (8, 52, [1, 1, 5, 9, 19, 21, 29, 157]),  // 45
        (8, 56, [1, 3, 7, 11, 1, 33, 89, 185]),  // 46
        (8, 67, [1, 3, 3, 3, 15, 9, 79, 71]),  // 47
        (8, 70, [1, 3, 7, 11, 15, 39, 119, 27]),  // 48
        (8, 84, [1, 1, 3, 1, 11, 31, 97, 225]),  // 49
        (8, 97, [1, 1, 1, 3, 23, 43, 57, 177]),  // 50
        (8, 103, [1, 3, 7, 7, 17, 17, 37, 71]),  // 51
        (8, 115, [1, 3, 1, 5, 27, 63, 123, 213]),  // 52
        (8, 122, [1, 1, 3, 5, 11, 43, 53, 133]),  // 53
        (9, 8, [1, 3, 5, 5, 29, 17, 47, 173, 479]),  // 54
        (9, 13, [1, 3, 3, 11, 3, 1, 109, 9, 69]),  // 55
        (9, 16, [1, 1, 1, 5, 17, 39, 23, 5, 343]),  // 56
        (9, 22, [1, 3, 1, 5, 25, 15, 31, 103, 499]),  // 57
        (9, 25, [1, 1, 1, 11, 11, 17, 63, 105, 183]),  // 58
        (9, 44, [1, 1, 5, 11, 9, 29, 97, 231, 363]),  // 59
        (9, 47, [1, 1, 5, 15, 19, 45, 41, 7, 383]),  // 60
        (9, 52, [1, 3, 7, 7, 31, 19, 83, 137, 221]),  // 61
        (9, 55, [1, 1, 1, 3, 23, 15, 111, 223, 83]),  // 62
        (9, 59, [1, 1, 5, 13, 31, 15, 55, 25, 161]),  // 63
        (9, 62, [1, 1, 3, 13, 25, 47, 39, 87, 257]),  // 64
    ]
}
