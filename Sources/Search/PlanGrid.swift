// `duet plan`'s grid: every combination of a few inputs' values, applied to a base
// configuration by the rules of sweeps (the same paths, value checks, realisable
// values and derived loads), without a spec file.
//
//     let grid = try PlanGrid(base: base, axes: [PlanGrid.Axis(argument: "stations.2.servers=1..64")!])
//     for n in 0..<grid.count { let point = grid.point(grid.combination(n)) ... }

import Foundation
import Simulation

public struct PlanGrid: Sendable {
    /// One varied input and its values as written: `path=1..64` (whole numbers),
    /// `path=0.1..1/10` (10 evenly spaced values) or `path=a,b,c`.
    public struct Axis: Sendable, Hashable {
        public var path: String
        public var values: [String]

        public init(path: String, values: [String]) {
            self.path = path
            self.values = values
        }

        /// Parses `path=values`; nil when it is not of one of the three forms.
        public init?(argument: String) {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return nil }
            path = parts[0]
            let spec = parts[1]
            if let range = spec.range(of: "..") {
                let low = String(spec[..<range.lowerBound])
                var high = String(spec[range.upperBound...])
                var count: Int?
                if let slash = high.firstIndex(of: "/") {
                    count = Int(high[high.index(after: slash)...])
                    high = String(high[..<slash])
                    guard count != nil, count! >= 2 else { return nil }
                }
                if let count, let a = Double(low), let b = Double(high), a < b {
                    values = (0..<count).map { ConfigColumns.format(a + (b - a) * Double($0) / Double(count - 1)) }
                } else if count == nil, let a = Int(low), let b = Int(high), a <= b, b - a < 100_000 {
                    values = (a...b).map { String($0) }
                } else {
                    return nil
                }
            } else {
                values = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard !values.isEmpty else { return nil }
            }
        }
    }

    public let axes: [Axis]
    /// The grid as a sweep: one `choice` parameter per axis, in order, over the base.
    public let spec: SweepSpec

    /// Checks every path and value against the base (errors name `--vary <path>`,
    /// and the value's position for a bad value).
    public init(base: TandemConfig, axes: [Axis]) throws {
        var parameters: [SweepParameter] = []
        for axis in axes {
            let place = "--vary \(axis.path)"
            let target: SweepTarget
            switch SweepTarget.parse(axis.path, stations: base.stations.count) {
            case .success(let parsed): target = parsed
            case .failure(let error): throw ConfigError(path: place, message: error.description)
            }
            if parameters.contains(where: { $0.target == target }) {
                throw ConfigError(path: place, message: "given twice; give all its values in one --vary")
            }
            let values = try axis.values.enumerated().map { index, text in
                try SweepSpec.choiceValue(ConfigNode.scalar(text, path: "\(place) (value \(index + 1))"),
                                          target: target)
            }
            parameters.append(SweepParameter(target: target, range: .choice(values)))
        }
        if let (key, message) = SweepSpec.combinationProblem(parameters, base: base) {
            throw ConfigError(path: "--vary \(key)", message: message)
        }
        self.axes = axes
        spec = SweepSpec(base: base, parameters: parameters,
                         design: SweepDesignSettings(method: .random, points: 1, seed: 1))
    }

    /// How many combinations the grid has.
    public var count: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// Combination `n` (0 ..< count) as one value index per axis; the last axis
    /// changes fastest.
    public func combination(_ n: Int) -> [Int] {
        var rest = n
        var counters = [Int](repeating: 0, count: axes.count)
        for axis in axes.indices.reversed() {
            counters[axis] = rest % axes[axis].values.count
            rest /= axes[axis].values.count
        }
        return counters
    }

    /// The values of a combination, as written.
    public func values(_ counters: [Int]) -> [String] {
        zip(axes, counters).map { $0.values[$1] }
    }

    /// The configuration of a combination, made as a sweep makes its points (its
    /// `problem` says when it cannot be simulated: an unreachable load, an unstable
    /// station).
    public func point(_ counters: [Int]) -> SweepPoint {
        spec.point(0, coordinates: zip(counters, axes).map { (Double($0) + 0.5) / Double($1.values.count) })
    }
}
