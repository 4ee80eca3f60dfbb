// Target scaling (issue #13, part 5): the references are the textbook's, scaling and
// unscaling round-trip, models trained with each scaling keep the invariances, and a
// model file of format version 1 (no scaling recorded) predicts as it always did.

import Analytic
import Foundation
import Simulation
import Testing

@testable import Surrogate

/// Poisson arrivals of single jobs at rate 1, M/M/1 at load 0.5, then M/M/2 at load 0.8.
private let textbook = TandemConfig(
    arrivalRate: 1,
    stations: [StationConfig(servers: 1, service: MomentSpec(mean: 0.5)),
               StationConfig(servers: 2, service: MomentSpec(mean: 1.6))])

private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool { abs(a - b) <= tolerance * abs(b) }

@Suite("Target scaling")
struct TargetScalingTests {
    let names = SurrogateTargets.names

    @Test("heavy traffic: responses by 1 / (1 - load), end to end by the bottleneck's, instance-seconds by 1")
    func heavyTrafficReferences() throws {
        let refs = Dictionary(uniqueKeysWithValues: zip(names, TargetScaling.heavyTraffic.references(twin: textbook, names: names)))
        for name in ["meanResponse", "p50Response", "p95Response", "p99Response", "stations.2.meanResponse"] {
            #expect(close(try #require(refs[name]), 5), "\(name)")  // 1 / (1 - 0.8)
        }
        #expect(close(try #require(refs["stations.1.meanResponse"]), 2))  // 1 / (1 - 0.5)
        #expect(refs["stations.1.instanceSecondsPerJob"] == 1 && refs["stations.2.instanceSecondsPerJob"] == 1)
        #expect(TargetScaling.none.references(twin: textbook, names: names).allSatisfy { $0 == 1 })
    }

    @Test("analytic: the M/M/1 -> M/M/2 responses by hand; percentiles over the mean; overload falls back")
    func analyticReferences() throws {
        let refs = Dictionary(uniqueKeysWithValues: zip(names, TargetScaling.analytic.references(twin: textbook, names: names)))
        // M/M/1: 0.5 / (1 - 0.5) = 1. Its departures are Poisson; M/M/2 at a = 1.6 waits
        // with probability 2 rho^2 / (1 + rho) = 1.28 / 1.8, for 1.6 / (2 - 1.6) on average.
        let station2 = 1.6 + 1.28 / 1.8 * 1.6 / 0.4
        #expect(close(try #require(refs["stations.1.meanResponse"]), 1, 1e-9))
        #expect(close(try #require(refs["stations.2.meanResponse"]), station2, 1e-9))
        for name in ["meanResponse", "p50Response", "p95Response", "p99Response"] {
            #expect(close(try #require(refs[name]), 1 + station2, 1e-9), "\(name)")
        }
        #expect(close(try #require(refs["stations.1.instanceSecondsPerJob"]), 0.5, 1e-9))
        #expect(close(try #require(refs["stations.2.instanceSecondsPerJob"]), 1.6, 1e-9))
        // Station 2 at load 1.2: QNA has no estimate, the heavy-traffic reference stands in.
        var overloaded = textbook
        overloaded.stations[1].service.mean = 1.2 * 2
        #expect(QueueingNetworkAnalyzer.estimate(overloaded) == nil)
        let fallback = TargetScaling.analytic.references(twin: overloaded, names: names)
        #expect(fallback == TargetScaling.heavyTraffic.references(twin: overloaded, names: names))
        #expect(fallback.allSatisfy { $0.isFinite && $0 > 0 })
    }

    @Test("analytic with delays: QNA's responses plus a cold start after a long gap and an outrunning burst's wait, by hand")
    func analyticDelaysReferences() throws {
        // Cold starts of 3 s at station 1 after 2 s idle: a Poisson gap (rate 1) outlasts
        // keepAlive with chance e^-2, and the batch then waits the 3 s cold start.
        var cold = textbook
        cold.stations[0].coldStart = MomentSpec(mean: 3, scv: 1)
        cold.stations[0].keepAlive = 2
        let coldDelay = 3 * exp(-2.0)
        let base = Dictionary(uniqueKeysWithValues: zip(names, TargetScaling.analytic.references(twin: cold, names: names)))
        let refs = Dictionary(uniqueKeysWithValues: zip(names, TargetScaling.analyticDelays.references(twin: cold, names: names)))
        for name in ["meanResponse", "p50Response", "p95Response", "p99Response", "stations.1.meanResponse"] {
            #expect(close(try #require(refs[name]), try #require(base[name]) + coldDelay, 1e-9), "\(name)")
        }
        for name in ["stations.2.meanResponse", "stations.1.instanceSecondsPerJob", "stations.2.instanceSecondsPerJob"] {
            #expect(refs[name] == base[name], "\(name)")
        }
        // On a quarter of the time in on periods of 8 s, 1 job a second in the long run:
        // station 1 (load 0.5, 2 during a burst) builds a backlog a job 8 s into the burst
        // waits (2 - 1) x 8 = 8 s for; station 2 (load 0.25, fed at most 2 a second) keeps up.
        let bursty = TandemConfig(arrivalRate: 1, onOff: OnOffSpec(onFraction: 0.25, meanOn: 8),
                                  stations: [StationConfig(servers: 1, service: MomentSpec(mean: 0.5)),
                                             StationConfig(servers: 1, service: MomentSpec(mean: 0.25))])
        let names2 = SurrogateTargets.names(stations: 2)
        let plain = TargetScaling.analytic.references(twin: bursty, names: names2)
        let delayed = TargetScaling.analyticDelays.references(twin: bursty, names: names2)
        let added = zip(delayed, plain).map { $0 - $1 }
        let expected = names2.map { name in
            name.hasPrefix("stations.2.") || name.hasSuffix("instanceSecondsPerJob") ? 0.0 : 8
        }
        #expect(zip(added, expected).allSatisfy { abs($0 - $1) < 1e-9 }, "\(added)")
    }

    @Test("group waits: the jobs ahead in one's own arriving group, by hand and against a direct sum")
    func groupWaitsByHand() throws {
        func waits(_ batch: BatchSizeSpec, _ first: StationConfig, _ second: StationConfig) throws -> [Double] {
            let config = TandemConfig(arrivalRate: 0.1, batch: batch, stations: [first, second])
            return SurrogateFeatures.groupWaits(config, analytic: try #require(QueueingNetworkAnalyzer.estimate(config)))
        }
        let single = StationConfig(servers: 1, service: MomentSpec(mean: 0.5))
        // Batches of 4 at one server of 0.5 s: the jobs wait 0, 0.5, 1 and 1.5 s, 0.75 on
        // average. Station 1 passes them on one at a time: no group at station 2.
        var w = try waits(.deterministic(4), single, single)
        #expect(close(w[0], 0.75) && w[1] == 0, "\(w)")
        // Two servers of 1 s, batches of 5: jobs 3, 4 and 5 wait for 1, 2 and 3 of the
        // two servers' completions, 0.5 s apart: (0.5 + 1 + 1.5) / 5 = 0.6.
        w = try waits(.deterministic(5), StationConfig(servers: 2, service: MomentSpec(mean: 1)), single)
        #expect(close(w[0], 0.6), "\(w)")
        // maxBatch 2, setup 0.5, service 1, one server, batches of 5: two full invocations
        // of 2.5 s leave at once; the second's two jobs wait 2.5 s (the fifth job waits in
        // the buffer, not behind its group): 2 x 2.5 / 5 = 1. Station 2 (maxBatch 1, one
        // server of 0.5 s) gets groups of QNA's invocation size, here 2 (timeout 0): its
        // second job waits 0.5 s, 0.25 on average.
        let batching = StationConfig(servers: 1, service: MomentSpec(mean: 1), setup: 0.5, maxBatch: 2, timeout: 0)
        w = try waits(.deterministic(5), batching, single)
        #expect(close(w[0], 1) && close(w[1], 0.25), "\(w)")
        // Geometric batches of mean 6 at 3 servers, maxBatch 2: the closed form against the
        // sum over sizes of P(size) x pairs(floor(size / 2) invocations beyond 3).
        let three = StationConfig(servers: 3, service: MomentSpec(mean: 0.2), maxBatch: 2, timeout: 0)
        w = try waits(.geometric(mean: 6), three, single)
        var pairs = 0.0
        for size in 1...2_000 {
            let beyond = Double(max(0, size / 2 - 3))
            pairs += (1.0 / 6) * pow(5.0 / 6, Double(size - 1)) * beyond * (beyond + 1) / 2
        }
        #expect(close(w[0], 0.4 / 3 * 2 * pairs / 6, 1e-9), "\(w[0]) against \(0.4 / 3 * 2 * pairs / 6)")
        // Uniform batches of mean 3 (sizes 1 to 5) at one server of 0.5 s: pairs 0, 1, 3,
        // 6 and 10, a fifth each, over a mean of 3 jobs.
        w = try waits(.uniform(mean: 3), single, single)
        #expect(close(w[0], 0.5 * (20.0 / 5) / 3), "\(w)")
        // The scaling adds them to analytic-delays' responses, and nothing else.
        let config = TandemConfig(arrivalRate: 0.1, batch: .deterministic(4), stations: [single, single])
        let delays = TargetScaling.analyticDelays.references(twin: config, names: names)
        let groups = TargetScaling.analyticGroupDelays.references(twin: config, names: names)
        let added = zip(groups, delays).map { $0 - $1 }
        let expected = names.map { $0 == "stations.1.meanResponse" || !$0.hasPrefix("stations.") ? 0.75 : 0 }
        #expect(zip(added, expected).allSatisfy { abs($0 - $1) < 1e-9 }, "\(added)")
    }

    @Test("scaled, standardised, back to real and unscaled: the synthetic values again", arguments: TargetScaling.allCases)
    func roundTrip(_ scaling: TargetScaling) throws {
        var rng = RandomStream(seed: 5, substream: 13)
        var twins: [TandemConfig] = []
        var values: [[Double]] = []
        for _ in 0..<50 {
            var config = textbook
            config.stations[0].service.mean = 0.9 * rng.nextOpenUnit()
            config.stations[1].servers = 1 + Int(rng.nextOpenUnit() * 8)
            config.stations[1].service.mean = 0.95 * Double(config.stations[1].servers) * rng.nextOpenUnit()
            twins.append(config)
            values.append(names.map { _ in exp(6 * rng.nextOpenUnit() - 3) })
        }
        let scaled = zip(values, twins).map { scaling.scaled($0, twin: $1, names: names) }
        let transform = try TargetTransform.fit(names: names, rows: scaled, log: names.map { _ in true })
        let z = try transform.transform(scaled)
        for r in values.indices {
            let row = Array(z.row(r))
            let real = transform.targets.indices.map { transform.targets[$0].real(row[$0]) }
            let back = scaling.unscaled(real, twin: twins[r], names: names)
            // The standardised value is a Float: about 1e-7 of relative rounding.
            #expect(zip(back, values[r]).allSatisfy { close($0, $1, 1e-5) }, "row \(r): \(back) vs \(values[r])")
        }
    }

    @Test("a model of each scaling records it, keeps the time invariance, and reloads to the same predictions",
          arguments: TargetScaling.allCases)
    func trainedModels(_ scaling: TargetScaling) throws {
        let shared = try TrainedModel.shared.get()
        let settings = TrainedModel.settings
        let job = try SurrogateTrainingJob(dataset: shared.dataset, split: shared.split, settings: settings, scaling: scaling)
        var trainer = try job.makeTrainer()
        trainer.train()
        let file = job.modelFile(trainer)
        #expect(file.targetScaling == scaling)
        #expect(file.metrics["info"]?["targetScaling"] == Double(TargetScaling.allCases.firstIndex(of: scaling)!))
        let url = temporaryFile("scaling-\(scaling.rawValue).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try file.write(to: url)
        let loaded = try SurrogateModel.load(path: url.path)
        #expect(loaded.targetScaling == scaling)
        #expect(loaded.file.formatVersion == ModelFile.singleNetworkFormatVersion)  // one network: still version 2
        let model = try SurrogateModel(file: file)
        for i in shared.split.test.prefix(6) {
            let config = shared.dataset.examples[i].config
            let base = model.predict(config)
            #expect(loaded.predict(config).map(\.bitPattern) == base.map(\.bitPattern))
            let twin = model.predict(timeScaled(config, by: 3.7))
            #expect(zip(twin, base).allSatisfy { abs($0 - 3.7 * $1) <= 1e-5 * 3.7 * $1 }, "\(twin) vs \(base)")
        }
    }

    @Test("a format-1 file (no scaling recorded) loads and predicts the network's dimensional output exactly")
    func formatOneFilesPredictAsBefore() throws {
        let shared = try TrainedModel.shared.get()
        // What the previous format wrote: version 1 and no targetScaling key.
        var json = try #require(try JSONSerialization.jsonObject(with: shared.model.file.encoded()) as? [String: Any])
        json["formatVersion"] = 1
        var metrics = try #require(json["metrics"] as? [String: [String: Any]])
        metrics["info"]?["targetScaling"] = nil
        json["metrics"] = metrics
        let old = try ModelFile.decode(try JSONSerialization.data(withJSONObject: json), file: "old.json")
        #expect(old.formatVersion == 1 && old.targetScaling == nil)
        let model = try SurrogateModel(file: old)
        #expect(model.targetScaling == .none)
        let predictor = Predictor(model: old)
        for i in shared.split.test.prefix(8) {
            let config = shared.dataset.examples[i].config
            let form = EstimatedForm(config)
            let before = SurrogateTargets.dimensional(predictor.predict(SurrogateFeatures.vector(estimated: form)),
                                                      timeUnit: form.timeUnit)
            #expect(model.predict(config).map(\.bitPattern) == before.map(\.bitPattern))
        }
        // Written again, it stays a format-1 document without the key.
        let again = try #require(try JSONSerialization.jsonObject(with: old.encoded()) as? [String: Any])
        #expect(again["formatVersion"] as? Int == 1)
        #expect((again["metrics"] as? [String: [String: Any]])?["info"]?["targetScaling"] == nil)
    }
}
