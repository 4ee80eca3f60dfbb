// Designs: the plain Sobol' sequence against published values, net and Latin
// hypercube stratification, seeds, and range mapping.

import Testing
@testable import Search

@Suite("Sobol")
struct SobolTests {
    static let plain = try! SobolSequence(dimensions: SobolSequence.maxDimensions)

    static func column(_ dimension: Int, count: Int) -> [Double] {
        (0..<count).map { plain.point($0)[dimension] }
    }

    @Test func firstPointsOfTheFirstDimensions() {
        // Dimension 1 is van der Corput's sequence in Gray-code order; dimensions 2
        // to 4 follow Joe and Kuo's directions (values as their sobol.cc and SciPy's
        // unscrambled Sobol give them).
        #expect(Self.column(0, count: 8) == [0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125])
        #expect(Self.column(1, count: 8) == [0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625])
        #expect(Self.column(2, count: 8) == [0, 0.5, 0.25, 0.75, 0.625, 0.125, 0.875, 0.375])
        #expect(Self.column(3, count: 8) == [0, 0.5, 0.25, 0.75, 0.875, 0.375, 0.625, 0.125])
        #expect(Self.column(63, count: 16) == [
            0, 0.5, 0.75, 0.25, 0.125, 0.625, 0.875, 0.375, 0.6875, 0.1875, 0.4375, 0.9375, 0.5625, 0.0625, 0.3125,
            0.8125,
        ])
    }

    @Test func laterPointsMatchTheReference() {
        // Reference: scipy.stats.qmc.Sobol(d=64, scramble=False, bits=32), fast-forwarded.
        // Coordinates are dyadic fractions of 32 bits, so the comparison is exact.
        let p4095 = Self.plain.point(4095)
        #expect(Array(p4095[0..<8]) == [
            0.000244140625, 0.941162109375, 0.334228515625, 0.901611328125, 0.940185546875, 0.078857421875,
            0.949462890625, 0.390869140625,
        ])
        #expect(p4095[63] == 0.553466796875)
        #expect(Self.plain.point(1234)[40] == 0.89990234375)
        let million = Self.plain.point(1_000_003)
        #expect([0, 1, 2, 19, 40, 63].map { million[$0] } == [
            0.2764749526977539, 0.5619192123413086, 0.07799625396728516, 0.6322927474975586, 0.9117841720581055,
            0.3081216812133789,
        ])
        let billions = Self.plain.point(3_000_000_000)
        #expect([0, 1, 2, 19, 40, 63].map { billions[$0] } == [
            0.002168526640161872, 0.04796422482468188, 0.9205889680888504, 0.2773209346923977, 0.63326346850954,
            0.724106473615393,
        ])
    }

    @Test func momentsOfAllDimensionsOverTheFirst4096Points() {
        // SciPy gives sum x = 131040 and sum x^2 = 87349.3359375 over 4096 points x 64
        // dimensions; both sums are exact in binary floating point.
        var sum = 0.0, squares = 0.0
        for index in 0..<4096 {
            for x in Self.plain.point(index) {
                sum += x
                squares += x * x
            }
        }
        #expect(sum == 131_040)
        #expect(squares == 87_349.3359375)
    }

    /// Whether the first 2^k points put exactly one point in every elementary box
    /// of area 2^-k of dimensions (i, j): 2^a by 2^(k-a) cells for a = 0 ... k.
    static func isNet(_ points: [[Double]], _ i: Int, _ j: Int, k: Int) -> Bool {
        for a in 0...k {
            var seen = Set<Int>()
            for point in points {
                let row = Int(point[i] * Double(1 << a))
                let column = Int(point[j] * Double(1 << (k - a)))
                if !seen.insert(row << 32 | column).inserted { return false }
            }
            if seen.count != 1 << k { return false }
        }
        return true
    }

    @Test(arguments: [1, 4, 8, 10])
    func firstTwoDimensionsFormA0mNet(k: Int) throws {
        let plain = (0..<(1 << k)).map { Self.plain.point($0) }
        #expect(Self.isNet(plain, 0, 1, k: k))
        // The scramble is a linear matrix scramble plus digital shift: nets survive.
        let scrambled = try SobolSequence(dimensions: 2, seed: 99)
        #expect(Self.isNet((0..<(1 << k)).map { scrambled.point($0) }, 0, 1, k: k))
    }

    @Test func everyDimensionIsStratified() throws {
        // Each one-dimensional projection of the first 2^k points hits every interval
        // of width 2^-k once, scrambled or not.
        let k = 10
        let scrambled = try SobolSequence(dimensions: SobolSequence.maxDimensions, seed: 5)
        for sequence in [Self.plain, scrambled] {
            let points = (0..<(1 << k)).map { sequence.point($0) }
            for dimension in 0..<sequence.dimensions {
                let cells = Set(points.map { Int($0[dimension] * Double(1 << k)) })
                #expect(cells.count == 1 << k, "dimension \(dimension + 1)")
            }
        }
    }

    @Test func seedsGiveDifferentReproducibleDesigns() throws {
        let a = try SobolSequence(dimensions: 12, seed: 1)
        let b = try SobolSequence(dimensions: 12, seed: 1)
        let c = try SobolSequence(dimensions: 12, seed: 2)
        #expect((0..<64).map { a.point($0) } == (0..<64).map { b.point($0) })
        #expect(a.point(5) != c.point(5))
        // The scrambled first point is not the origin.
        #expect(a.point(0).allSatisfy { $0 > 0 && $0 < 1 })
    }

    @Test func tooManyDimensionsIsAnError() {
        #expect(throws: DesignError("a Sobol design supports 1 to 64 dimensions, got 65")) {
            try SobolSequence(dimensions: 65)
        }
    }
}

@Suite("Latin hypercube and random designs")
struct OtherDesignTests {
    @Test(arguments: [1, 7, 100, 1000])
    func eachStratumHoldsOnePoint(points: Int) throws {
        let design = try LatinHypercube(dimensions: 5, points: points, seed: 3)
        let all = (0..<points).map { design.point($0) }
        for dimension in 0..<5 {
            let strata = Set(all.map { Int($0[dimension] * Double(points)) })
            #expect(strata.count == points)
            #expect(all.allSatisfy { $0[dimension] >= 0 && $0[dimension] < 1 })
        }
    }

    @Test func seedsAreReproducible() throws {
        for method in DesignMethod.allCases {
            let a = try Design(method: method, dimensions: 4, points: 50, seed: 11)
            let b = try Design(method: method, dimensions: 4, points: 50, seed: 11)
            let c = try Design(method: method, dimensions: 4, points: 50, seed: 12)
            #expect((0..<50).map { a.point($0) } == (0..<50).map { b.point($0) }, "\(method)")
            #expect((0..<50).map { a.point($0) } != (0..<50).map { c.point($0) }, "\(method)")
        }
    }

    @Test func sequencesExtendButALatinHypercubeDoesNot() throws {
        for method in DesignMethod.allCases {
            let short = try Design(method: method, dimensions: 3, points: 10, seed: 4)
            let long = try Design(method: method, dimensions: 3, points: 20, seed: 4)
            let same = (0..<10).allSatisfy { short.point($0) == long.point($0) }
            #expect(same == short.isExtensible, "\(method)")
        }
    }
}

@Suite("Ranges")
struct RangeTests {
    static let almostOne = 1.0.nextDown

    @Test func uniformAndLogUniform() {
        #expect(SweepRange.uniform(2, 4).value(at: 0) == .number(2))
        #expect(SweepRange.uniform(2, 4).value(at: 0.5) == .number(3))
        #expect(SweepRange.uniform(2, 4).value(at: Self.almostOne).number! <= 4)
        #expect(SweepRange.loguniform(0.25, 4).value(at: 0) == .number(0.25))
        // The geometric midpoint, to rounding of exp/log.
        #expect(abs(SweepRange.loguniform(0.25, 4).value(at: 0.5).number! - 1) < 1e-12)
        #expect(SweepRange.loguniform(0.25, 4).value(at: Self.almostOne).number! <= 4)
    }

    @Test func integersIncludeBothBoundsEquallyOften() {
        let range = SweepRange.int(1, 16)
        #expect(range.value(at: 0) == .number(1))
        #expect(range.value(at: Self.almostOne) == .number(16))
        // The midpoints of 16 equal strata give each integer once.
        let values = (0..<16).map { range.value(at: (Double($0) + 0.5) / 16).number! }
        #expect(values == (1...16).map(Double.init))
    }

    @Test func logIntegersIncludeBothBoundsAndFavourSmallValues() {
        let range = SweepRange.logint(1, 16)
        #expect(range.value(at: 0) == .number(1))
        #expect(range.value(at: Self.almostOne) == .number(16))
        let values = (0..<1000).map { range.value(at: (Double($0) + 0.5) / 1000).number! }
        #expect(Set(values) == Set((1...16).map(Double.init)))
        // P(1) = log 2 / log 17 = 0.245 of the mass.
        #expect(values.filter { $0 == 1 }.count == 245)
    }

    @Test func choicesSplitTheUnitIntervalEvenly() {
        let range = SweepRange.choice([.name("geometric"), .name("deterministic"), .number(3)])
        #expect(range.value(at: 0) == .name("geometric"))
        #expect(range.value(at: 0.34) == .name("deterministic"))
        #expect(range.value(at: Self.almostOne) == .number(3))
    }
}
