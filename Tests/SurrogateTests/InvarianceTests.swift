// The exact invariances of feature version 3 and later (CanonicalForm): a configuration and its
// time-scaled twin get the same prediction up to the unit, parameters without effect
// change nothing, and the domain check sees the canonical twins. Also that the
// simulator really has the invariance the surrogate now assumes.

import Foundation
import Simulation
import Testing

@testable import Surrogate

/// `config` with every time multiplied by `c` (inter-arrival times, on/off periods,
/// service, setup, timeout, cold start, keep-alive).
func timeScaled(_ config: TandemConfig, by c: Double) -> TandemConfig {
    var twin = config
    twin.interArrival.mean *= c
    twin.onOff?.meanOn *= c
    for k in twin.stations.indices {
        twin.stations[k].service.mean *= c
        twin.stations[k].setup *= c
        twin.stations[k].timeout *= c
        twin.stations[k].coldStart.mean *= c
        twin.stations[k].keepAlive *= c
    }
    return twin
}

/// A configuration that uses every time: on/off arrivals, setup, batching with a
/// timeout and cold starts with a finite keep-alive at both stations.
private let busy = TandemConfig(
    arrivalRate: 2, onOff: OnOffSpec(onFraction: 0.5, meanOn: 4), batch: .geometric(mean: 3),
    stations: [
        StationConfig(servers: 3, service: MomentSpec(mean: 0.2, scv: 0.5), setup: 0.03, maxBatch: 4, timeout: 0.1,
                      coldStart: MomentSpec(mean: 0.4, scv: 2), keepAlive: 5),
        StationConfig(servers: 8, service: MomentSpec(mean: 0.1, scv: 2), setup: 0.05, maxBatch: 6, timeout: 0.2,
                      coldStart: MomentSpec(mean: 1, scv: 1), keepAlive: 3),
    ])

/// A small synthetic dataset around the quickstart space, at several arrival rates,
/// and a current-version model trained on it (a few epochs: the invariances are exact
/// whatever the weights, so accuracy does not matter here).
struct TrainedModel: Sendable {
    let dataset: SurrogateDataset
    let split: DatasetSplit
    let model: SurrogateModel

    static let shared = Result { try TrainedModel() }

    /// A few epochs of a small network, one thread.
    static var settings: TrainingSettings {
        var settings = TrainingSettings()
        settings.layers = 2
        settings.width = 16
        settings.maxEpochs = 5
        settings.threads = 1
        settings.seed = 2
        return settings
    }

    init() throws {
        var rng = RandomStream(seed: 11, substream: 3)
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * rng.nextOpenUnit() }
        var lines = [(ConfigColumns.names + SurrogateTargets.names + ["point", "stable"]).joined(separator: ",")]
        for point in 0..<160 {
            let rate = [0.5, 1, 2][point % 3]
            let batch: BatchSizeSpec = point % 2 == 0 ? .geometric(mean: uniform(1, 6)) : .deterministic(Int(uniform(1, 6)))
            let servers = [1 + point % 4, 2 + point % 7]
            let loads = [uniform(0.1, 0.8), uniform(0.1, 0.8)]
            let jobRate = rate * batch.mean
            let station2Batch = 1 + point % 5
            let config = TandemConfig(
                arrivalRate: rate, arrivalScv: uniform(0.5, 3), batch: batch,
                stations: [
                    StationConfig(servers: servers[0], service: MomentSpec(mean: loads[0] * Double(servers[0]) / jobRate)),
                    StationConfig(servers: servers[1],
                                  service: MomentSpec(mean: loads[1] * Double(servers[1]) / jobRate, scv: uniform(0.5, 2)),
                                  maxBatch: station2Batch, timeout: uniform(0.01, 1) / rate,
                                  coldStart: MomentSpec(mean: [0, 0.25, 1][point % 3] / rate), keepAlive: 10 / rate),
                ])
            // Positive targets in seconds that depend on the configuration; which
            // function does not matter for the invariance.
            let s1 = config.stations[0].service.mean, s2 = config.stations[1].service.mean
            let r1 = s1 / (1 - loads[0]), r2 = s2 / (1 - loads[1]) + config.stations[1].timeout / 2
            let targets = [r1 + r2, 0.8 * (r1 + r2), 2.5 * (r1 + r2), 4 * (r1 + r2), r1, r2,
                           s1 * 1.1, s2 * (1 + config.stations[1].coldStart.mean)]
            lines.append((ConfigColumns.cells(of: config) + targets.map { "\($0)" } + [String(point), "true"])
                .joined(separator: ","))
        }
        dataset = try SurrogateDataset.parse(bytes: Array((lines.joined(separator: "\n") + "\n").utf8), source: "synthetic")
        split = dataset.split(validation: 0.2, test: 0.1, seed: 1)
        model = try SurrogateModel(file: tinyModelFile(dataset, split: split))
    }
}

/// A small network trained for a few epochs on `split` of `dataset`, as a model file.
func tinyModelFile(_ dataset: SurrogateDataset, split: DatasetSplit) throws -> ModelFile {
    let job = try SurrogateTrainingJob(dataset: dataset, split: split, settings: TrainedModel.settings)
    var trainer = try job.makeTrainer()
    trainer.train()
    return job.modelFile(trainer)
}

/// |a - b| <= tolerance x |b|, element by element.
private func agree(_ a: [Double], _ b: [Double], relative tolerance: Double) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * abs($1) }
}

@Suite("Invariances")
struct InvarianceTests {
    @Test("a model (feature version 3 or later) predicts c times as long for the twin with every time times c", arguments: [0.01, 3.7, 1000])
    func timeScaling(c: Double) throws {
        let trained = try TrainedModel.shared.get()
        #expect(trained.model.featureVersion == SurrogateFeatures.version)
        let configs = [busy] + trained.split.test.prefix(8).map { trained.dataset.examples[$0].config }
        for config in configs {
            let base = trained.model.predict(config)
            let twin = trained.model.predict(timeScaled(config, by: c))
            // Every target is a time or time per job: it scales by c. The twins' features
            // differ by the rounding of the division by the time unit, which the network
            // (in Float) may amplify to a few 1e-7; 1e-5 leaves room.
            #expect(agree(twin, base.map { $0 * c }, relative: 1e-5), "c = \(c): \(twin) vs \(base)")
            #expect(base.allSatisfy { $0 > 0 && $0.isFinite })
        }
    }

    @Test("a rescaled twin of a training configuration is inside the domain", arguments: [0.01, 3.7, 1000])
    func twinsInDomain(c: Double) throws {
        let trained = try TrainedModel.shared.get()
        for i in trained.split.train.prefix(20) {
            let config = trained.dataset.examples[i].config
            #expect(trained.model.domainWarnings(config).isEmpty)
            #expect(trained.model.domainWarnings(timeScaled(config, by: c)).isEmpty, "c = \(c)")
        }
        // Out of the domain, the message names the dimensionless key.
        var long = trained.dataset.examples[trained.split.train[0]].config
        long.stations[0].service.mean *= 100
        #expect(trained.model.domainWarnings(long).contains { $0.hasPrefix("stations.1.service.mean*arrival.rate = ") })
    }

    @Test("parameters without effect are canonical: same twin, same prediction, no warning")
    func ineffectiveParameters() throws {
        let trained = try TrainedModel.shared.get()
        // A training configuration with cold starts off at station 2 (keepAlive 10 / rate there).
        let index = try #require(trained.split.train.first { trained.dataset.examples[$0].config.stations[1].coldStart.mean == 0 })
        let base = trained.dataset.examples[index].config
        func variant(_ change: (inout TandemConfig) -> Void) -> TandemConfig {
            var config = base
            change(&config)
            return config
        }
        let variants = [
            // No cold-start delay: keep-alive and the cold-start scv do not matter.
            variant { $0.stations[1].keepAlive = 600 },
            variant { $0.stations[1].keepAlive = .infinity },
            variant { $0.stations[1].coldStart.scv = 4 },
            // An scv in (0, 1) is drawn as Erlang-k, k = round(1/scv).
            // Station 1's service is exponential (scv 1); 0.8 is Erlang-k with k = round(1.25) = 1.
            variant { $0.stations[0].service.scv = 0.8 },
            // Station 1 never batches (maxBatch 1): its timeout does not matter.
            variant { $0.stations[0].timeout = 0.7 },
        ]
        let prediction = trained.model.predict(base)
        for config in variants {
            #expect(CanonicalForm(config) == CanonicalForm(base), "\(config)")
            #expect(trained.model.predict(config) == prediction, "same twin, same arithmetic")
            #expect(trained.model.domainWarnings(config).isEmpty, "\(trained.model.domainWarnings(config))")
        }
    }

    @Test("canonical forms merge exactly the equivalent configurations")
    func canonicalForms() {
        let stations = [StationConfig(servers: 2, service: MomentSpec(mean: 0.3)),
                        StationConfig(servers: 4, service: MomentSpec(mean: 0.2), setup: 0.01, maxBatch: 4, timeout: 0.1)]
        let plain = TandemConfig(arrivalRate: 2, batch: .deterministic(1), stations: stations)
        func twin(_ config: TandemConfig) -> TandemConfig { CanonicalForm(config).config }
        // Every batch has one job, whatever the family.
        for batch: BatchSizeSpec in [.geometric(mean: 1), .uniform(mean: 1), .empirical(values: [1], weights: [3])] {
            var config = plain
            config.batch = batch
            #expect(twin(config) == twin(plain), "\(batch)")
        }
        // On/off arrivals that are always on are a Poisson process.
        var alwaysOn = plain
        alwaysOn.onOff = OnOffSpec(onFraction: 1, meanOn: 7)
        #expect(twin(alwaysOn) == twin(plain))
        // Station 1 with timeout 0 releases each batch at once: a maxBatch above the
        // largest batch acts as the largest batch, below it still splits.
        var batched = plain
        batched.batch = .deterministic(4)
        func station1(maxBatch: Int, batch: BatchSizeSpec) -> TandemConfig {
            var config = batched
            config.batch = batch
            config.stations[0].maxBatch = maxBatch
            return twin(config)
        }
        #expect(station1(maxBatch: 100, batch: .deterministic(4)) == station1(maxBatch: 4, batch: .deterministic(4)))
        #expect(station1(maxBatch: 3, batch: .deterministic(4)) != station1(maxBatch: 4, batch: .deterministic(4)))
        #expect(station1(maxBatch: 9, batch: .uniform(mean: 3)) == station1(maxBatch: 5, batch: .uniform(mean: 3)))
        #expect(station1(maxBatch: 9, batch: .geometric(mean: 3)) != station1(maxBatch: 5, batch: .geometric(mean: 3)))
        // What does matter stays: setup with maxBatch 1, keep-alive with cold starts,
        // station 2's maxBatch (station-1 completions can coincide), a timeout with
        // maxBatch > 1, the scv of a real cold start.
        var setup = plain
        setup.stations[0].setup = 0.05
        #expect(twin(setup) != twin(plain))
        var cold = plain
        cold.stations[1].coldStart = MomentSpec(mean: 0.5, scv: 1)
        var coldShortLived = cold
        coldShortLived.stations[1].keepAlive = 2
        #expect(twin(coldShortLived) != twin(cold))
        var coldVariable = cold
        coldVariable.stations[1].coldStart.scv = 3
        #expect(twin(coldVariable) != twin(cold))
        var bigger = plain
        bigger.stations[1].maxBatch = 64
        #expect(twin(bigger) != twin(plain))
        var waits = plain
        waits.stations[1].timeout = 0.3
        #expect(twin(waits) != twin(plain))
        // The unit: the twin's arrival rate is 1, times are in mean gaps between batches.
        let form = CanonicalForm(plain)
        #expect(form.timeUnit == 0.5 && form.config.arrivalRate == 1)
        #expect(form.config.stations[0].service.mean == 0.6)
        #expect(form.config.stations[1].timeout == 0.2)
        // Canonical is canonical: the twin's twin is itself.
        #expect(CanonicalForm(form.config).config == form.config)
    }

    @Test("the twin of Markov-modulated arrivals of three levels keeps the jumps and runs at rate 1")
    func modulatedTwin() throws {
        let source = MMPPSource(rates: [0, 2, 8], meanHolds: [4, 1, 0.5], next: [[0, 0.7, 0.3], [0.8, 0, 0.2], [0.9, 0.1, 0]])
        let config = TandemConfig(mmpp: MMPPSpec(sources: [source]), stations: busy.stations)
        let form = CanonicalForm(config)
        let twin = try #require(form.config.mmpp?.sources.first)
        #expect(twin.next == source.next)
        #expect(abs(form.config.mmpp!.meanRate - 1) < 1e-12)
        // Holds in mean gaps between batches: 4 s is 4 / timeUnit gaps.
        #expect(abs(twin.meanHolds[0] - 4 / form.timeUnit) < 1e-12)
        // The sources twice as fast (arrival.rateMultiplier 2) with every station time
        // halved are the same system in half the time: the same twin (the dispersion is
        // computed again from the faster generator: equal to rounding).
        let fast = CanonicalForm(TandemConfig(mmpp: MMPPSpec(sources: [source]), rateMultiplier: 2,
                                              stations: timeScaled(config, by: 0.5).stations))
        #expect(abs(fast.timeUnit / form.timeUnit - 0.5) < 1e-12)
        #expect(fast.config.rateMultiplier == 1)
        for (a, b) in zip(fast.config.stations, form.config.stations) {
            let times: [(Double, Double)] = [(a.service.mean, b.service.mean), (a.setup, b.setup), (a.timeout, b.timeout),
                                             (a.coldStart.mean, b.coldStart.mean), (a.keepAlive, b.keepAlive)]
            #expect(times.allSatisfy { abs($0.0 - $0.1) <= 1e-12 * abs($0.1) }, "\(times)")
        }
        let fastSource = try #require(fast.config.mmpp?.sources.first)
        for (a, b) in zip(fastSource.rates + fastSource.meanHolds, twin.rates + twin.meanHolds) {
            #expect(abs(a - b) <= 1e-12 * max(1, abs(b)))
        }
        #expect(abs(fast.config.interArrival.scv / form.config.interArrival.scv - 1) < 1e-12)
    }

    /// How a simulated metric scales when every time is multiplied by c: by c to this power.
    static func timePower(_ metric: String) -> Double {
        if metric == "throughput" { return -1 }
        let times = ["Response", "BufferWait", "QueueWait", "instanceSecondsPerJob"]
        return times.contains { metric.hasSuffix($0) } ? 1 : 0
    }

    @Test("the simulator has the invariance: a time-scaled twin with the same seed gives scaled metrics",
          arguments: [0.01, 3.7, 1000])
    func simulatorScales(c: Double) throws {
        // Continuous distributions only (every scv > 0): with deterministic times, ties
        // between events would be broken by the rounding of the scaled sums.
        var config = busy
        config.run = RunSettings(jobs: 20_000, replications: 2, warmup: 0.1, seed: 7, threads: 1)
        let base = Simulator.simulate(config)
        let twin = Simulator.simulate(timeScaled(config, by: c))
        #expect(base.stable && twin.stable)
        for (index, name) in MetricCatalog.names.enumerated() {
            let factor = pow(c, Self.timePower(name))
            let expected = base.estimates[index].mean * factor, got = twin.estimates[index].mean
            // The same random numbers drive both runs, so the event times scale by c up
            // to rounding (1e-9 is generous for it). Percentiles come from an HDR
            // histogram with 0.1% relative error each: 2e-3 between two runs.
            let tolerance = name.hasPrefix("p") ? 2e-3 : 1e-9
            #expect(abs(got - expected) <= tolerance * abs(expected), "\(name): \(got) vs \(expected) (c = \(c))")
        }
    }
}
