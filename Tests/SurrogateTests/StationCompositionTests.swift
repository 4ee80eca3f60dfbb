// A model of one station composed along chains (issue #14, docs/chain-surrogate.md):
// each station seen as a one-station system fed by the stream QNA says reaches it.
// The views are checked against hand-computed streams (Burke's theorem for M/M/1
// stations, QNA's invocation size behind a batching station), the training rows
// against the chains' simulated station metrics, and a composed chain longer than
// any trained one against the rule that means add along a chain.

import Foundation
import Simulation
import Testing

@testable import Surrogate

@Suite("Station composition")
struct StationCompositionTests {
    @Test("Behind M/M/1 stations every view is fed by Poisson arrivals at the chain's rate (Burke)")
    func burke() throws {
        let stations = [0.5, 0.8, 0.3].map { StationConfig(service: MomentSpec(mean: $0)) }
        let config = TandemConfig(arrivalRate: 1.1, stations: stations)
        let views = try #require(StationComposition.stationViews(config))
        #expect(views.count == 3)
        for (k, view) in views.enumerated() {
            #expect(view.stations == [stations[k]])
            #expect(abs(view.arrivalRate - 1.1) < 1e-12, "station \(k + 1): rate \(view.arrivalRate)")
            // QNA's departure scv: 1 + (1 - rho^2)(1 - 1) + rho^2 (1 - 1) / 1 = 1.
            #expect(abs(view.arrivalScv - 1) < 1e-12, "station \(k + 1): scv \(view.arrivalScv)")
            #expect(view.batch.mean == 1)
        }
        // Station 1 sees the chain's own arrivals, whatever they are.
        let bursty = TandemConfig(arrivalRate: 0.5, onOff: OnOffSpec(onFraction: 0.25, meanOn: 4),
                                  batch: .geometric(mean: 2), stations: stations)
        let first = try #require(StationComposition.stationViews(bursty)?.first)
        #expect(first.onOff == bursty.onOff && first.arrivalScv == bursty.arrivalScv && first.batch == bursty.batch)
    }

    @Test("Behind a batching station the next view is fed by its invocations, of QNA's mean size")
    func behindBatching() throws {
        // Jobs at 2 per second; station 1 gathers for its timeout up to 4 jobs: QNA's
        // invocation holds 1 + 2 x min(timeout, (4 - 1) / 2) jobs.
        func view(timeout: Double) throws -> TandemConfig {
            let config = TandemConfig(
                arrivalRate: 2, stations: [
                    StationConfig(servers: 2, service: MomentSpec(mean: 0.2), maxBatch: 4, timeout: timeout),
                    StationConfig(service: MomentSpec(mean: 0.3)),
                ])
            return try #require(StationComposition.stationViews(config)?.last)
        }
        let full = try view(timeout: 2)     // 1 + 2 x 1.5 = 4 jobs: whole
        #expect(full.batch == .deterministic(4))
        #expect(abs(full.arrivalRate - 0.5) < 1e-12)
        let partial = try view(timeout: 0.6)    // 1 + 2 x 0.6 = 2.2 jobs: 2 or 3
        guard case .empirical(let values, let weights) = partial.batch else {
            Issue.record("expected two sizes around 2.2, got \(partial.batch)")
            return
        }
        #expect(values == [2, 3])
        #expect(abs(weights[0] - 0.8) < 1e-9 && abs(weights[1] - 0.2) < 1e-9)
        #expect(abs(partial.arrivalRate - 2 / 2.2) < 1e-12)
        #expect(abs(partial.jobRate - 2) < 1e-12, "the job rate goes on unchanged")
    }

    @Test("With one upstream station a view is the station and the one before it, fed by the stream into that one")
    func upstreamViews() throws {
        let stations = [0.5, 0.7, 0.3, 0.4].map { StationConfig(service: MomentSpec(mean: $0)) }
        let config = TandemConfig(arrivalRate: 1.1, arrivalScv: 2, batch: .geometric(mean: 1.2), stations: stations)
        let single = try #require(StationComposition.stationViews(config))
        let views = try #require(StationComposition.stationViews(config, upstream: 1))
        #expect(views.map(\.stations) == [[stations[0]], [stations[0], stations[1]], [stations[1], stations[2]],
                                         [stations[2], stations[3]]])
        // Views starting at station 1 keep the chain's arrivals; the others are fed as
        // the station-alone view of their first station is.
        #expect(views[0].arrivalScv == config.arrivalScv && views[1].arrivalScv == config.arrivalScv
                && views[1].batch == config.batch)
        for k in 2...3 {
            #expect(views[k].arrivalRate == single[k - 1].arrivalRate && views[k].arrivalScv == single[k - 1].arrivalScv
                    && views[k].batch == single[k - 1].batch, "view of station \(k + 1)")
        }
    }

    @Test("A view's targets are its stations' simulated metrics, and their responses' sum end to end")
    func viewTargets() throws {
        let chains = try simulatedChains(stations: 3, points: 4, seed: 23)
        let rows = SurrogateDataset(stationsOf: [chains], upstream: 1)
        #expect(rows.stations == 2 && rows.minStations == 1)
        #expect(rows.examples.count == 3 * chains.examples.count)
        let chain = chains.examples[0]
        let view = rows.examples[2]    // stations 2 and 3 of the first chain
        let second = try #require(chain.target("stations.2.meanResponse"))
        let third = try #require(chain.target("stations.3.meanResponse"))
        #expect(view.target("stations.1.meanResponse") == second && view.target("stations.2.meanResponse") == third)
        #expect(view.target("stations.2.instanceSecondsPerJob") == chain.target("stations.3.instanceSecondsPerJob"))
        let sum = try #require(view.target("meanResponse"))
        #expect(abs(sum - (second + third)) <= 1e-12 * sum)
        // Laid out for views of two stations: the first chain's station-1 view pads the second block with zeros.
        #expect(rows.examples[0].features.count == view.features.count)
    }

    @Test("A chain of N stations gives N training rows, each with its station's simulated metrics")
    func rowsPerStation() throws {
        let chains = try simulatedChains(stations: 3, points: 6, seed: 21)
        let rows = SurrogateDataset(stationsOf: [chains])
        #expect(rows.stations == 1)
        #expect(rows.examples.count == 3 * chains.examples.count)
        for (i, chain) in chains.examples.enumerated() {
            for k in 1...3 {
                let row = rows.examples[3 * i + k - 1]
                let response = try #require(chain.target("stations.\(k).meanResponse"))
                let cost = try #require(chain.target("stations.\(k).instanceSecondsPerJob"))
                #expect(row.config.stations == [chain.config.stations[k - 1]])
                #expect(row.target("stations.1.meanResponse") == response)
                #expect(row.target("meanResponse") == response)
                #expect(row.target("stations.1.instanceSecondsPerJob") == cost)
            }
        }
    }

    @Test("A composed model predicts a chain longer than any it learnt from, its mean response the sum of its stations'")
    func longerChain() throws {
        let rows = SurrogateDataset(stationsOf: [try simulatedChains(stations: 2, points: 24, seed: 22)])
        let file = try tinyModelFile(rows, split: rows.split(validation: 0.2, test: 0.1, seed: 1))
        let model = try SurrogateModel(file: file)
        let stations = (0..<6).map { k in
            StationConfig(servers: 1 + k % 2, service: MomentSpec(mean: 0.2 + 0.05 * Double(k)),
                          maxBatch: k == 1 ? 3 : 1, timeout: k == 1 ? 0.4 : 0)
        }
        let chain = TandemConfig(arrivalRate: 1, arrivalScv: 1.5, batch: .geometric(mean: 2), stations: stations)
        let composed = try #require(StationComposition.predict(model, chain))
        #expect(composed.stations.count == 6)
        let sum = composed.stations.reduce(0) { $0 + $1.meanResponse }
        #expect(abs(composed.meanResponse - sum) <= 1e-12 * sum)
        for (k, station) in composed.stations.enumerated() {
            // A station takes at least its own service.
            #expect(station.meanResponse.isFinite && station.meanResponse > 0, "station \(k + 1)")
            #expect(composed.value("stations.\(k + 1).meanResponse") == station.meanResponse)
        }
        #expect(composed.value("p95Response") == nil, "a composed chain has no percentiles")
    }
}
