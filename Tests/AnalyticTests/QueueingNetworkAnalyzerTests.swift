// The baseline where it is exact: Jackson tandems, M/M/c (Erlang C) and M/G/1
// (Kingman's formula reduces to Pollaczek-Khinchine for Poisson arrivals).

import Testing
import Simulation
@testable import Analytic

@Suite("Analytical baseline")
struct QueueingNetworkAnalyzerTests {
    func station(servers: Int = 1, mean: Double, scv: Double = 1) -> StationConfig {
        StationConfig(servers: servers, service: MomentSpec(mean: mean, scv: scv))
    }

    @Test("M/M/1 -> M/M/1 is exact (Jackson)")
    func jackson() throws {
        let config = TandemConfig(arrivalRate: 0.5, stations: [station(mean: 1.0), station(mean: 1.2)])
        let estimate = try #require(QueueingNetworkAnalyzer.estimate(config))
        #expect(abs(estimate.stations[0].meanResponse - 2.0) < 1e-12)
        #expect(abs(estimate.stations[1].meanResponse - 3.0) < 1e-12)
        #expect(abs(estimate.meanResponse - 5.0) < 1e-12)
        #expect(abs(estimate.meanJobsInSystem - 2.5) < 1e-12)
    }

    @Test("M/M/c -> M/M/c is exact (Erlang C; Burke's theorem keeps station 2's input Poisson)")
    func erlangC() throws {
        // Erlang C for c = 2, a = 1 is 1/3 (textbook value).
        #expect(abs(QueueingNetworkAnalyzer.erlangC(servers: 2, offered: 1) - 1.0 / 3) < 1e-12)
        let config = TandemConfig(arrivalRate: 2, stations: [station(servers: 3, mean: 1), station(servers: 4, mean: 1.5)])
        let estimate = try #require(QueueingNetworkAnalyzer.estimate(config))
        // M/M/3 with a = 2: C = 4/9, Wq = C / (3 - 2) = 4/9 s.
        #expect(abs(estimate.stations[0].meanQueueWait - 4.0 / 9) < 1e-12)
        // M/M/4 with a = 3: C = 0.5094..., Wq = C x 1.5 / (4 - 3).
        let c4 = QueueingNetworkAnalyzer.erlangC(servers: 4, offered: 3)
        #expect(abs(c4 - 0.509434) < 1e-6)
        #expect(abs(estimate.stations[1].meanQueueWait - c4 * 1.5) < 1e-12)
    }

    @Test("M/G/1 at station 1 is exact (Pollaczek-Khinchine)", arguments: [0.0, 0.5, 4.0])
    func pollaczekKhinchine(scv: Double) throws {
        let config = TandemConfig(arrivalRate: 0.5, stations: [station(mean: 1.2, scv: scv), station(mean: 0.1)])
        let estimate = try #require(QueueingNetworkAnalyzer.estimate(config))
        let rho = 0.6
        let exact = rho / (1 - rho) * (1 + scv) / 2 * 1.2
        #expect(abs(estimate.stations[0].meanQueueWait - exact) < 1e-12)
    }

    @Test("On/off arrivals enter as a renewal stream with their long-run rate and true scv (Kingman)")
    func onOffArrivals() throws {
        // lambda_on = 0.5 / 0.25 = 2, alpha = 1/8, beta = 1/24: ca^2 = 1 + 2 * 2 * (1/8) / (1/6)^2 = 19.
        let config = TandemConfig(arrivalRate: 0.5, onOff: OnOffSpec(onFraction: 0.25, meanOn: 8),
                                  stations: [station(mean: 1.2), station(mean: 0.1)])
        let estimate = try #require(QueueingNetworkAnalyzer.estimate(config))
        // Kingman for GI/M/1 at load 0.6: rho / (1 - rho) * (ca^2 + cs^2) / 2 * s = 1.5 * 10 * 1.2.
        #expect(abs(estimate.stations[0].meanQueueWait - 18) < 1e-9)
        #expect(abs(estimate.throughput - 0.5) < 1e-12)
    }

    @Test("Overloaded configurations have no estimate")
    func overload() {
        let config = TandemConfig(arrivalRate: 1, stations: [station(mean: 1.1), station(mean: 0.1)])
        #expect(QueueingNetworkAnalyzer.estimate(config) == nil)
    }

    @Test("Batch-size scv of each family", arguments: [
        (BatchSizeSpec.deterministic(4), 0.0), (.geometric(mean: 4), 0.75), (.uniform(mean: 2), 1.0 / 6),
        (.empirical(values: [1, 3], weights: [1, 1]), 0.25),
    ])
    func batchScv(spec: BatchSizeSpec, expected: Double) {
        #expect(abs(spec.scv - expected) < 1e-12)
    }

    @Test("A Jackson chain of M/M/1 stations is exact: the sum of the stations' responses")
    func jacksonChain() throws {
        // lambda = 0.5; M/M/1 response s / (1 - lambda s): 2, 3, 4/3, 1.6.
        let means = [1.0, 1.2, 0.8, 0.9]
        let config = TandemConfig(arrivalRate: 0.5, stations: means.map { station(mean: $0) })
        let estimate = try #require(QueueingNetworkAnalyzer.estimate(config))
        #expect(estimate.stations.count == 4)
        let exact = means.map { $0 / (1 - 0.5 * $0) }
        for (k, response) in exact.enumerated() {
            #expect(abs(estimate.stations[k].meanResponse - response) < 1e-12)
            #expect(estimate.value("stations.\(k + 1).meanResponse") == estimate.stations[k].meanResponse)
        }
        #expect(abs(estimate.meanResponse - exact.reduce(0, +)) < 1e-12)
        #expect(estimate.value("stations.5.meanResponse") == nil)
    }

    @Test("The departure scv links every station to the next along the chain")
    func linkingAlongTheChain() throws {
        // lambda = 0.5, single servers: M/D/1 -> ./M/1 -> ./M/1.
        // Station 1: s = 1.2, cs^2 = 0, rho = 0.6, ca^2 = 1:
        //   cd^2 = 1 + (1 - 0.36)(1 - 1) + 0.36 (0 - 1) = 0.64.
        // Station 2: s = 1, cs^2 = 1, rho = 0.5, ca^2 = 0.64:
        //   Wq = 0.5 x 1 / 0.5 x (0.64 + 1) / 2 = 0.82; cd^2 = 1 + 0.75 (0.64 - 1) = 0.73.
        // Station 3: s = 0.8, cs^2 = 1, rho = 0.4, ca^2 = 0.73:
        //   Wq = 0.4 x 0.8 / 0.6 x (0.73 + 1) / 2 = 0.461333...
        let config = TandemConfig(arrivalRate: 0.5, stations: [station(mean: 1.2, scv: 0), station(mean: 1),
                                                                station(mean: 0.8)])
        let estimate = try #require(QueueingNetworkAnalyzer.estimate(config))
        #expect(abs(estimate.stations[1].meanQueueWait - 0.82) < 1e-12)
        #expect(abs(estimate.stations[2].meanQueueWait - 0.4 * 0.8 / 0.6 * 1.73 / 2) < 1e-12)
    }

    @Test("One station: M/M/c is Erlang C")
    func oneStation() throws {
        let config = TandemConfig(arrivalRate: 2, stations: [station(servers: 3, mean: 1)])
        let estimate = try #require(QueueingNetworkAnalyzer.estimate(config))
        // M/M/3 with a = 2: C = 4/9, Wq = 4/9 s, response 13/9.
        #expect(abs(estimate.meanResponse - 13.0 / 9) < 1e-12)
    }
}
