// Feature versions: version 2 added the on/off arrival features, version 3 computes
// them on the canonical dimensionless twin (InvarianceTests), version 4 adds two
// cold-start features per station, version 5 one on on/off bursts, version 6 one on
// a batch's walk through an empty chain; model files of versions 1 to 5 still load
// and see exactly their own features.

import Analytic
import Foundation
import Simulation
import Testing

@testable import Surrogate

/// A model file with random weights over the features of `version`.
private func model(featureVersion: Double?, names: [String]) -> ModelFile {
    let architecture = NetworkArchitecture(inputs: names.count, hidden: [8], outputs: SurrogateTargets.names.count,
                                           activation: .silu)
    let features = FeatureScaler(names: names, means: names.map { _ in 0 }, stds: names.map { _ in 1 })
    let targets = TargetTransform(targets: SurrogateTargets.names.map { .init(name: $0, log: true, mean: 0, std: 1) })
    var info: [String: Double] = ["splitSeed": 1]
    info["featureVersion"] = featureVersion
    return ModelFile(
        network: Network(architecture: architecture, seed: 3), features: features, targets: targets,
        inputDomain: InputDomain(), settings: TrainingSettings(),
        summary: TrainingSummary(epochs: 1, bestEpoch: 1, bestMeanValidationMAPE: 1, stopReason: .earlyStopped, seconds: 1),
        metrics: ["info": info], datasetSHA256: String(repeating: "ab", count: 32),
        created: CreationInfo(date: Date(timeIntervalSince1970: 1_750_000_000)))
}

private let stations = [
    StationConfig(servers: 2, service: MomentSpec(mean: 0.2)), StationConfig(servers: 3, service: MomentSpec(mean: 0.3)),
]

@Suite("Feature versions")
struct FeatureVersionTests {
    @Test("version 2 describes on/off arrivals by their true scv, on fraction and batches per on period")
    func onOffFeatures() throws {
        let config = TandemConfig(arrivalRate: 2, onOff: OnOffSpec(onFraction: 0.25, meanOn: 8), stations: stations)
        let features = Dictionary(uniqueKeysWithValues: zip(SurrogateFeatures.names(version: 2),
                                                            SurrogateFeatures.vector(config, version: 2)))
        // lambda_on = 8, alpha = 1/8, beta = 1/24: scv = 1 + 2 * 8 * (1/8) / (1/6)^2 = 73.
        #expect(abs(try #require(features["logArrivalScv"]) - log(73.01)) < 1e-9)
        #expect(features["logOnFraction"] == log(0.25))
        #expect(features["logBatchesPerOnPeriod"] == log1p(2 * 8 / 0.25))
        // Renewal arrivals: a source that is always on.
        let renewal = TandemConfig(arrivalRate: 2, arrivalScv: 4, stations: stations)
        let plain = Dictionary(uniqueKeysWithValues: zip(SurrogateFeatures.names(version: 2),
                                                         SurrogateFeatures.vector(renewal, version: 2)))
        #expect(plain["logOnFraction"] == 0 && plain["logBatchesPerOnPeriod"] == 0)
    }

    @Test("version-1 features are the version-1 list, with the realised renewal scv")
    func versionOneVector() throws {
        let v1 = SurrogateFeatures.names(version: 1)
        #expect(v1.count == 6 + 2 * 12)
        #expect(!v1.contains("logOnFraction") && !v1.contains("logBatchesPerOnPeriod"))
        #expect(Array(v1.prefix(6)) == ["logArrivalRate", "logArrivalScv", "logBatchMean", "batchScv",
                                        "batchDeterministic", "logAnalyticResponseTimesRate"])
        // scv 0.4 is simulated as Erlang-3 (k = round(2.5) = 3), scv 1/3.
        let config = TandemConfig(arrivalRate: 2, arrivalScv: 0.4, stations: stations)
        let vector = SurrogateFeatures.vector(config, version: 1)
        #expect(vector.count == v1.count)
        #expect(vector[0] == log(2.0))
        #expect(abs(vector[1] - log(1.0 / 3 + 0.01)) < 1e-12)
        let v2 = Dictionary(uniqueKeysWithValues: zip(SurrogateFeatures.names(version: 2),
                                                      SurrogateFeatures.vector(config, version: 2)))
        #expect(vector == v1.map { v2[$0]! }, "the shared features agree")
    }

    @Test("a version-1 model file loads and predicts from version-1 features")
    func versionOneModelLoads() throws {
        let file = model(featureVersion: 1, names: SurrogateFeatures.names(version: 1))
        let surrogate = try SurrogateModel(file: file)
        #expect(surrogate.featureVersion == 1)
        let config = TandemConfig(arrivalRate: 1.5, arrivalScv: 2, stations: stations)
        let direct = Predictor(model: file).predict(SurrogateFeatures.vector(config, version: 1))
        #expect(surrogate.predict(config) == direct)
        #expect(surrogate.domainWarnings(config).isEmpty)
        // It never saw on/off arrivals: predictions come with a warning naming the key.
        var onOff = config
        onOff.onOff = OnOffSpec(onFraction: 0.5, meanOn: 3)
        #expect(surrogate.domainWarnings(onOff).contains { $0.hasPrefix("arrival.onOff: ") })
        #expect(surrogate.predict(onOff).allSatisfy { $0.isFinite })
    }

    @Test("a version-2 model file loads and predicts from version-2 features, in seconds, with its raw domain")
    func versionTwoModelLoads() throws {
        var file = model(featureVersion: 2, names: SurrogateFeatures.names(version: 2))
        file.inputDomain = InputDomain(columns: ["arrival.rate": .numeric(min: 1, max: 1)])
        let surrogate = try SurrogateModel(file: file)
        #expect(surrogate.featureVersion == 2)
        let config = TandemConfig(arrivalRate: 2, arrivalScv: 2, stations: stations)
        let vector = SurrogateFeatures.vector(config, version: 2)
        let v2 = Dictionary(uniqueKeysWithValues: zip(SurrogateFeatures.names(version: 2), vector))
        // Version 2 sees the rate and the service means in seconds, not the twin's.
        #expect(v2["logArrivalRate"] == log(2.0))
        #expect(v2["stations.1.logServiceMean"] == log(0.2))
        #expect(surrogate.predict(config) == Predictor(model: file).predict(vector))
        // Its domain is the raw columns: another rate is outside it.
        #expect(surrogate.domainWarnings(config).contains { $0.hasPrefix("arrival.rate = 2") })
        #expect(surrogate.domainWarnings(TandemConfig(arrivalRate: 1, stations: stations)).isEmpty)
    }

    @Test("version 4 adds each station's chance of a gap longer than keepAlive and the cold start it adds")
    func versionFourColdStartFeatures() throws {
        var cold = stations
        cold[1].coldStart = MomentSpec(mean: 0.5, scv: 1)
        cold[1].keepAlive = 2
        // Poisson batches at 2 a second: the twin's unit is the mean gap, 0.5 s.
        let config = TandemConfig(arrivalRate: 2, stations: cold)
        let v3names = SurrogateFeatures.names(version: 3), v4names = SurrogateFeatures.names(version: 4)
        #expect(v4names.count == v3names.count + 2 * 2)
        let v3 = Dictionary(uniqueKeysWithValues: zip(v3names, SurrogateFeatures.vector(config, version: 3)))
        let v4 = Dictionary(uniqueKeysWithValues: zip(v4names, SurrogateFeatures.vector(config, version: 4)))
        #expect(v3.allSatisfy { v4[$0.key] == $0.value }, "the features both versions have agree")
        // keepAlive 2 s is 4 mean gaps; exponential gaps outlast it with probability e^-4.
        let coldGap = try #require(v4["stations.2.coldGapProbability"])
        #expect(abs(coldGap - exp(-4)) < 1e-12)
        // Against QNA's response at station 2 (M/M/3 fed by station 1), in gaps.
        let analytic = try #require(QueueingNetworkAnalyzer.estimate(CanonicalForm(config).config))
        #expect(abs(try #require(v4["stations.2.logColdDelayOverAnalytic"])
                    - log1p(exp(-4) * 1 / analytic.stations[1].meanResponse)) < 1e-12)
        // Station 1 has no cold starts: its keepAlive has no effect and both are 0.
        #expect(v4["stations.1.coldGapProbability"] == 0 && v4["stations.1.logColdDelayOverAnalytic"] == 0)
        // The block of each station ends with the new features, in chains too.
        #expect(Array(SurrogateFeatures.names(version: 4, stations: 3).suffix(2))
                == ["stations.3.coldGapProbability", "stations.3.logColdDelayOverAnalytic"])
    }

    @Test("version 5 adds each station's wait in a fluid model of the on/off source's bursts")
    func versionFiveBurstFeature() throws {
        // Batches of one job, 1 a second in the long run, on a quarter of the time in
        // on periods of 8 s: 4 a second during a burst.
        let onOff = OnOffSpec(onFraction: 0.25, meanOn: 8)
        let chain = [StationConfig(servers: 1, service: MomentSpec(mean: 0.5)),   // load 0.5, 2 in a burst
                     StationConfig(servers: 1, service: MomentSpec(mean: 0.3)),   // 0.3: fed at most 2 a second
                     StationConfig(servers: 2, service: MomentSpec(mean: 1.2))]   // 0.6
        let config = TandemConfig(arrivalRate: 1, onOff: onOff, stations: chain)
        // By hand: station 1 gains 2 - 1 jobs of work a second of burst, a job 8 s into
        // it (the mean for exponential on periods) waits (2 - 1) x 8 = 8 s, and it
        // passes the burst's 32 jobs on at 2 a second over 16 s. Station 2 keeps up with
        // 2 a second (load 0.6 during it): no wait. Station 3 does not (load 1.2): a
        // wait of 0.2 x 16 = 3.2 s.
        let waits = SurrogateFeatures.fluidBurstWaits(config)
        #expect(zip(waits, [8, 0, 3.2]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(waits)")
        // Renewal arrivals and a source always on have no bursts.
        #expect(SurrogateFeatures.fluidBurstWaits(TandemConfig(arrivalRate: 1, arrivalScv: 20, stations: chain))
                == [0, 0, 0])
        // The feature: against QNA's response of each station, in the twin's unit (the
        // mean gap, 1 s here), after every version-4 feature, which is unchanged.
        let v4names = SurrogateFeatures.names(version: 4, stations: 3)
        let v5names = SurrogateFeatures.names(version: 5, stations: 3)
        #expect(v5names.count == v4names.count + 3)
        let v4 = Dictionary(uniqueKeysWithValues: zip(v4names, SurrogateFeatures.vector(config, version: 4)))
        let v5 = Dictionary(uniqueKeysWithValues: zip(v5names, SurrogateFeatures.vector(config, version: 5)))
        #expect(v4.allSatisfy { v5[$0.key] == $0.value }, "the features both versions have agree")
        let analytic = try #require(QueueingNetworkAnalyzer.estimate(CanonicalForm(config).config))
        for (k, wait) in [8, 0, 3.2].enumerated() {
            let feature = try #require(v5["stations.\(k + 1).logBurstWaitOverAnalytic"])
            #expect(abs(feature - log1p(wait / analytic.stations[k].meanResponse)) < 1e-9, "station \(k + 1)")
        }
        #expect(v5names.last == "stations.3.logBurstWaitOverAnalytic")
    }

    @Test("the light-traffic walk of a batch, worked by hand: a train of jobs, a timeout, servers in turn")
    func isolatedBatchWalk() throws {
        // Batches of 5 jobs, 1 a second. Station 1 (one instance, maxBatch 1, 3 ms a
        // job) passes them on one by one at 3, 6, 9, 12 and 15 ms: per job
        // (3 + 6 + 9 + 12 + 15) / 5 = 9 ms. Station 2 (maxBatch 5, timeout 3 s, setup
        // 0.1, 75 ms a job) gathers all five by 15 ms and runs them in one invocation of
        // 0.1 + 5 x 0.075 = 0.475 s, ending at 0.49 s: per job it waits
        // (12 + 9 + 6 + 3 + 0) / 5 = 6 ms, then 0.475 s. QNA takes the five for a
        // trickle at 5 a second and makes the fifth wait 0.8 s.
        let chain = [StationConfig(servers: 1, service: MomentSpec(mean: 0.003)),
                     StationConfig(servers: 27, service: MomentSpec(mean: 0.075), setup: 0.1, maxBatch: 5, timeout: 3)]
        let config = TandemConfig(arrivalRate: 1, batch: .deterministic(5), stations: chain)
        let walked = IsolatedBatch.stationResponses(config)
        #expect(abs(walked[0] - 0.009) < 1e-12 && abs(walked[1] - 0.481) < 1e-12, "\(walked)")
        let analytic = try #require(QueueingNetworkAnalyzer.estimate(config))
        #expect(analytic.stations[1].meanResponse > 0.8, "QNA's trickle: \(analytic.stations[1].meanResponse)")

        // Seven jobs at once at one station of 2 instances, maxBatch 3, timeout 0.5,
        // 0.1 a job: two invocations of 3 start at once and end at 0.3; the seventh job
        // waits out the timeout (0.5) and runs alone to 0.6. Per job (6 x 0.3 + 0.6) / 7.
        // Batches 4 a second: the seventh is released after the mean gap, 0.25, instead,
        // and waits for an instance until 0.3.
        let one = [StationConfig(servers: 2, service: MomentSpec(mean: 0.1), maxBatch: 3, timeout: 0.5)]
        let slow = IsolatedBatch.stationResponses(TandemConfig(arrivalRate: 1, batch: .deterministic(7), stations: one))
        #expect(abs(slow[0] - (6 * 0.3 + 0.6) / 7) < 1e-12, "\(slow)")
        let fast = IsolatedBatch.stationResponses(TandemConfig(arrivalRate: 4, batch: .deterministic(7), stations: one))
        #expect(abs(fast[0] - (6 * 0.3 + 0.4) / 7) < 1e-12, "\(fast)")
        // One instance: the second invocation of 3 waits for the first (0.3 to 0.6), and
        // the seventh job, released at 0.5, waits for the second (0.6 to 0.7).
        var single = one
        single[0].servers = 1
        let queued = IsolatedBatch.stationResponses(TandemConfig(arrivalRate: 1, batch: .deterministic(7), stations: single))
        #expect(abs(queued[0] - (3 * 0.3 + 3 * 0.6 + 0.7) / 7) < 1e-12, "\(queued)")

        // Sizes standing for a distribution: fixed, uniform on 1 ... 9 and geometric of
        // mean 4 (P(X <= x) = 1 - 0.75^x) at quantiles 1/6, 1/2 and 5/6.
        #expect(IsolatedBatch.representativeSizes(.deterministic(6)).map(\.size) == [6])
        #expect(IsolatedBatch.representativeSizes(.uniform(mean: 5)).map(\.size) == [2, 5, 8])
        #expect(IsolatedBatch.representativeSizes(.geometric(mean: 4)).map(\.size) == [1, 3, 7])
        #expect(IsolatedBatch.representativeSizes(.empirical(values: [2, 9], weights: [3, 1])).map(\.weight) == [0.75, 0.25])
    }

    @Test("version 6 adds each station's light-traffic walk against QNA's response, after version 5's features")
    func versionSixIsolatedFeature() throws {
        let chain = [StationConfig(servers: 1, service: MomentSpec(mean: 0.003)),
                     StationConfig(servers: 27, service: MomentSpec(mean: 0.075), setup: 0.1, maxBatch: 5, timeout: 3)]
        // Batches 2 a second: in the twin (unit: the mean gap, 0.5 s) every time doubles.
        let config = TandemConfig(arrivalRate: 2, batch: .deterministic(5), stations: chain)
        let v5names = SurrogateFeatures.names(version: 5), v6names = SurrogateFeatures.names
        #expect(v6names.count == v5names.count + 2)
        let v5 = Dictionary(uniqueKeysWithValues: zip(v5names, SurrogateFeatures.vector(config, version: 5)))
        let v6 = Dictionary(uniqueKeysWithValues: zip(v6names, SurrogateFeatures.vector(config, version: 6)))
        #expect(v5.allSatisfy { v6[$0.key] == $0.value }, "the features both versions have agree")
        let twin = CanonicalForm(config).config
        let analytic = try #require(QueueingNetworkAnalyzer.estimate(twin))
        // The walk above in units of 0.5 s: 0.018 and 0.962 (the timeout of 6 gaps is
        // longer than the gap, but the train fills the invocation first).
        for (k, walked) in [0.018, 0.962].enumerated() {
            let feature = try #require(v6["stations.\(k + 1).logIsolatedOverAnalytic"])
            #expect(abs(feature - log(walked / analytic.stations[k].meanResponse)) < 1e-9, "station \(k + 1)")
        }
        // QNA's trickle keeps the first job 0.8 gaps in the buffer, where the train takes 0.024.
        #expect(try #require(v6["stations.2.logIsolatedOverAnalytic"]) < -0.3, "QNA's trickle is far slower")
    }

    @Test("a version-5 model file (the shipped models before version 6) loads and predicts from version-5 features")
    func versionFiveModelLoads() throws {
        let file = model(featureVersion: 5, names: SurrogateFeatures.names(version: 5))
        let surrogate = try SurrogateModel(file: file)
        #expect(surrogate.featureVersion == 5)
        let config = TandemConfig(arrivalRate: 3, batch: .geometric(mean: 6), stations: stations)
        #expect(surrogate.networkInput(config).features == SurrogateFeatures.vector(config, version: 5))
        #expect(surrogate.predict(config).allSatisfy { $0.isFinite && $0 > 0 })
    }

    @Test("a version-4 model file (the shipped models before version 5) loads and predicts from version-4 features")
    func versionFourModelLoads() throws {
        let file = model(featureVersion: 4, names: SurrogateFeatures.names(version: 4))
        let surrogate = try SurrogateModel(file: file)
        #expect(surrogate.featureVersion == 4)
        let config = TandemConfig(arrivalRate: 3, onOff: OnOffSpec(onFraction: 0.2, meanOn: 5), stations: stations)
        #expect(surrogate.networkInput(config).features == SurrogateFeatures.vector(config, version: 4))
        #expect(surrogate.predict(config).allSatisfy { $0.isFinite && $0 > 0 })
    }

    @Test("a version-3 model file (the shipped models before version 4) loads and predicts from version-3 features")
    func versionThreeModelLoads() throws {
        let file = model(featureVersion: 3, names: SurrogateFeatures.names(version: 3))
        let surrogate = try SurrogateModel(file: file)
        #expect(surrogate.featureVersion == 3)
        var cold = stations
        cold[0].coldStart = MomentSpec(mean: 1, scv: 1)
        cold[0].keepAlive = 5
        let config = TandemConfig(arrivalRate: 3, arrivalScv: 2, stations: cold)
        #expect(surrogate.networkInput(config).features == SurrogateFeatures.vector(config, version: 3))
        #expect(surrogate.predict(config).allSatisfy { $0.isFinite && $0 > 0 })
    }

    @Test("a current model file loads; unknown versions and mismatched names ask for retraining")
    func versionChecks() throws {
        let current = Double(SurrogateFeatures.version)
        #expect(try SurrogateModel(file: model(featureVersion: current, names: SurrogateFeatures.names)).featureVersion
                == SurrogateFeatures.version)
        for (version, names) in [(current + 1, SurrogateFeatures.names), (1.0, SurrogateFeatures.names),
                                 (2.0, SurrogateFeatures.names), (3.0, SurrogateFeatures.names(version: 2)),
                                 (3.0, SurrogateFeatures.names), (current, SurrogateFeatures.names(version: 3)),
                                 (2.0, SurrogateFeatures.names(version: 1))] as [(Double?, [String])]
            + [(nil, SurrogateFeatures.names)]
            // Not whole numbers that fit an Int: refused, not a trap in Int(_:).
            + [Double.nan, 1e300, -.infinity, 2.5].map({ ($0, SurrogateFeatures.names) })
        {
            do {
                _ = try SurrogateModel(file: model(featureVersion: version, names: names), source: "m.json")
                Issue.record("version \(String(describing: version)) with \(names.count) features loaded")
            } catch let error as ModelFileError {
                #expect("\(error)".contains("retrain it"), "\(error)")
            }
        }
    }
}
