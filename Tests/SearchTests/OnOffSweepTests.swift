// Sweeps over on/off arrivals: `arrival.onOff.onFraction` and `arrival.onOff.meanOn`
// are varied like any other key, with the loader's rules.

import Foundation
import Simulation
import Testing
@testable import Search

@Suite("Sweeps over on/off arrivals")
struct OnOffSweepTests {
    static func spec(arrival: String = "{ rate: 2, scv: 1 }", vary: [String]) -> String {
        """
        base:
          arrival: \(arrival)
          stations:
            - { servers: 2, service: { mean: 0.3 } }
            - { servers: 2, service: { mean: 0.2 } }
        vary:
        \(vary.map { "  " + $0 }.joined(separator: "\n"))
        design: { points: 8 }
        """
    }

    @Test("both keys turn a renewal base into on/off arrivals at the same long-run rate")
    func renewalBase() throws {
        let spec = try SweepSpec.parse(Self.spec(vary: [
            "arrival.onOff.onFraction: { uniform: [0.1, 1] }", "arrival.onOff.meanOn: { loguniform: [1, 100] }",
            "stations.1.load: { uniform: [0.2, 0.8] }",
        ]))
        #expect(spec.parameters.map(\.target.description)
                    == ["arrival.onOff.onFraction", "arrival.onOff.meanOn", "stations.1.load"])
        let point = spec.point(0, coordinates: [0.5, 0.5, 0.5])
        let onOff = try #require(point.config.onOff)
        #expect(abs(onOff.onFraction - 0.55) < 1e-12)
        #expect(abs(onOff.meanOn - 10) < 1e-9)
        #expect(point.config.arrivalRate == 2)
        #expect(point.config.interArrival.scv == 1)
        #expect(abs(point.config.offeredLoads[0] - 0.5) < 1e-12, "loads use the long-run rate")
        #expect(point.problem == nil)
        // The dataset row says what was simulated.
        let cells = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names, ConfigColumns.cells(of: point.config)))
        #expect(cells["arrival.onFraction"] == "0.55" && cells["arrival.meanOn"] != "0")
    }

    @Test("one key varies over an on/off base, the other keeps the base's value")
    func onOffBase() throws {
        let spec = try SweepSpec.parse(Self.spec(arrival: "{ rate: 2, onOff: { onFraction: 0.3, meanOn: 20 } }",
                                                 vary: ["arrival.onOff.meanOn: { uniform: [5, 15] }"]))
        let point = spec.point(0, coordinates: [0.5])
        #expect(point.config.onOff == OnOffSpec(onFraction: 0.3, meanOn: 10))
        #expect(spec.base.onOff == OnOffSpec(onFraction: 0.3, meanOn: 20))
    }

    @Test(arguments: [
        ("{ rate: 2, scv: 1 }", ["arrival.onOff.onFraction: { uniform: [0.1, 1] }"],
         "vary.arrival.onOff.onFraction: the base has renewal arrivals, so there is no arrival.onOff.meanOn to keep; "
            + "give the base arrival.onOff or vary arrival.onOff.meanOn too (line 7)"),
        ("{ rate: 2, onOff: { onFraction: 0.3, meanOn: 20 } }", ["arrival.scv: { uniform: [1, 4] }"],
         "vary.arrival.scv: not allowed with on/off arrivals (the base has arrival.onOff), whose on and off periods "
            + "set the inter-arrival variability (line 7)"),
        ("{ rate: 2 }", ["arrival.scv: { uniform: [1, 4] }", "arrival.onOff.meanOn: { uniform: [1, 4] }"],
         "vary.arrival.scv: not allowed with on/off arrivals (arrival.onOff.meanOn is varied), whose on and off "
            + "periods set the inter-arrival variability (line 7)"),
        ("{ rate: 2, scv: 4 }", ["arrival.onOff.onFraction: { uniform: [0.1, 1] }", "arrival.onOff.meanOn: { uniform: [1, 4] }"],
         "vary.arrival.onOff.onFraction: the varied on/off arrivals replace the base's arrival.scv (4); "
            + "remove it from the base (line 7)"),
        ("{ rate: 2, onOff: { onFraction: 0.3, meanOn: 20 } }", ["arrival.onOff.onFraction: { uniform: [0, 1] }"],
         "vary.arrival.onOff.onFraction.uniform.1: must be > 0 and <= 1, got 0 (line 7)"),
        ("{ rate: 2, onOff: { onFraction: 0.3, meanOn: 20 } }", ["arrival.onOff.onFracton: { uniform: [0.1, 1] }"],
         "vary.arrival.onOff.onFracton: unknown key path; did you mean arrival.onOff.onFraction? (line 7)"),
    ] as [(String, [String], String)])
    func errors(arrival: String, vary: [String], message: String) {
        do {
            _ = try SweepSpec.parse(Self.spec(arrival: arrival, vary: vary))
            Issue.record("no error; expected \(message)")
        } catch {
            #expect("\(error)" == message)
        }
    }
}
