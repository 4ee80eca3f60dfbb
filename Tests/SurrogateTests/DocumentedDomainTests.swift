// The documented domain (docs/domain.md): a model that names the domain warns only
// outside it, naming the key and the range.

import Foundation
import Simulation
import Testing

@testable import Surrogate

/// A model of the current feature version with random weights, trained on nothing: its training
/// range is one point (`arrival.scv` 1 only), so every check that passes comes from
/// the documented domain it names.
private func untrainedModel(domain: String?) throws -> SurrogateModel {
    let names = SurrogateFeatures.names
    let architecture = NetworkArchitecture(inputs: names.count, hidden: [8], outputs: SurrogateTargets.names.count,
                                           activation: .silu)
    var trained = InputDomain()
    trained.include("arrival.scv", 1)
    var file = ModelFile(
        network: Network(architecture: architecture, seed: 3),
        features: FeatureScaler(names: names, means: names.map { _ in 0 }, stds: names.map { _ in 1 }),
        targets: TargetTransform(targets: SurrogateTargets.names.map { .init(name: $0, log: true, mean: 0, std: 1) }),
        inputDomain: trained, settings: TrainingSettings(), metrics: ["info": ["featureVersion": Double(SurrogateFeatures.version)]],
        datasetSHA256: String(repeating: "0", count: 64), created: CreationInfo(createdAt: "2026-01-01T00:00:00Z"))
    file.domain = domain
    return try SurrogateModel(file: file)
}

/// Inside duet-tandem-v1 at 2 batches per second: every time is in range once divided
/// by the mean gap between batches (0.5 s).
private let inside = TandemConfig(
    arrivalRate: 2, arrivalScv: 6, batch: .geometric(mean: 12),
    stations: [
        StationConfig(servers: 40, service: MomentSpec(mean: 0.5, scv: 3), setup: 0.01, maxBatch: 8, timeout: 2,
                      coldStart: MomentSpec(mean: 5, scv: 2), keepAlive: 0.2),
        StationConfig(servers: 64, service: MomentSpec(mean: 0.9, scv: 10), maxBatch: 64, timeout: 0.001,
                      coldStart: MomentSpec(mean: 0), keepAlive: .infinity),
    ])

@Suite("Documented domain")
struct DocumentedDomainTests {
    @Test("a configuration inside the documented domain gets no warning, at any arrival rate",
          arguments: [1.0, 0.001, 1000])
    func insideNoWarning(rate: Double) throws {
        let model = try untrainedModel(domain: "duet-tandem-v1")
        #expect(DocumentedDomain.tandemV1.violations(inside) == [])
        // The same system with every time divided by `rate / 2`: only the unit changes.
        let twin = timeScaled(inside, by: 2 / rate)
        #expect(model.domainWarnings(twin) == [], "rate \(rate)")
        // Without the domain the model judges by its one-point training range.
        #expect(try untrainedModel(domain: nil).domainWarnings(twin).contains { $0.hasPrefix("arrival.scv = 6") })
    }

    @Test("outside the domain the warning names the key, its value and the documented range")
    func outsideNamesKeyAndRange() throws {
        let model = try untrainedModel(domain: "duet-tandem-v1")
        var config = inside
        config.stations[1].setup = 0.0625  // 0.125 mean batch gaps; the domain allows 0.1
        config.stations[0].servers = 65
        #expect(model.domainWarnings(config) == [
            "stations.1.servers = 65.0 is outside the documented domain duet-tandem-v1 (docs/domain.md) [1.0, 64.0]",
            "stations.2.setup*arrival.rate = 0.125 is outside the documented domain duet-tandem-v1 (docs/domain.md) [0.0, 0.1]",
        ])

        var heavy = inside
        heavy.stations[1].service.mean *= 0.97 / heavy.offeredLoads[1]
        let warnings = model.domainWarnings(heavy)
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("stations.2.load = 0.97") == true, "\(warnings)")
        #expect(warnings.first?.hasSuffix("outside the documented domain duet-tandem-v1 (docs/domain.md) [0.001, 0.95]") == true)

        // Light traffic is inside down to a load of 0.001 per station (station 2 has no
        // setup, so its load is the service's alone), and a warning below it.
        var light = inside
        light.stations[1].service.mean *= 0.002 / light.offeredLoads[1]
        #expect(model.domainWarnings(light) == [])
        light.stations[1].service.mean *= 0.0005 / light.offeredLoads[1]
        let lightWarnings = model.domainWarnings(light)
        #expect(lightWarnings.count == 1)
        #expect(lightWarnings.first?.hasPrefix("stations.2.load = 0.0005") == true, "\(lightWarnings)")
        #expect(lightWarnings.first?.hasSuffix("[0.001, 0.95]") == true)
    }

    @Test("arrivals are judged by kind: renewal by scv, on/off by on fraction and on period")
    func arrivalKinds() throws {
        let domain = DocumentedDomain.tandemV1
        var renewal = inside
        renewal.interArrival.scv = 20
        #expect(domain.violations(renewal).map { $0.prefix(18) } == ["arrival.scv = 20.0"])

        // Very bursty on/off arrivals (scv in the hundreds) are inside when their on
        // fraction and on period (in mean batch gaps) are.
        var onOff = inside
        onOff.onOff = OnOffSpec(onFraction: 0.15, meanOn: 40)  // 80 mean batch gaps
        #expect(onOff.arrivalScv > 16)
        #expect(domain.violations(onOff) == [])
        onOff.onOff = OnOffSpec(onFraction: 0.05, meanOn: 100)  // 200 gaps
        #expect(domain.violations(onOff).map { String($0.prefix(while: { $0 != " " })) }
                == ["arrival.meanOn*arrival.rate", "arrival.onFraction"])
        // An on/off source always on is a Poisson process: renewal, scv 1.
        onOff.onOff = OnOffSpec(onFraction: 1, meanOn: 1000)
        #expect(domain.violations(onOff) == [])
    }

    @Test("parameters without effect are not judged")
    func parametersWithoutEffect() {
        var config = inside
        config.stations[1].keepAlive = 1e-6  // no cold starts at station 2
        config.stations[1].coldStart.scv = 50
        config.stations[0].maxBatch = 1
        config.stations[0].timeout = 1e6
        #expect(DocumentedDomain.tandemV1.violations(config) == [])
    }

    @Test("a sweep row written inside can lie just outside: station 1's maxBatch above its largest batch")
    func sweepRowJustOutside() throws {
        // Point 2408 of examples/general-sweep.yaml: the sweep set the service mean for a
        // load of 0.9376 with setup 0.03 spread over invocations of 24 jobs, but single-job
        // batches with timeout 0 make invocations of one job, so each pays the whole
        // setup: (0.03 + 0.9363) x 1 job per second on 1 server = 0.9663.
        var station = StationConfig(servers: 1, service: MomentSpec(mean: 0.9363472864844238), setup: 0.03, maxBatch: 24,
                                    timeout: 0)
        let second = StationConfig(servers: 2, service: MomentSpec(mean: 1))  // load 0.5
        let config = TandemConfig(arrivalRate: 1, arrivalScv: 1, batch: .deterministic(1), stations: [station, second])
        #expect(abs(config.offeredLoads[0] - (0.9363472864844238 + 0.03 / 24)) < 1e-12, "the load as the sweep wrote it")
        let warnings = DocumentedDomain.tandemV1.violations(config)
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("stations.1.load = 0.966347") == true, "\(warnings)")
        station.maxBatch = 1
        #expect(abs(TandemConfig(arrivalRate: 1, arrivalScv: 1, batch: .deterministic(1), stations: [station, second])
            .offeredLoads[0] - 0.9663472864844238) < 1e-12)
    }

    @Test("the fast acceptance of a configuration agrees with the full check, key by key and edge by edge")
    func fastPathAgreesWithFullCheck() throws {
        // Each edit moves one key to a value inside, on an edge, just past it (within and
        // beyond the slack) or far outside, on top of each way a parameter can lose its
        // effect; the fast path (`violations(_:)`) must say "no warning" exactly when the
        // dictionary of judged values (`judgedValues`) has none outside.
        typealias Edit = (String, (inout TandemConfig) -> Void)
        var edits: [Edit] = [("none", { _ in })]
        for scale in [0.5, 0.9999999999, 1.0000000001, 1.5, 20] {
            edits.append(("station 2 load x \(scale)", { $0.stations[1].service.mean *= 0.95 / $0.offeredLoads[1] * scale }))
            edits.append(("setup x \(scale)", { $0.stations[0].setup = 0.05 * scale }))  // 0.1 gaps at the edge
            edits.append(("cold start x \(scale)", { $0.stations[0].coldStart.mean = 15 * scale }))  // 30 gaps
            edits.append(("keepAlive x \(scale)", { $0.stations[0].keepAlive = 0.05 * scale }))  // 0.1 gaps
            edits.append(("on/off x \(scale)", { $0.onOff = OnOffSpec(onFraction: 0.1 * scale, meanOn: 50 * scale) }))
        }
        for servers in [1, 64, 65] { edits.append(("servers \(servers)", { $0.stations[1].servers = servers })) }
        for scv in [0.0, 10, 11] { edits.append(("service scv \(scv)", { $0.stations[0].service.scv = scv })) }
        for scv in [16.0, 17] { edits.append(("arrival scv \(scv)", { $0.interArrival.scv = scv })) }
        for mean in [1, 64, 65] { edits.append(("batch mean \(mean)", { $0.batch = .geometric(mean: Double(mean)) })) }
        let withoutEffect: [Edit] = [
            ("as it is", { _ in }),
            ("no cold starts at station 1", { $0.stations[0].coldStart.mean = 0; $0.stations[0].coldStart.scv = 9 }),
            ("maxBatch 1 at station 1", { $0.stations[0].maxBatch = 1; $0.stations[0].timeout = 1e6 }),
        ]
        let domain = DocumentedDomain.tandemV1
        let trained = try untrainedModel(domain: nil)
        var outside = 0
        for (base, first) in withoutEffect {
            for (name, edit) in edits {
                var config = inside
                first(&config)
                edit(&config)
                let form = CanonicalForm(config)
                let full = domain.violations(values: domain.judgedValues(form))
                #expect(domain.violations(config) == full, "\(base), \(name)")
                let fullTrained = trained.file.inputDomain.violations(form.domainValues(), relativeSlack: 1e-9)
                #expect(trained.domainWarnings(config) == fullTrained, "\(base), \(name), training range")
                if !full.isEmpty { outside += 1 }
            }
        }
        #expect(outside > 20, "the edits must reach outside the domain, too")
    }

    @Test("a model file naming an unknown domain is refused on load")
    func unknownDomain() {
        #expect(throws: ModelFileError.self) { try untrainedModel(domain: "duet-tandem-v0") }
    }

    @Test("every range of the domain is in docs/domain.md")
    func documented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/domain.md"), encoding: .utf8)
        for key in DocumentedDomain.tandemV1.ranges.columns.keys {
            let shown = key.replacingOccurrences(of: "stations.1.", with: "stations.K.")
                .replacingOccurrences(of: "stations.2.", with: "stations.K.")
            #expect(text.contains("`\(shown)`"), "docs/domain.md does not name \(shown)")
        }
    }
}
