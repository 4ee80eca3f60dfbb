// `duet validate`: does the surrogate hold up on a real trace?
//
// For every station configuration of a grid, the trace is replayed through the
// simulator (the truth), and the surrogate and the analytical baseline predict the
// same configuration from what they understand of the trace: its fitted batch
// arrival process (on/off or renewal), its batch sizes, and its work folded into the
// service times (mean times the mean multiplier; scv (1 + c_w)(1 + c_x) - 1, exact
// for a job's X·w with X and w independent).
//
// The grid is a sweep spec whose `vary` entries are all lists (`choice`) or whole
// ranges (`int`): every combination is a configuration. Its base arrival is not used.
// With rate multipliers, each configuration is also validated with the traffic that
// many times as fast: the trace replayed faster, its fit run faster.

import Analytic
import Foundation
import Search
import Simulation
import Surrogate

/// Which fitted arrival process the predictions see.
public enum FittedArrival: String, Sendable, CaseIterable {
    /// The two-state on/off (interrupted Poisson) process, three moments.
    case onOff = "onoff"
    /// The renewal process of MODEL.md with the trace's inter-batch rate and scv.
    case renewal
    /// Markov-modulated Poisson arrivals fitted to the counts over 0.1 s to 100 s.
    case mmpp
    /// The trace itself, as a sweep over it records it in its dataset columns: for a
    /// surrogate trained on such a sweep (a base with `arrival.trace`, varying the
    /// stations), which knows this trace and no other.
    case trace
}

public struct TraceValidationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct TraceValidation: Sendable {
    /// One configuration of the grid.
    public struct Row: Sendable {
        /// The grid values, in the spec's `vary` order.
        public var values: [SweepValue]
        /// The trace-driven simulation's targets (nil when unstable) and meanResponse's
        /// half-width.
        public var simulated: [Double]?
        public var meanResponseCI95: Double?
        public var unstableReason: String?
        public var surrogate: [Double]
        public var analytic: [Double?]
        /// The configuration as the predictions see it.
        public var fitted: TandemConfig
        /// How many times as fast the trace was replayed and its fit run (1 but with
        /// rate multipliers).
        public var rateMultiplier: Double
        /// That configuration simulated (nil when not asked for, or unstable): how far
        /// the fitted process itself is from the trace, whatever the surrogate.
        public var fittedSimulated: [Double]?

        /// An offered load of 1 or more under the fitted arrivals: the process the
        /// predictions see never empties, so no prediction is right or wrong there,
        /// however long the trace's finite replay queues.
        public var overloadedUnderFit: Bool { fitted.offeredLoads.contains { $0 >= 1 } }
    }

    public var fit: TraceFit
    public var arrival: FittedArrival
    public var parameterNames: [String]
    public var targetNames: [String]
    public var rows: [Row]
    public var seconds: Double

    /// The grid's configurations (with the grid's stations and run settings, and the
    /// trace's arrivals), in order: the last `vary` entry changes fastest. With rate
    /// multipliers other than [1], the grid once for each (the trace replayed that many
    /// times as fast), the multiplier first among the values.
    public static func grid(_ spec: SweepSpec, trace: ArrivalTrace, rateMultipliers: [Double] = [1]) throws
        -> [(values: [SweepValue], config: TandemConfig)]
    {
        var sizes: [Int] = []
        for parameter in spec.parameters {
            switch parameter.range {
            case .choice(let values): sizes.append(values.count)
            case .int(let low, let high): sizes.append(high - low + 1)
            default:
                throw TraceValidationError("vary.\(parameter.target): the grid needs a list of values ({ choice: [...] }) "
                                           + "or whole numbers ({ int: [a, b] }), got \(parameter.range)")
            }
        }
        let count = sizes.reduce(1, *)
        guard count <= 10_000 else { throw TraceValidationError("the grid has \(count) configurations; at most 10,000") }
        guard !rateMultipliers.isEmpty, rateMultipliers.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw TraceValidationError("rate multipliers must be finite numbers > 0, got "
                                       + rateMultipliers.map(ConfigColumns.format).joined(separator: ", "))
        }
        guard count * rateMultipliers.count <= 10_000 else {
            throw TraceValidationError("the grid has \(count) configurations at \(rateMultipliers.count) rate "
                                       + "multipliers; at most 10,000 in all")
        }
        let labelled = rateMultipliers != [1]
        var configs: [(values: [SweepValue], config: TandemConfig)] = []
        for (multiplier, index) in rateMultipliers.flatMap({ m in (0..<count).map { (m, $0) } }) {
            var rest = index
            var coordinates = [Double](repeating: 0, count: sizes.count)
            for dimension in sizes.indices.reversed() {
                coordinates[dimension] = (Double(rest % sizes[dimension]) + 0.5) / Double(sizes[dimension])
                rest /= sizes[dimension]
            }
            let point = spec.point(index, coordinates: coordinates)
            var run = point.config.run
            run.threads = 1
            configs.append(((labelled ? [.number(multiplier)] : []) + point.values,
                            TandemConfig(trace: trace, rateMultiplier: multiplier, stations: point.config.stations,
                                         run: run)))
        }
        return configs
    }

    /// What the surrogate and the baseline see of `stations` under the fitted trace,
    /// the fit run `rateMultiplier` times as fast (`.trace`: `ConfigColumns.datasetView`
    /// of the trace configuration instead).
    public static func fittedConfig(_ fit: TraceFit, arrival: FittedArrival, stations: [StationConfig],
                                    rateMultiplier: Double = 1) -> TandemConfig {
        var config: TandemConfig
        switch arrival {
        case .onOff where fit.onOff.onFraction < 1:
            // Time compressed: the on periods shorten with the gaps.
            config = TandemConfig(arrivalRate: fit.batchRate * rateMultiplier,
                                  onOff: OnOffSpec(onFraction: fit.onOff.onFraction,
                                                   meanOn: fit.onOff.meanOn / rateMultiplier),
                                  batch: fit.batch.spec, stations: stations)
        case .mmpp:
            config = TandemConfig(mmpp: fit.mmpp.spec, rateMultiplier: rateMultiplier, batch: fit.batch.spec,
                                  stations: stations)
        default:
            config = TandemConfig(arrivalRate: fit.batchRate * rateMultiplier, arrivalScv: fit.arrivalScv,
                                  batch: fit.batch.spec, stations: stations)
        }
        if let work = fit.work {
            for k in config.stations.indices {
                let service = config.stations[k].service
                config.stations[k].service = MomentSpec(
                    mean: service.mean * work.mean, scv: (1 + work.scv) * (1 + service.scv) - 1)
            }
        }
        return config
    }

    /// Simulates every configuration of `grid` on `threads` threads (one configuration
    /// each) and predicts it with `model`. With `fittedJobs`, each configuration is
    /// also simulated under the fitted process (that many jobs per replication).
    /// `progress(done, total)` is called as simulations finish.
    public static func run(
        model: SurrogateModel, trace: ArrivalTrace, grid spec: SweepSpec, rateMultipliers: [Double] = [1],
        arrival: FittedArrival, threads: Int, fittedJobs: Int? = nil,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) throws -> TraceValidation {
        // A model composed along chains predicts the grid's chains station by station.
        try run(targets: model.chainTargetNames(stations: spec.base.stations.count), predict: model.predictChain,
                trace: trace, grid: spec,
                rateMultipliers: rateMultipliers, arrival: arrival, threads: threads, fittedJobs: fittedJobs,
                progress: progress)
    }

    /// The same with any predictor of `targets` (a closed form, in tests).
    public static func run(
        targets: [String], predict: (TandemConfig) -> [Double], trace: ArrivalTrace, grid spec: SweepSpec,
        rateMultipliers: [Double] = [1], arrival: FittedArrival, threads: Int, fittedJobs: Int? = nil,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) throws -> TraceValidation {
        let started = Date()
        let fit = TraceFit(trace)
        let configs = try grid(spec, trace: trace, rateMultipliers: rateMultipliers)
        // The dataset view of a trace is not a process of its own to simulate.
        let fittedJobs = arrival == .trace ? nil : fittedJobs
        let simulations = configs.map(\.config) + configs.compactMap { entry -> TandemConfig? in
            guard let fittedJobs else { return nil }
            var fitted = fittedConfig(fit, arrival: arrival, stations: entry.config.stations,
                                      rateMultiplier: entry.config.rateMultiplier)
            fitted.run = entry.config.run
            fitted.run.jobs = fittedJobs
            return fitted
        }
        // Each worker takes the next simulation (one thread each); results land in their slots.
        let results = ResultSlots<SimulationReport>(count: simulations.count)
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, simulations.count))) { _ in
            while let index = results.claimNext() {
                let config = simulations[index]
                let report = Simulator.simulate(config, controls: ControlVariates.coefficients(for: config))
                progress(results.store(report, at: index), simulations.count)
            }
        }
        let reports = results.values()
        var rows: [Row] = []
        for (index, entry) in configs.enumerated() {
            let report = reports[index]
            let fitted = arrival == .trace ? try ConfigColumns.datasetView(entry.config)
                : fittedConfig(fit, arrival: arrival, stations: entry.config.stations,
                               rateMultiplier: entry.config.rateMultiplier)
            let estimate = QueueingNetworkAnalyzer.estimate(fitted)
            var fittedSimulated: [Double]?
            if fittedJobs != nil {
                let fittedReport = reports[configs.count + index]
                if fittedReport.stable { fittedSimulated = targets.map { fittedReport.estimate($0)?.mean ?? .nan } }
            }
            rows.append(Row(
                values: entry.values,
                simulated: report.stable ? targets.map { report.estimate($0)?.mean ?? .nan } : nil,
                meanResponseCI95: report.estimate("meanResponse")?.ci95,
                unstableReason: report.unstableReason,
                surrogate: predict(fitted),
                analytic: targets.map { estimate?.value($0) },
                fitted: fitted, rateMultiplier: entry.config.rateMultiplier, fittedSimulated: fittedSimulated))
        }
        let names = (rateMultipliers != [1] ? ["arrival.rateMultiplier"] : []) + spec.parameters.map { "\($0.target)" }
        return TraceValidation(fit: fit, arrival: arrival, parameterNames: names,
                               targetNames: targets, rows: rows, seconds: Date().timeIntervalSince(started))
    }

    /// MAPE per target over the rows stable under the trace and not overloaded under
    /// the fit (`Row.overloadedUnderFit`): the surrogate's and the
    /// baseline's against the trace (nil where the baseline has no estimate), and, when
    /// the fitted process was simulated, that simulation's against the trace and the
    /// surrogate's against it (its own error, apart from the fit's).
    public var mape: [MAPE] { mape(of: rows) }

    /// One target's MAPEs (`mape`).
    public typealias MAPE = (target: String, surrogate: Double, analytic: Double?, fittedProcess: Double?,
                             surrogateVsFitted: Double?)

    /// `mape` over the rows of each rate multiplier, in the order given (one entry
    /// when there is one multiplier), with how many rows went into it.
    public var mapeByRateMultiplier: [(rateMultiplier: Double, rows: Int, mape: [MAPE])] {
        var multipliers: [Double] = []
        for row in rows where !multipliers.contains(row.rateMultiplier) { multipliers.append(row.rateMultiplier) }
        return multipliers.map { multiplier in
            let subset = rows.filter { $0.rateMultiplier == multiplier }
            let judged = subset.filter { $0.simulated != nil && !$0.overloadedUnderFit }.count
            return (multiplier, judged, mape(of: subset))
        }
    }

    private func mape(of rows: [Row]) -> [MAPE] {
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(1, values.count)) }
        func error(_ value: Double, _ truth: Double) -> Double { abs(value - truth) / truth * 100 }
        return targetNames.indices.map { t in
            var surrogate: [Double] = []
            var analytic: [Double] = []
            var fitted: [Double] = []
            var own: [Double] = []
            for row in rows {
                guard let simulated = row.simulated?[t], simulated > 0, !row.overloadedUnderFit else { continue }
                surrogate.append(error(row.surrogate[t], simulated))
                if let value = row.analytic[t] { analytic.append(error(value, simulated)) }
                if let value = row.fittedSimulated?[t], value > 0 {
                    fitted.append(error(value, simulated))
                    own.append(error(row.surrogate[t], value))
                }
            }
            return (targetNames[t], mean(surrogate),
                    analytic.count == surrogate.count && !analytic.isEmpty ? mean(analytic) : nil,
                    fitted.isEmpty ? nil : mean(fitted), own.isEmpty ? nil : mean(own))
        }
    }

    public var stableRows: Int { rows.filter { $0.simulated != nil }.count }

    /// Rows stable under the trace but overloaded under the fit (left out of `mape`).
    public var overloadedUnderFitRows: Int { rows.filter { $0.simulated != nil && $0.overloadedUnderFit }.count }
}
