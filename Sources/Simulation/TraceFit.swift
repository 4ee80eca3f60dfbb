// Fits the workload models of MODEL.md to a trace (`duet fit-trace`): a renewal
// batch process (rate, inter-batch scv, batch-size family), the work multipliers'
// moments, a two-state on/off (interrupted Poisson) batch process matched to
// three moments of the inter-batch times, and Markov-modulated arrivals matched to
// the counts over 0.1 s to 100 s (MMPPFit.swift).

import DuetSupport
import Foundation

/// Sample moments of a positive quantity.
public struct SampleMoments: Sendable, Equatable {
    public var count: Int
    public var mean: Double
    /// Squared coefficient of variation (population variance / mean^2).
    public var scv: Double
    /// Raw moments E[X^2], E[X^3].
    public var second: Double
    public var third: Double
    public var min: Double
    public var max: Double

    public init(_ values: [Double]) {
        count = values.count
        let n = Double(Swift.max(1, values.count))
        mean = values.reduce(0, +) / n
        second = values.reduce(0) { $0 + $1 * $1 } / n
        third = values.reduce(0) { $0 + $1 * $1 * $1 } / n
        scv = mean > 0 ? Swift.max(0, second / (mean * mean) - 1) : 0
        min = values.min() ?? 0
        max = values.max() ?? 0
    }
}

/// The batch-size family closest to a trace's batch sizes.
public struct BatchFit: Sendable, Equatable {
    /// What goes into `batch:`; empirical when no family is within `maxDistance`.
    public var spec: BatchSizeSpec
    /// Sample mean and scv of the batch sizes.
    public var mean: Double
    public var scv: Double
    /// Total-variation distance of the sample pmf to each family, in
    /// `BatchFit.families` order (infinity where the family cannot be fitted).
    public var distances: [Double]

    public static let families = ["deterministic", "geometric", "uniform"]
    /// A family is taken when its total-variation distance to the sample pmf is at
    /// most this (at most 5% of the probability mass is misplaced).
    public static let maxDistance = 0.05

    /// The family's pmf with the sample's mean (deterministic and uniform: the
    /// nearest mean they admit), compared by total variation; ties go to the
    /// earlier family in MODEL.md's order.
    public init(sizes: [Int]) {
        let moments = SampleMoments(sizes.map(Double.init))
        mean = moments.mean
        scv = moments.scv
        var counts: [Int: Int] = [:]
        for size in sizes { counts[size, default: 0] += 1 }
        let n = Double(sizes.count)
        let candidates: [BatchSizeSpec] = [
            .deterministic(Swift.max(1, Int(mean.rounded()))),
            .geometric(mean: Swift.max(1, mean)),
            .uniform(mean: Swift.max(1, (2 * mean).rounded() / 2)),
        ]
        let distances = candidates.map { candidate in
            // 0.5 x (sum over observed sizes of |p - q| + the family's mass elsewhere).
            var observedMass = 0.0
            var difference = 0.0
            for (size, count) in counts {
                let q = BatchFit.probability(of: size, candidate)
                observedMass += q
                difference += abs(Double(count) / n - q)
            }
            return 0.5 * (difference + Swift.max(0, 1 - observedMass))
        }
        self.distances = distances
        let best = distances.indices.min { distances[$0] < distances[$1] }!
        if distances[best] <= BatchFit.maxDistance {
            spec = candidates[best]
        } else {
            let values = counts.keys.sorted()
            spec = .empirical(values: values, weights: values.map { Double(counts[$0]!) })
        }
    }

    static func probability(of size: Int, _ spec: BatchSizeSpec) -> Double {
        switch spec {
        case .deterministic(let fixed): return size == fixed ? 1 : 0
        case .geometric(let mean):
            if mean <= 1 { return size == 1 ? 1 : 0 }
            let p = 1 / mean
            return pow(1 - p, Double(size - 1)) * p
        case .uniform(let mean):
            let upper = Int((2 * mean - 1).rounded())
            return (1...upper).contains(size) ? 1 / Double(upper) : 0
        case .empirical(let values, let weights):
            let total = weights.reduce(0, +)
            return zip(values, weights).filter { $0.0 == size }.reduce(0) { $0 + $1.1 } / total
        }
    }
}

/// A two-state on/off batch process: while on, batches arrive as a Poisson
/// process at `onRate`; on and off periods are exponential.
public struct OnOffFit: Sendable, Equatable {
    public enum Method: String, Sendable {
        /// Hyperexponential fitted to three moments, converted exactly.
        case threeMoments = "three moments"
        /// The third moment admits no H2: balanced-means H2 on two moments.
        case balancedMeans = "two moments, balanced means"
        /// scv <= 1: no on/off process is that regular; always on (Poisson).
        case poisson = "poisson"
    }

    /// Long-run mean batches per second (onRate x onFraction).
    public var rate: Double
    public var onFraction: Double
    public var meanOn: Double
    public var meanOff: Double
    public var onRate: Double
    public var method: Method

    /// The interrupted Poisson process whose inter-arrival times (hyperexponential,
    /// Kuczura 1973) have raw moments `m1`, `m2`, `m3`.
    ///
    /// H2 from three moments: with r_k = m_k / k!, the phase means a, b are the
    /// roots of x^2 - s x + q with s = (r3 - r1 r2) / (r2 - r1^2), q = s r1 - r2,
    /// and p = (r1 - b) / (a - b). Then the IPP: on-rate l = p/a + (1-p)/b,
    /// off->on rate w2 = 1 / (a b l), on->off rate w1 = 1/a + 1/b - l - w2.
    public static func fit(m1: Double, m2: Double, m3: Double) -> OnOffFit {
        let r1 = m1, r2 = m2 / 2, r3 = m3 / 6
        guard m1 > 0, r2 > r1 * r1 * (1 + 1e-9) else {
            return OnOffFit(rate: 1 / m1, onFraction: 1, meanOn: .infinity, meanOff: 0, onRate: 1 / m1,
                            method: .poisson)
        }
        let s = (r3 - r1 * r2) / (r2 - r1 * r1)
        let q = s * r1 - r2
        let discriminant = s * s - 4 * q
        if q > 0, discriminant > 0 {
            let a = (s + discriminant.squareRoot()) / 2, b = (s - discriminant.squareRoot()) / 2
            let p = (r1 - b) / (a - b)
            if b > 0, p > 0, p < 1 {
                return fromH2(p: p, mean1: a, mean2: b, method: .threeMoments)
            }
        }
        // Balanced means (MODEL.md's H2 for scv > 1): p/mu1 = (1-p)/mu2.
        let scv = m2 / (m1 * m1) - 1
        let p = (1 + ((scv - 1) / (scv + 1)).squareRoot()) / 2
        return fromH2(p: p, mean1: m1 / (2 * p), mean2: m1 / (2 * (1 - p)), method: .balancedMeans)
    }

    static func fromH2(p: Double, mean1: Double, mean2: Double, method: Method) -> OnOffFit {
        let l1 = 1 / mean1, l2 = 1 / mean2
        let onRate = p * l1 + (1 - p) * l2
        let offToOn = l1 * l2 / onRate
        let onToOff = max(0, l1 + l2 - onRate - offToOn)
        let onFraction = onToOff == 0 ? 1 : offToOn / (onToOff + offToOn)
        let meanOn = 1 / onToOff
        return OnOffFit(rate: onRate * onFraction, onFraction: onFraction, meanOn: meanOn,
                        meanOff: 1 / offToOn, onRate: onRate, method: method)
    }
}

/// Everything `duet fit-trace` estimates from one trace.
public struct TraceFit: Sendable {
    public var settings: TraceSettings
    public var jobs: Int
    public var batches: Int
    /// Seconds from the first row to the last.
    public var span: Double
    /// Jobs and batches per second over the span.
    public var jobRate: Double
    public var batchRate: Double
    public var interBatch: SampleMoments
    public var batch: BatchFit
    /// Work multipliers (work x workScale), when a work column was given.
    public var work: SampleMoments?
    public var onOff: OnOffFit
    /// Markov-modulated arrivals fitted to the dispersion of counts.
    public var mmpp: MMPPFit
    /// Burstiness scale by scale: the trace's index of dispersion beside that of
    /// each fitted process (as the simulator would draw it).
    public var dispersion: DispersionComparison

    public init(_ trace: ArrivalTrace) {
        settings = trace.settings
        jobs = trace.jobCount
        batches = trace.batchCount
        span = trace.span
        jobRate = span > 0 ? Double(jobs) / span : .infinity
        batchRate = span > 0 ? Double(batches) / span : .infinity
        interBatch = SampleMoments(trace.interBatchTimes)
        batch = BatchFit(sizes: trace.batchSizes)
        work = trace.work.map(SampleMoments.init)
        onOff = interBatch.count < 3 ? OnOffFit(rate: batchRate, onFraction: 1, meanOn: .infinity, meanOff: 0,
                                                onRate: batchRate, method: .poisson)
            : OnOffFit.fit(m1: interBatch.mean, m2: interBatch.second, m3: interBatch.third)
        mmpp = MMPPFit(trace: trace, batch: batch.spec)
        dispersion = DispersionComparison(trace: trace, renewal: Self.renewalProcess(batchRate: batchRate,
                                          scv: interBatch.scv, batch: batch.spec),
                                          onOff: Self.onOffProcess(onOff, batch: batch.spec),
                                          mmpp: Self.mmppProcess(mmpp, batchRate: batchRate, batch: batch.spec))
    }

    /// The renewal fit as a configuration without stations (what `yaml` writes).
    static func renewalProcess(batchRate: Double, scv: Double, batch: BatchSizeSpec) -> TandemConfig? {
        guard batchRate.isFinite, batchRate > 0, scv.isFinite else { return nil }
        return TandemConfig(arrivalRate: batchRate, arrivalScv: scv, batch: batch, stations: [])
    }

    /// The on/off fit as a configuration without stations.
    static func onOffProcess(_ fit: OnOffFit, batch: BatchSizeSpec) -> TandemConfig? {
        guard fit.rate.isFinite, fit.rate > 0 else { return nil }
        let spec = fit.onFraction < 1 && fit.meanOn.isFinite ? OnOffSpec(onFraction: fit.onFraction, meanOn: fit.meanOn) : nil
        return TandemConfig(arrivalRate: fit.rate, onOff: spec, batch: batch, stations: [])
    }

    /// The MMPP fit as a configuration without stations.
    static func mmppProcess(_ fit: MMPPFit, batchRate: Double, batch: BatchSizeSpec) -> TandemConfig? {
        guard batchRate.isFinite, batchRate > 0 else { return nil }
        return TandemConfig(mmpp: fit.spec, batch: batch, stations: [])
    }

    /// The renewal fit's inter-batch scv.
    public var arrivalScv: Double { interBatch.scv }

    // MARK: Output

    public var json: JSON {
        var members: [(String, JSON)] = [
            ("trace", .string(settings.path)), ("batchWindow", .number(settings.batchWindow)),
            ("jobs", .integer(jobs)), ("batches", .integer(batches)), ("span", .number(span)),
            ("jobRate", .number(jobRate)), ("batchRate", .number(batchRate)),
            ("interBatchMean", .number(interBatch.mean)), ("arrivalScv", .number(arrivalScv)),
        ]
        let distances = zip(BatchFit.families, batch.distances).map { ($0.0, JSON.number($0.1)) }
        members.append(("batch", .object([
            ("dist", .string(batch.spec.distName)), ("mean", .number(batch.mean)), ("scv", .number(batch.scv)),
            ("distance", .object(distances)),
        ])))
        if let work {
            members.append(("work", .object([
                ("column", .string(settings.workColumn ?? "")), ("scale", .number(settings.workScale)),
                ("mean", .number(work.mean)), ("scv", .number(work.scv)), ("min", .number(work.min)),
                ("max", .number(work.max)),
            ])))
        } else {
            members.append(("work", .null))
        }
        members.append(("onOff", .object([
            ("rate", .number(onOff.rate)), ("onFraction", .number(onOff.onFraction)),
            ("meanOn", .number(onOff.meanOn)), ("meanOff", .number(onOff.meanOff)),
            ("onRate", .number(onOff.onRate)), ("method", .string(onOff.method.rawValue)),
        ])))
        members.append(("mmpp", .object([
            ("levels", .integer(mmpp.levels)), ("binWidth", .number(mmpp.binWidth)),
            ("candidates", .array(mmpp.candidates.map { candidate in
                .object([("levels", .integer(candidate.levels)), ("logLikelihood", .number(candidate.logLikelihood)),
                         ("bic", .number(candidate.bic))])
            })),
            ("levelBatchRates", .array(mmpp.levelBatchRates.map(JSON.number))),
            ("levelBatchMeans", .array(mmpp.levelBatchMeans.map(JSON.number))),
            ("sources", .array(mmpp.spec.sources.map { source in
                var members: [(String, JSON)] = [("rates", .array(source.rates.map(JSON.number))),
                                                 ("meanHolds", .array(source.meanHolds.map(JSON.number)))]
                if let next = source.next { members.append(("next", .array(next.map { .array($0.map(JSON.number)) }))) }
                return .object(members)
            })),
            ("scales", .array(mmpp.scales.map(JSON.number))),
            ("traceDispersion", .array(mmpp.traceDispersion.map(JSON.number))),
            ("fittedDispersion", .array(mmpp.fittedDispersion.map(JSON.number))),
        ])))
        members.append(("dispersion", dispersion.json))
        return .object(members)
    }

    /// A readable summary.
    public var text: String {
        func f(_ value: Double) -> String { ConfigLoader.rounded(value) }
        var lines = [
            "trace:          \(settings.path) (time column \(settings.timeColumn), batch window \(f(settings.batchWindow)) s)",
            "span:           \(f(span)) s, \(jobs) jobs in \(batches) batches",
            "job rate:       \(f(jobRate)) per second",
            "batch rate:     \(f(batchRate)) per second",
            "inter-batch:    mean \(f(interBatch.mean)) s, scv \(f(arrivalScv))",
            "batch size:     mean \(f(batch.mean)), scv \(f(batch.scv)), closest family \(batch.spec.distName)"
                + " (total variation: " + zip(BatchFit.families, batch.distances)
                .map { "\($0.0) \(f($0.1))" }.joined(separator: ", ") + ")",
        ]
        if let work {
            lines.append("work:           mean \(f(work.mean)), scv \(f(work.scv)), min \(f(work.min)), "
                         + "max \(f(work.max)) (\(settings.workColumn ?? "") x \(f(settings.workScale)))")
        }
        lines.append("on/off fit:     onFraction \(f(onOff.onFraction)), meanOn \(f(onOff.meanOn)) s, "
                     + "meanOff \(f(onOff.meanOff)) s, rate while on \(f(onOff.onRate)) per second "
                     + "(\(onOff.method.rawValue))")
        let chosen = mmpp.candidates.map { "\($0.levels): \(f($0.bic))" }.joined(separator: ", ")
        lines.append("mmpp fit:       \(mmpp.levels) level(s) of a hidden Markov model of the batches and jobs in "
                     + "\(f(mmpp.binWidth)) s bins (BIC by levels: \(chosen)); batch sizes as above:")
        if let source = mmpp.spec.sources.first, mmpp.levels > 1 {
            let fractions = source.levelFractions
            for l in 0..<source.levelCount {
                let then = source.jumps(from: l).enumerated().filter { $0.element > 0.005 }
                    .map { "\($0.offset + 1) (\(f(100 * $0.element))%)" }.joined(separator: ", ")
                lines.append("                level \(l + 1): \(f(source.rates[l])) batches/s for \(f(source.meanHolds[l])) s, "
                             + "\(f(100 * fractions[l]))% of the time, then \(then) "
                             + "(in the trace: \(f(mmpp.levelBatchRates[l])) batches/s of \(f(mmpp.levelBatchMeans[l])))")
            }
        } else {
            lines.append("                Poisson at \(f(mmpp.spec.meanRate)) batches/s")
        }
        lines.append(contentsOf: dispersion.textLines)
        if let work {
            lines.append("")
            lines.append(contentsOf: workNote(work).map { String($0.dropFirst(2)) })
        }
        return lines.joined(separator: "\n")
    }

    /// How to fold the work multipliers into a station's service moments.
    func workNote(_ work: SampleMoments) -> [String] {
        let f = ConfigLoader.rounded
        return [
            "# Service work: job j needs X_j x w_j seconds, w the work multiplier (mean \(f(work.mean)),",
            "# scv \(f(work.scv))). Without replaying the trace, fold w into each station's service:",
            "#   service.mean = \(f(work.mean)) x (mean X per unit of work)",
            "#   service.scv  = (1 + \(f(work.scv))) x (1 + scv of X) - 1",
        ]
    }

    /// The `arrival` and `batch` sections of a configuration: the MMPP fit, with the
    /// renewal and on/off fits as commented alternatives.
    public var yaml: String {
        func f(_ value: Double) -> String { ConfigNode.format(value) }
        var lines = [
            "# Fitted by `duet fit-trace` from \(settings.path)",
            "# (time column \(settings.timeColumn), batch window \(f(settings.batchWindow)) s):"
                + " \(jobs) jobs in \(batches) batches over \(ConfigLoader.rounded(span)) s.",
            "# Markov-modulated Poisson fit: \(mmpp.levels) level(s) of a hidden Markov model of the batches",
            "# and jobs in \(ConfigLoader.rounded(mmpp.binWidth)) s bins (levels by BIC), each level's rate keeping its job intensity;",
            "# the batch size family closest in total variation.",
            "arrival:",
            "  mmpp:",
        ]
        for source in mmpp.spec.sources {
            lines.append("    - rates: [\(source.rates.map(f).joined(separator: ", "))]")
            lines.append("      meanHolds: [\(source.meanHolds.map(f).joined(separator: ", "))]")
            if let next = source.next {
                lines.append("      next:")
                for row in next { lines.append("        - [\(row.map(f).joined(separator: ", "))]") }
            }
        }
        lines += [
            "# Renewal alternative (inter-batch mean and scv); replace the arrival section above with:",
            "# arrival:",
            "#   rate: \(f(batchRate))",
            "#   scv: \(f(arrivalScv))",
            "# On/off (interrupted Poisson) alternative, fitted to three moments of the inter-batch",
            "# times (\(onOff.method.rawValue)); replace the arrival section above with:",
            "# arrival:",
            "#   rate: \(f(onOff.rate))",
            // Always on: the on-period length does not matter; the span keeps it finite.
            "#   onOff: { onFraction: \(f(onOff.onFraction)), meanOn: \(f(onOff.meanOn.isFinite ? onOff.meanOn : span)) }",
            "batch:",
        ]
        switch batch.spec {
        case .deterministic(let size):
            lines += ["  dist: deterministic", "  mean: \(size)"]
        case .geometric(let mean), .uniform(let mean):
            lines += ["  dist: \(batch.spec.distName)", "  mean: \(f(mean))"]
        case .empirical(let values, let weights):
            lines += ["  dist: empirical", "  values: [\(values.map(String.init).joined(separator: ", "))]",
                      "  weights: [\(weights.map(f).joined(separator: ", "))]"]
        }
        if let work { lines += workNote(work) }
        lines.append("# stations: add the two stations (docs/configuration.md).")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A trace's index of dispersion for counts beside its fits', at the same scales.
public struct DispersionComparison: Sendable, Equatable {
    public var trace: DispersionCurve
    /// nil when the fit has no process to draw (a trace of fewer than two batches).
    public var renewal: DispersionCurve?
    public var onOff: DispersionCurve?
    public var mmpp: DispersionCurve?

    /// The fits are drawn for 20 trace spans or 1,000 of the widest windows,
    /// whichever is longer (at most about 5 million batches), with seed 1.
    public init(trace recorded: ArrivalTrace, renewal: TandemConfig?, onOff: TandemConfig?, mmpp: TandemConfig? = nil,
                scales: [Double] = DispersionCurve.defaultScales) {
        trace = DispersionCurve(trace: recorded, scales: scales)
        func drawn(_ process: TandemConfig?) -> DispersionCurve? {
            guard let process, let widest = scales.max() else { return nil }
            let horizon = min(max(20 * recorded.span, 1000 * widest), 5e6 / process.arrivalRate)
            return DispersionCurve(arrivalsOf: process, horizon: horizon, seed: 1, scales: scales)
        }
        self.renewal = drawn(renewal)
        self.onOff = drawn(onOff)
        self.mmpp = drawn(mmpp)
    }

    var json: JSON {
        func values(_ curve: DispersionCurve?) -> JSON {
            guard let curve else { return .null }
            return .array(curve.values.map { $0.map(JSON.number) ?? .null })
        }
        return .object([("scales", .array(trace.scales.map(JSON.number))), ("trace", values(trace)),
                        ("renewalFit", values(renewal)), ("onOffFit", values(onOff)),
                        ("mmppFit", values(mmpp))])
    }

    var textLines: [String] {
        func right(_ text: String) -> String { String(repeating: " ", count: max(1, 10 - text.count)) + text }
        func cell(_ value: Double?) -> String { right(value.map { ConfigLoader.rounded($0) } ?? "-") }
        func row(_ name: String, _ curve: DispersionCurve?) -> String {
            name.padding(toLength: 16, withPad: " ", startingAt: 0)
                + (curve?.values ?? trace.scales.map { _ in nil }).map(cell).joined()
        }
        return [
            "dispersion:     variance / mean of the jobs arriving in a window (Poisson single jobs: 1;"
                + " '-': under \(DispersionCurve.minimumWindows) windows)",
            "  window".padding(toLength: 16, withPad: " ", startingAt: 0)
                + trace.scales.map { right(ConfigLoader.rounded($0) + " s") }.joined(),
            row("  trace", trace), row("  renewal fit", renewal), row("  on/off fit", onOff),
            row("  mmpp fit", mmpp),
        ]
    }
}
