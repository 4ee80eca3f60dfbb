// `TraceFit` against traces drawn from known processes. Tolerances are four
// standard errors of each estimate, computed from the generator's exact moments
// and the sample size by the delta method (so a correct fit fails with
// probability below 1e-4, and the seeds are fixed).

import Foundation
import Testing
@testable import Simulation

/// Standard errors of the sample mean and sample scv of n i.i.d. draws whose raw
/// moments are m[1] ... m[4] (m[0] = 1).
func momentErrors(_ m: [Double], n: Int) -> (mean: Double, scv: Double) {
    let count = Double(n)
    let varX = m[2] - m[1] * m[1], varX2 = m[4] - m[2] * m[2], cov = m[3] - m[1] * m[2]
    // scv = m2 / m1^2 - 1: gradient (-2 m2 / m1^3, 1 / m1^2).
    let g1 = -2 * m[2] / pow(m[1], 3), g2 = 1 / (m[1] * m[1])
    let varScv = g1 * g1 * varX + 2 * g1 * g2 * cov + g2 * g2 * varX2
    return ((varX / count).squareRoot(), (varScv / count).squareRoot())
}

/// Raw moments 0...k of an Erlang with `stages` stages and the given mean.
func erlangMoments(stages k: Int, mean: Double, upTo order: Int) -> [Double] {
    let theta = mean / Double(k)
    return (0...order).map { j in (0..<j).reduce(1.0) { $0 * Double(k + $1) * theta } }
}

/// Raw moments 0...order of a two-phase hyperexponential.
func h2Moments(p: Double, mean1: Double, mean2: Double, upTo order: Int) -> [Double] {
    (0...order).map { j in
        let factorial = (1...max(1, j)).reduce(1.0) { $0 * Double($1) }
        return factorial * (p * pow(mean1, Double(j)) + (1 - p) * pow(mean2, Double(j)))
    }
}

/// A trace held in memory (no CSV): `times` per job.
func memoryTrace(_ times: [Double], window: Double = 0) -> ArrivalTrace {
    ArrivalTrace(settings: TraceSettings(path: "generated", batchWindow: window), times: times, work: nil,
                 contentHash: 0)
}

@Suite("Fitting traces")
struct TraceFitTests {
    struct Renewal: Sendable, CustomTestStringConvertible {
        let name: String
        let scv: Double
        /// Raw moments of the inter-batch time (mean 0.5) up to the 4th.
        let moments: [Double]
        var testDescription: String { name }
    }

    static let renewals: [Renewal] = [
        Renewal(name: "Erlang-4", scv: 0.25, moments: erlangMoments(stages: 4, mean: 0.5, upTo: 4)),
        Renewal(name: "H2 scv 4", scv: 4, moments: {
            let p = (1 + (3.0 / 5).squareRoot()) / 2
            return h2Moments(p: p, mean1: 0.5 / (2 * p), mean2: 0.5 / (2 * (1 - p)), upTo: 4)
        }()),
    ]

    @Test("A renewal trace with geometric batches: rates, scv and batch moments", arguments: renewals)
    func renewal(_ process: Renewal) throws {
        let batches = 60_000, batchMean = 3.0
        var gaps = RandomStream(seed: 11, substream: 1)
        var sizes = RandomStream(seed: 11, substream: 2)
        let interArrival = MomentSampler(MomentSpec(mean: 0.5, scv: process.scv))
        let batchSampler = BatchSampler(.geometric(mean: batchMean))
        var times: [Double] = []
        var clock = 0.0
        for index in 0..<batches {
            if index > 0 { clock += interArrival.sample(&gaps) }
            times += Array(repeating: clock, count: batchSampler.sample(&sizes))
        }
        let fit = TraceFit(memoryTrace(times))
        #expect(fit.batches == batches)

        let gapErrors = momentErrors(process.moments, n: batches - 1)
        #expect(abs(fit.interBatch.mean - 0.5) <= 4 * gapErrors.mean, "inter-batch mean \(fit.interBatch.mean)")
        #expect(abs(fit.arrivalScv - process.scv) <= 4 * gapErrors.scv,
                "scv \(fit.arrivalScv), expected \(process.scv) ± \(4 * gapErrors.scv)")
        // rate = 1/mean: its error is the mean's over mean^2.
        #expect(abs(fit.batchRate - 2) <= 4 * gapErrors.mean / 0.25, "batch rate \(fit.batchRate)")

        // Geometric sizes, p = 1/3: raw moments by summing the pmf.
        let p = 1 / batchMean
        let sizeMoments = (0...4).map { j in
            (1...2000).reduce(0.0) { $0 + pow(Double($1), Double(j)) * pow(1 - p, Double($1 - 1)) * p }
        }
        let sizeErrors = momentErrors(sizeMoments, n: batches)
        #expect(abs(fit.batch.mean - batchMean) <= 4 * sizeErrors.mean, "batch mean \(fit.batch.mean)")
        #expect(abs(fit.batch.scv - (1 - p)) <= 4 * sizeErrors.scv, "batch scv \(fit.batch.scv)")
        #expect(fit.batch.spec.distName == "geometric")
        // Jobs per second = batch rate x batch mean; relative errors add in quadrature.
        let relative = ((gapErrors.mean / 0.5) * (gapErrors.mean / 0.5)
                        + (sizeErrors.mean / batchMean) * (sizeErrors.mean / batchMean)).squareRoot()
        #expect(abs(fit.jobRate - 6) <= 4 * relative * 6, "job rate \(fit.jobRate)")
    }

    @Test("Batch families: exact pmfs are recognised, a two-point pmf is empirical")
    func batchFamilies() {
        #expect(BatchFit(sizes: Array(repeating: 4, count: 10)).spec == .deterministic(4))
        #expect(BatchFit(sizes: Array(1...5) + Array(1...5)).spec == .uniform(mean: 3))
        let twoPoint = BatchFit(sizes: Array(repeating: 1, count: 50) + Array(repeating: 10, count: 50))
        #expect(twoPoint.spec == .empirical(values: [1, 10], weights: [50, 50]))
        // Uniform on 1...5 vs geometric with mean 3: sum |p - q| / 2 by hand is
        // 0.5 x (|.2-1/3| + |.2-2/9| + |.2-4/27| + |.2-8/81| + |.2-16/243| + tail 32/243).
        let tail = 32.0 / 243
        let geometric: [Double] = [1.0 / 3, 2.0 / 9, 4.0 / 27, 8.0 / 81, 16.0 / 243]
        let differences: Double = geometric.reduce(0.0) { $0 + abs(0.2 - $1) }
        let byHand = 0.5 * (differences + tail)
        #expect(abs(BatchFit(sizes: Array(1...5)).distances[1] - byHand) < 1e-12)
    }

    /// The H2 inter-arrival law of an IPP (Kuczura): on-rate l, on->off w1, off->on w2.
    static func ippH2(onRate l: Double, meanOn: Double, meanOff: Double) -> (p: Double, mean1: Double, mean2: Double) {
        let w1 = 1 / meanOn, w2 = 1 / meanOff
        let sum = l + w1 + w2
        let root = (sum * sum - 4 * l * w2).squareRoot()
        let l1 = (sum + root) / 2, l2 = (sum - root) / 2
        return ((l - l2) / (l1 - l2), 1 / l1, 1 / l2)
    }

    @Test("An interrupted Poisson trace gives back onFraction and meanOn")
    func interruptedPoisson() throws {
        let onRate = 4.0, meanOn = 5.0, meanOff = 15.0
        let onFraction = meanOn / (meanOn + meanOff)
        let h2 = Self.ippH2(onRate: onRate, meanOn: meanOn, meanOff: meanOff)
        let m = h2Moments(p: h2.p, mean1: h2.mean1, mean2: h2.mean2, upTo: 6)
        // Exact moments give the process back exactly.
        let exact = OnOffFit.fit(m1: m[1], m2: m[2], m3: m[3])
        #expect(exact.method == .threeMoments)
        #expect(abs(exact.onFraction - onFraction) < 1e-9)
        #expect(abs(exact.meanOn - meanOn) < 1e-9 * meanOn)
        #expect(abs(exact.meanOff - meanOff) < 1e-9 * meanOff)
        #expect(abs(exact.rate - onRate * onFraction) < 1e-12)

        // A simulated IPP: while on, Poisson arrivals; exponential on and off periods.
        var stream = RandomStream(seed: 5, substream: 3)
        func exponential(_ mean: Double) -> Double { -mean * log(stream.nextOpenUnit()) }
        let batches = 500_000
        var times: [Double] = [0]
        var clock = 0.0
        var onLeft = exponential(meanOn)
        while times.count < batches {
            let next = exponential(1 / onRate)
            if next < onLeft {
                clock += next
                onLeft -= next
                times.append(clock)
            } else {
                clock += onLeft + exponential(meanOff)
                onLeft = exponential(meanOn)
            }
        }
        let fit = TraceFit(memoryTrace(times)).onOff
        #expect(fit.method == .threeMoments)

        // Delta method through the fit: finite-difference gradient in (m1, m2, m3),
        // covariance of the sample raw moments from the exact moments up to m6.
        func standardError(_ value: (OnOffFit) -> Double) -> Double {
            var gradient = [0.0, 0.0, 0.0]
            for i in 0..<3 {
                var up = [m[1], m[2], m[3]], down = up
                let step = 1e-5 * up[i]
                up[i] += step
                down[i] -= step
                gradient[i] = (value(OnOffFit.fit(m1: up[0], m2: up[1], m3: up[2]))
                               - value(OnOffFit.fit(m1: down[0], m2: down[1], m3: down[2]))) / (2 * step)
            }
            var variance = 0.0
            for i in 1...3 {
                for j in 1...3 { variance += gradient[i - 1] * gradient[j - 1] * (m[i + j] - m[i] * m[j]) }
            }
            return (variance / Double(batches - 1)).squareRoot()
        }
        let fractionError = standardError(\.onFraction), meanOnError = standardError(\.meanOn)
        // Teeth: the tolerance must be a modest part of the value.
        #expect(4 * fractionError < 0.3 * onFraction && 4 * meanOnError < 0.3 * meanOn,
                "errors too large to test: \(fractionError), \(meanOnError); fit \(fit)")
        #expect(abs(fit.onFraction - onFraction) <= 4 * fractionError,
                "onFraction \(fit.onFraction), expected \(onFraction) ± \(4 * fractionError)")
        #expect(abs(fit.meanOn - meanOn) <= 4 * meanOnError,
                "meanOn \(fit.meanOn), expected \(meanOn) ± \(4 * meanOnError)")
    }

    @Test("On/off fallbacks: scv <= 1 is Poisson, an impossible third moment uses balanced means")
    func onOffFallbacks() {
        // Erlang-2 moments (scv 1/2): no on/off process is that regular.
        let erlang = erlangMoments(stages: 2, mean: 1, upTo: 3)
        let poisson = OnOffFit.fit(m1: erlang[1], m2: erlang[2], m3: erlang[3])
        #expect(poisson.method == .poisson && poisson.onFraction == 1 && poisson.rate == 1)
        // scv 3 with m3 below 1.5 m2^2 / m1 (the smallest third moment an H2 can have).
        let fallback = OnOffFit.fit(m1: 1, m2: 4, m3: 20)
        #expect(fallback.method == .balancedMeans)
        #expect(abs(fallback.rate - 1) < 1e-12)
        #expect(fallback.onFraction > 0 && fallback.onFraction < 1)
    }
}
