// Samplers for the distributions of MODEL.md, as plain structs switched on a small
// enum: no existential or class dispatch in the engine's hot loop.

import Foundation

/// Draws from the family MODEL.md assigns to a (mean, scv) pair.
public struct MomentSampler: Sendable {
    @usableFromInline enum Family: Sendable {
        case zero
        case deterministic
        case erlang(stages: Int)
        case exponential
        /// Two-phase hyperexponential: phase 1 with probability p. Balanced means
        /// for the scv families, unbalanced for on/off arrivals.
        case hyperexponential(p: Double, mean1: Double, mean2: Double)
    }

    @usableFromInline let family: Family
    @usableFromInline let mean: Double

    public init(_ spec: MomentSpec) {
        mean = spec.mean
        if spec.mean == 0 {
            family = .zero
        } else if spec.scv == 0 {
            family = .deterministic
        } else if spec.scv == 1 {
            family = .exponential
        } else if spec.scv < 1 {
            family = Self.erlangStages(scv: spec.scv) == 1 ? .exponential : .erlang(stages: Self.erlangStages(scv: spec.scv))
        } else {
            // Balanced means: p / mu1 = (1 - p) / mu2, which gives
            // p = (1 + sqrt((scv - 1) / (scv + 1))) / 2 and phase means mean / (2p), mean / (2(1-p)).
            let p = (1 + ((spec.scv - 1) / (spec.scv + 1)).squareRoot()) / 2
            family = .hyperexponential(p: p, mean1: spec.mean / (2 * p), mean2: spec.mean / (2 * (1 - p)))
        }
    }

    /// The inter-batch time of `config`'s arrival process: its renewal family, or
    /// the exact renewal equivalent of on/off arrivals.
    ///
    /// On/off arrivals: a batch arrives only while the source is on, and the on
    /// period is memoryless, so after every batch the process starts afresh from
    /// "on". The gaps are therefore i.i.d., distributed as the time from "on" to
    /// the next batch, whose Laplace transform is
    /// lambda (s + beta) / (s^2 + (lambda + alpha + beta) s + lambda beta)
    /// (lambda = rate / onFraction, alpha = 1 / meanOn, beta = 1 / meanOff).
    /// In partial fractions that is an H2 with rates mu1 > mu2, the roots of
    /// mu^2 - (lambda + alpha + beta) mu + lambda beta, and p = (lambda - mu2) / (mu1 - mu2).
    /// Drawing the H2 is exact and costs one uniform and one exponential per gap,
    /// as any renewal family; running the on/off chain instead would loop over a
    /// random number of on/off cycles per gap.
    public init(interArrivalOf config: TandemConfig) {
        guard let onOff = config.onOff else {
            self.init(config.interArrival)
            return
        }
        guard onOff.onFraction < 1 else {
            self.init(MomentSpec(mean: config.interArrival.mean, scv: 1))  // always on: Poisson
            return
        }
        let lambda = config.arrivalRate / onOff.onFraction
        let alpha = 1 / onOff.meanOn, beta = 1 / onOff.meanOff
        let sum = lambda + alpha + beta
        // The discriminant is (lambda - beta)^2 + alpha^2 + 2 alpha (lambda + beta) > 0;
        // mu2 from the product of the roots avoids cancellation.
        let mu1 = (sum + (sum * sum - 4 * lambda * beta).squareRoot()) / 2
        let mu2 = lambda * beta / mu1
        let p = (lambda - mu2) / (mu1 - mu2)
        self.init(family: .hyperexponential(p: p, mean1: 1 / mu1, mean2: 1 / mu2), mean: config.interArrival.mean)
    }

    private init(family: Family, mean: Double) {
        self.family = family
        self.mean = mean
    }

    /// k = round(1/scv) with halves rounded up (MODEL.md); the realised scv is 1/k.
    public static func erlangStages(scv: Double) -> Int {
        max(1, Int((1 / scv).rounded(.toNearestOrAwayFromZero)))
    }

    /// The squared coefficient of variation this sampler really produces.
    public var realisedScv: Double {
        switch family {
        case .zero, .deterministic: return 0
        case .exponential: return 1
        case .erlang(let k): return 1 / Double(k)
        case .hyperexponential(let p, let m1, let m2):
            let second = 2 * (p * m1 * m1 + (1 - p) * m2 * m2)
            return second / (mean * mean) - 1
        }
    }

    /// P(X > x) of the distribution this sampler draws from.
    public func survival(_ x: Double) -> Double {
        guard x >= 0 else { return 1 }
        switch family {
        case .zero: return 0
        case .deterministic: return x < mean ? 1 : 0
        case .exponential: return exp(-x / mean)
        case .erlang(let k):
            // Fewer than k events of a Poisson process of rate k / mean by time x.
            let y = x * Double(k) / mean
            var term = exp(-y), sum = term
            for i in 1..<max(1, k) {
                term *= y / Double(i)
                sum += term
            }
            return min(1, sum)
        case .hyperexponential(let p, let mean1, let mean2):
            return p * exp(-x / mean1) + (1 - p) * exp(-x / mean2)
        }
    }

    @inlinable @inline(__always)
    public func sample(_ rng: inout RandomStream) -> Double {
        switch family {
        case .zero: return 0
        case .deterministic: return mean
        case .exponential: return -mean * log(rng.nextOpenUnit())
        case .erlang(let k):
            // The sum of k exponentials is -log of the product of k uniforms; the
            // product is renormalised so it never underflows for large k.
            var product = 1.0
            var logSum = 0.0
            for _ in 0..<k {
                product *= rng.nextOpenUnit()
                if product < 0x1p-500 { logSum += log(product); product = 1 }
            }
            return -(mean / Double(k)) * (logSum + log(product))
        case .hyperexponential(let p, let mean1, let mean2):
            let phaseMean = Double(rng.next() >> 11) * 0x1.0p-53 < p ? mean1 : mean2
            return -phaseMean * log(rng.nextOpenUnit())
        }
    }
}

/// Draws batch sizes B >= 1.
public struct BatchSampler: Sendable {
    @usableFromInline enum Family: Sendable {
        case fixed(Int)
        /// Geometric on 1, 2, ...: B = 1 + floor(log U / log(1 - p)), p = 1 / mean.
        case geometric(logOneMinusP: Double)
        case uniform(upper: Int)
        case empirical(values: [Int], cumulative: [Double])
    }

    @usableFromInline let family: Family

    public init(_ spec: BatchSizeSpec) {
        switch spec {
        case .deterministic(let size):
            family = .fixed(size)
        case .geometric(let mean):
            family = mean <= 1 ? .fixed(1) : .geometric(logOneMinusP: log(1 - 1 / mean))
        case .uniform(let mean):
            let upper = Int((2 * mean - 1).rounded())
            family = upper <= 1 ? .fixed(1) : .uniform(upper: upper)
        case .empirical(let values, let weights):
            let total = weights.reduce(0, +)
            var running = 0.0
            family = .empirical(values: values, cumulative: weights.map { running += $0 / total; return running })
        }
    }

    @inlinable @inline(__always)
    public func sample(_ rng: inout RandomStream) -> Int {
        switch family {
        case .fixed(let size): return size
        case .geometric(let logOneMinusP):
            let draw = (log(rng.nextOpenUnit()) / logOneMinusP).rounded(.down)
            return draw < 1e15 ? 1 + Int(draw) : Int(1e15)
        case .uniform(let upper):
            return 1 + Int(rng.next() % UInt64(upper))
        case .empirical(let values, let cumulative):
            let u = Double(rng.next() >> 11) * 0x1.0p-53
            var low = 0, high = cumulative.count - 1
            while low < high {
                let mid = (low + high) / 2
                if u < cumulative[mid] { high = mid } else { low = mid + 1 }
            }
            return values[low]
        }
    }
}
