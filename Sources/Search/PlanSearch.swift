// `duet plan` and `POST /v1/plan` as one call: predict every combination of a
// `PlanGrid`, keep those that meet the service-level objectives, rank them by
// predicted cost (instance-seconds per job over every station, the pay-per-use bill).
//
//     let plan = try PlanSearch(model: model, grid: grid, objectives: [ServiceLevelObjective(text: "p95Response<=2")!], top: 10)
//     plan.best.first?.values   // ["12", "8"], one per axis

import DuetSupport
import Foundation
import Simulation
import Surrogate

/// A service-level objective on a predicted metric: `p95Response<=2.0`.
public struct ServiceLevelObjective: Sendable, CustomStringConvertible {
    public enum Comparison: String, CaseIterable, Sendable { case atMost = "<=", below = "<", atLeast = ">=", above = ">" }

    public var metric: String
    public var comparison: Comparison
    public var bound: Double

    /// Parses `metric<=bound` (or `<`, `>=`, `>`); nil when the text is not of that form.
    public init?(text: String) {
        // Longest operators first so "<=" is not read as "<".
        for comparison in [Comparison.atMost, .atLeast, .below, .above] {
            let parts = text.components(separatedBy: comparison.rawValue)
            if parts.count == 2, let bound = Double(parts[1].trimmingCharacters(in: .whitespaces)) {
                metric = parts[0].trimmingCharacters(in: .whitespaces)
                self.comparison = comparison
                self.bound = bound
                return
            }
        }
        return nil
    }

    public func holds(_ value: Double) -> Bool {
        switch comparison {
        case .atMost: return value <= bound
        case .below: return value < bound
        case .atLeast: return value >= bound
        case .above: return value > bound
        }
    }

    public var description: String { "\(metric)\(comparison.rawValue)\(ConfigColumns.format(bound))" }
}

public struct PlanSearch: Sendable {
    /// One configuration that meets the objectives.
    public struct Candidate: Sendable {
        /// The value of each axis, as written.
        public var values: [String]
        public var config: TandemConfig
        /// In the model's `chainTargetNames` order.
        public var predicted: [Double]
        /// Predicted instance-seconds per job, summed over the stations.
        public var cost: Double
    }

    public let axes: [PlanGrid.Axis]
    public let objectives: [ServiceLevelObjective]
    /// Combinations tried.
    public let searched: Int
    /// Combinations that could not be simulated (an unreachable load, an unstable station).
    public let infeasible: Int
    /// Combinations that meet every objective (`best` keeps the cheapest).
    public let feasible: Int
    /// The cheapest feasible combinations, cheapest first.
    public let best: [Candidate]

    /// The model's targets that make up the cost: every station's `instanceSecondsPerJob`.
    public static func costTargets(_ targetNames: [String]) -> [String] {
        targetNames.filter { $0.hasPrefix("stations.") && $0.hasSuffix(".instanceSecondsPerJob") }
    }

    /// Why the model cannot judge `objective` for chains of `stations` stations (it does
    /// not predict that metric), or nil.
    public static func problem(_ objective: ServiceLevelObjective, model: SurrogateModel, stations: Int) -> String? {
        let names = model.chainTargetNames(stations: stations)
        return names.contains(objective.metric) ? nil
            : "the model predicts \(names.joined(separator: ", ")); \(objective.metric) is not one of them"
    }

    /// Predicts every combination of `grid` and keeps the `top` cheapest that meet every
    /// objective. Every objective must pass `problem(_:model:)` (a precondition). The
    /// combinations are predicted `chunk` at a time in bulk (`SurrogateModel.predict(_:threads:)`,
    /// matrix products on `threads` threads), a model composed along chains one by one.
    public init(model: SurrogateModel, grid: PlanGrid, objectives: [ServiceLevelObjective], top: Int,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        let stations = grid.spec.base.stations.count
        precondition(objectives.allSatisfy { Self.problem($0, model: model, stations: stations) == nil },
                     "PlanSearch: an objective the model cannot judge")
        let names = model.chainTargetNames(stations: stations)
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        let cost = Self.costTargets(names).map { index[$0]! }
        let objectiveIndex = objectives.map { index[$0.metric]! }
        var candidates: [Candidate] = []
        var feasible = 0, infeasible = 0
        var start = 0
        while start < grid.count {
            var points: [(counters: [Int], config: TandemConfig)] = []
            for n in start..<min(grid.count, start + Self.chunk) {
                let counters = grid.combination(n)
                let point = grid.point(counters)
                guard point.problem == nil else {
                    infeasible += 1
                    continue
                }
                points.append((counters, point.config))
            }
            start += Self.chunk
            let configs = points.map(\.config)
            let predictions = model.composesStations ? configs.map(model.predictChain) : model.predict(configs, threads: threads)
            for (point, predicted) in zip(points, predictions) {
                guard zip(objectives, objectiveIndex).allSatisfy({ $0.holds(predicted[$1]) }) else { continue }
                feasible += 1
                candidates.append(Candidate(values: grid.values(point.counters), config: point.config, predicted: predicted,
                                            cost: cost.reduce(0) { $0 + predicted[$1] }))
            }
            // Keep memory bounded on large grids: only the cheapest `top` can be listed.
            if candidates.count > 4 * top + 1000 {
                candidates.sort { $0.cost < $1.cost }
                candidates.removeLast(candidates.count - top)
            }
        }
        candidates.sort { $0.cost < $1.cost }
        axes = grid.axes
        self.objectives = objectives
        searched = grid.count
        self.infeasible = infeasible
        self.feasible = feasible
        best = Array(candidates.prefix(max(0, top)))
    }

    /// Combinations predicted at once: enough for the matrix products and the threads,
    /// few enough that a large grid's configurations are never all in memory.
    static let chunk = 8192

    /// `duet plan --json`'s shape: the counts and, per listed configuration, each axis's
    /// value, every predicted target, the error bands (model files with bands), the cost,
    /// and `simulated[rank]` when given (`--confirm`).
    public func json(model: SurrogateModel, simulated: [JSON?] = []) -> JSON {
        let rows: [JSON] = best.enumerated().map { rank, candidate in
            var fields: [(String, JSON)] = zip(axes, candidate.values).map { ($0.path, .string($1)) }
            let names = model.chainTargetNames(stations: candidate.config.stations.count)
            fields.append(("predicted", .object(zip(names, candidate.predicted).map { ($0, .number($1)) })))
            if !model.composesStations, let level = model.file.errorBands?.level {
                let bands = model.bands(candidate.config, predicted: candidate.predicted)
                fields.append(("bands", .object([("level", .number(level))] + zip(model.targetNames, bands).compactMap { name, band in
                    band.map { (name, .array([.number($0.lowerBound), .number($0.upperBound)])) }
                })))
            }
            fields.append(("instanceSecondsPerJob", .number(candidate.cost)))
            if rank < simulated.count, let report = simulated[rank] { fields.append(("simulated", report)) }
            return .object(fields)
        }
        return .object([("feasible", .integer(feasible)), ("infeasible", .integer(infeasible)),
                        ("searched", .integer(searched)), ("shown", .integer(best.count)), ("best", .array(rows))])
    }
}
