// Control-variate coefficients from the analytical baseline (`run.controlVariates`).
//
// The coefficient that removes the most variance from a replication's mean response,
// for a control such as the replication's mean service time, is the regression slope
// of the one on the other across replications; for long runs that slope is the
// sensitivity of the mean response to the control's mean (a shift of the mean that
// lasts a whole run acts like the run's own chance shift). The baseline's
// sensitivities are central differences of its estimate, exact where it is (Jackson
// tandems: ControlVariatesTests). Elsewhere they need not be: any fixed coefficient
// keeps the estimate unbiased and its half-width valid, and one between 0 and twice
// the best still removes variance (docs/control-variates.md).

import Simulation

public enum ControlVariates {
    /// Relative step of the central differences.
    static let step = 0.01

    /// The coefficients for `config` when its run asks for control variates, else
    /// nil; nil too when the baseline has no estimate (a station at or past its
    /// capacity as it sees it). Controls whose inputs do not vary, or whose mean the
    /// baseline's sensitivity does not describe, get 0: the gap of on/off,
    /// Markov-modulated or replayed arrivals, the size of fixed or empirical batches.
    public static func coefficients(for config: TandemConfig) -> ControlCoefficients? {
        guard config.run.usesControlVariates, QueueingNetworkAnalyzer.estimate(config) != nil else { return nil }
        let stations = config.stations.count
        var means: [Double] = []
        var sensitivities: [[Double]] = []  // per control: the response, then each station's
        func add(mean: Double, varies: Bool, _ change: (inout TandemConfig, Double) -> Void) {
            means.append(mean)
            sensitivities.append(varies ? derivative(config, mean: mean, change) : Array(repeating: 0, count: stations + 1))
        }
        // On/off gaps are renewal too, but their mean over a run moves with how many
        // on periods it caught, which the baseline's sensitivity to the rate does not
        // describe: with it, examples/bursty.yaml's half-width grew (docs/control-variates.md).
        let renewal = config.trace == nil && config.mmpp == nil && config.onOff == nil
        add(mean: config.interArrival.mean, varies: renewal) { $0.interArrival.mean *= $1 }
        switch config.batch {
        case .geometric(let mean):
            // Both sides of the difference must stay batch means (at least 1).
            add(mean: mean, varies: config.trace == nil && mean * (1 - step) >= 1) { $0.batch = .geometric(mean: mean * $1) }
        case .uniform(let mean):
            add(mean: mean, varies: config.trace == nil && mean * (1 - step) >= 1) { $0.batch = .uniform(mean: mean * $1) }
        case .deterministic, .empirical:
            add(mean: config.batch.mean, varies: false) { _, _ in }
        }
        for k in config.stations.indices {
            let service = config.stations[k].service
            add(mean: service.mean, varies: service.mean > 0 && service.scv > 0) { $0.stations[k].service.mean *= $1 }
        }
        return ControlCoefficients(means: means, response: sensitivities.map { $0[0] },
                                   stations: (0..<stations).map { k in sensitivities.map { $0[k + 1] } })
    }

    /// d(meanResponse, each station's meanResponse) / d(the control's mean), by a
    /// central difference of the baseline when both sides have an estimate, else a
    /// one-sided one, else 0. `change(&config, factor)` scales the control's mean
    /// (moving it by (factor - 1) x `mean` in all).
    static func derivative(_ config: TandemConfig, mean: Double,
                           _ change: (inout TandemConfig, Double) -> Void) -> [Double] {
        func responses(_ factor: Double) -> [Double]? {
            var changed = config
            change(&changed, factor)
            guard let estimate = QueueingNetworkAnalyzer.estimate(changed) else { return nil }
            return [estimate.meanResponse] + estimate.stations.map(\.meanResponse)
        }
        let zero = Array(repeating: 0.0, count: config.stations.count + 1)
        guard let center = responses(1) else { return zero }
        let up = responses(1 + step), down = responses(1 - step)
        let (high, low, width): ([Double], [Double], Double)
        switch (up, down) {
        case let (up?, down?): (high, low, width) = (up, down, 2 * step)
        case let (up?, nil): (high, low, width) = (up, center, step)
        case let (nil, down?): (high, low, width) = (center, down, step)
        case (nil, nil): return zero
        }
        return zip(high, low).map { ($0 - $1) / (width * mean) }
    }
}
