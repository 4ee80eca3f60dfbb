// Workflows of N stations (MODEL.md, "Workflows of N stages"): Jackson chains
// against the sum of Erlang C responses, one-station workflows against closed
// forms, three-stage hand-overs worked out by hand, and the bounds on the
// number of stations.

import Testing
@testable import Simulation

@Suite("Chains of N stations")
struct ChainTests {
    typealias D = DeterministicScenario

    // MARK: Queueing theory

    /// Servers and mean service time of the stations of a Jackson chain, loads
    /// 0.42 to 0.6 at lambda = 0.6.
    static let jacksonStations: [(servers: Int, mean: Double)] = [
        (1, 1.0), (2, 1.6), (3, 2.1), (1, 0.8), (4, 3.0),
    ]

    /// M/M/c mean response: Erlang C wait plus the service time.
    static func mmcResponse(lambda: Double, servers c: Int, mean s: Double) -> Double {
        let a = lambda * s
        return erlangC(servers: c, offered: a) * s / (Double(c) - a) + s
    }

    @Test("Jackson chains of M/M/c stations: mean response is the sum of Erlang C responses",
          arguments: [3, 4, 5])
    func jacksonChain(length: Int) throws {
        // Poisson arrivals of single jobs, exponential service, K = 1, no setup or
        // cold start: a Jackson network, each station an M/M/c queue (Burke).
        // 5 replications of 40,000 jobs: a half-width of a few percent of the mean.
        let lambda = 0.6
        let chain = Self.jacksonStations.prefix(length)
        let config = TandemConfig(
            arrivalRate: lambda, stations: chain.map { station(servers: $0.servers, mean: $0.mean) },
            run: RunSettings(jobs: 40_000, replications: 5, warmup: 0.1, seed: 1400 + UInt64(length)))
        let report = Simulator.simulate(config)
        #expect(report.stationNames.count == length)
        #expect(report.estimates.count == MetricCatalog.names(stations: length).count)
        let responses = chain.map { Self.mmcResponse(lambda: lambda, servers: $0.servers, mean: $0.mean) }
        try expectMatches(report, "meanResponse", responses.reduce(0, +), maxRelativeHalfWidth: 0.05,
                          "\(length) stations")
        for (k, response) in responses.enumerated() {
            try expectMatches(report, "stations.\(k + 1).meanResponse", response, maxRelativeHalfWidth: 0.05,
                              "station \(k + 1) of \(length)")
        }
        try expectMatches(report, "stations.\(length).utilization",
                          lambda * chain.last!.mean / Double(chain.last!.servers), maxRelativeHalfWidth: 0.05)
        #expect(report.estimate("stations.\(length + 1).meanResponse") == nil)
    }

    @Test("One station: M/M/c (Erlang C) and M/G/1 (Pollaczek-Khinchine)",
          arguments: [(3, 1.0), (1, 0.0), (1, 2.0)])
    func oneStation(servers: Int, scv: Double) throws {
        // The load is 0.6 whatever the servers: lambda x s / c = 0.6.
        let lambda = 2.0, s = 0.6 * Double(servers) / lambda
        let config = TandemConfig(arrivalRate: lambda, stations: [station(servers: servers, mean: s, scv: scv)],
                                  run: RunSettings(jobs: 60_000, replications: 5, warmup: 0.1, seed: 77))
        let report = Simulator.simulate(config)
        #expect(report.stationNames.count == 1)
        let exact: Double
        if servers == 1 {
            // Pollaczek-Khinchine: Wq = lambda E[S^2] / (2 (1 - rho)), E[S^2] = s^2 (1 + scv).
            let realised = MomentSampler(MomentSpec(mean: s, scv: scv)).realisedScv
            exact = lambda * s * s * (1 + realised) / (2 * (1 - lambda * s)) + s
        } else {
            exact = Self.mmcResponse(lambda: lambda, servers: servers, mean: s)
        }
        try expectMatches(report, "meanResponse", exact, maxRelativeHalfWidth: 0.06, "c = \(servers), scv \(scv)")
        try expectMatches(report, "stations.1.meanResponse", exact, maxRelativeHalfWidth: 0.06)
        try expectMatches(report, "throughput", lambda)
    }

    @Test("One station: M^X/M/1 with geometric batches (Gross and Harris)")
    func oneStationBatchArrivals() throws {
        let batchRate = 0.25, mean = 4.0, s = 0.6
        let p = 1 / mean
        let secondMoment = (2 - p) / (p * p)
        let config = TandemConfig(arrivalRate: batchRate, batch: .geometric(mean: mean), stations: [station(mean: s)],
                                  run: RunSettings(jobs: 80_000, replications: 5, warmup: 0.1, seed: 78))
        let report = Simulator.simulate(config)
        let rho = batchRate * mean * s
        // Work ahead from earlier batches plus the jobs ahead within the own batch.
        let wait = (batchRate * mean * 2 * s * s / 2 + s * (secondMoment - mean) / (2 * mean)) / (1 - rho)
        try expectMatches(report, "meanResponse", wait + s, maxRelativeHalfWidth: 0.06)
    }

    @Test("Every station of a 16-station chain has service and cold-start streams of its own")
    func streamsPerStation() {
        let keys = [StreamPurpose.interArrival, .batchSize] + (0..<16).flatMap { [StreamPurpose.service($0), .coldStart($0)] }
        #expect(Set(keys.map(\.rawValue)).count == keys.count)
        // Different keys give different numbers: the first service draw of each station.
        let draws = (0..<16).map { k in
            var stream = RandomStream(seed: 5, replication: 0, purpose: .service(k))
            return stream.next()
        }
        #expect(Set(draws).count == 16)
    }

    // MARK: Three-stage hand-overs by hand

    static func chain(interArrival: Double, batch: Int, _ stations: [StationConfig]) -> TandemConfig {
        TandemConfig(arrivalRate: 1 / interArrival, arrivalScv: 0, batch: .deterministic(batch), stations: stations,
                     run: RunSettings(jobs: 100, replications: 1, warmup: 0, seed: 7))
    }

    @Test("Ties at a hand-over travel together; a job entering station 3 at its timeout rides along")
    func tiesAndTimeouts() throws {
        // T = 1, batches of 2: jobs 0,1 at 1; 2,3 at 2; 4,5 at 3.
        // Station 1: 2 servers, K = 1, s = 0.5. Each pair starts at once on the two
        //   instances (cold the first time) and completes at t + 0.5: 1.5, 2.5, 3.5.
        // Station 2: 1 server, K = 2, tau = 0, s = 0.25. A pair completing together
        //   enters together (fine point 2) and leaves as one invocation of 2 (hold 0.5):
        //   1.5 -> 2.0, 2.5 -> 3.0, 3.5 -> 4.0.
        // Station 3: 1 server, K = 8, tau = 1, setup 0.25, s = 0.125. Jobs 0,1 enter at
        //   2.0 (deadline 3.0); jobs 2,3 enter at 3.0, exactly at the deadline, so they
        //   ride (fine point 1): one invocation of 4 at 3.0, cold, hold 0.25 + 0.5 -> 3.75.
        //   Jobs 4,5 enter at 4.0 (deadline 5.0), nothing follows: released at 5.0, warm,
        //   hold 0.25 + 0.25 -> 5.5.
        // Responses: 3.75 - 1 = 2.75 (x2), 3.75 - 2 = 1.75 (x2), 5.5 - 3 = 2.5 (x2); mean 7/3.
        let config = Self.chain(interArrival: 1, batch: 2, [
            D.station(servers: 2, service: 0.5),
            D.station(service: 0.25, maxBatch: 2),
            D.station(service: 0.125, setup: 0.25, maxBatch: 8, timeout: 1),
        ])
        let trace = D.trace(config, jobs: 6)
        D.expectInvocations(trace, station: 1, [
            (0, 1, 1, 1.5, true), (1, 1, 1, 1.5, true), (2, 1, 2, 2.5, false), (3, 1, 2, 2.5, false),
            (4, 1, 3, 3.5, false), (5, 1, 3, 3.5, false),
        ])
        D.expectInvocations(trace, station: 2, [(0, 2, 1.5, 2.0, true), (2, 2, 2.5, 3.0, false), (4, 2, 3.5, 4.0, false)])
        D.expectInvocations(trace, station: 3, [(0, 4, 3.0, 3.75, true), (4, 2, 5.0, 5.5, false)])
        D.expectVisit(trace, job: 1, station: 2, 1.5, 1.5, 1.5, 2.0)
        D.expectVisit(trace, job: 0, station: 3, 2.0, 3.0, 3.0, 3.75)
        D.expectVisit(trace, job: 3, station: 3, 3.0, 3.0, 3.0, 3.75)
        D.expectVisit(trace, job: 5, station: 3, 4.0, 5.0, 5.0, 5.5)
        #expect(trace.departures == [0, 1, 2, 3, 4, 5])
        let values = try D.replication(config, jobs: 6, stations: 3)
        D.expectMetrics(values, [
            ("meanResponse", 7.0 / 3), ("stations.3.meanBatchSize", 3), ("stations.3.meanBufferWait", 2.0 / 3),
            ("stations.2.meanBatchSize", 2), ("stations.3.coldStartFraction", 0.5),
        ])
    }

    @Test("Jobs overtake at station 2 and hand over to station 3 in completion order, ties in dispatch order")
    func overtakingAndTimeouts() throws {
        // T = 1, single jobs: job 0 at 1, 1 at 2, 2 at 3, 3 at 4.
        // Station 1: 1 server, K = 2, tau = 0.5, s = 0.25. Each job waits out its
        //   timeout alone (the next arrives 1 s later): released at t + 0.5, completes
        //   at t + 0.75: 1.75, 2.75, 3.75, 4.75 (job 3's buffer released at the end of arrivals).
        // Station 2: 2 servers, K = 1, s = 0.5, cold start 2.
        //   job 0 enters 1.75: new instance A, cold: 1.75 -> 1.75 + 2.5 = 4.25.
        //   job 1 enters 2.75: A busy, a second instance B, cold: 2.75 -> 5.25.
        //   job 2 enters 3.75: both busy and both alive: waits for A, 4.25 -> 4.75.
        //   job 3 enters 4.75: A frees at 4.75 and is taken warm (fine point 1): -> 5.25.
        //   Completion order: 0 (4.25), 2 (4.75), then 1 and 3 together at 5.25, which
        //   hand over in dispatch order, 1 (2.75) before 3 (4.75) (fine point 3).
        // Station 3: 1 server, K = 2, tau = 0, s = 0.125.
        //   job 0 enters 4.25 alone: 4.25 -> 4.375, cold.
        //   job 2 enters 4.75 alone: 4.75 -> 4.875.
        //   jobs 1, 3 enter at 5.25 together: one invocation [1, 3], 5.25 -> 5.5.
        // Responses: job 0 3.375, job 1 3.5, job 2 1.875, job 3 1.5; mean 10.25 / 4.
        let config = Self.chain(interArrival: 1, batch: 1, [
            D.station(service: 0.25, maxBatch: 2, timeout: 0.5),
            D.station(servers: 2, service: 0.5, coldStart: 2),
            D.station(service: 0.125, maxBatch: 2),
        ])
        let trace = D.trace(config, jobs: 4)
        D.expectInvocations(trace, station: 1, [
            (0, 1, 1.5, 1.75, true), (1, 1, 2.5, 2.75, false), (2, 1, 3.5, 3.75, false), (3, 1, 4.5, 4.75, false),
        ])
        D.expectInvocations(trace, station: 2, [
            (0, 1, 1.75, 4.25, true), (1, 1, 2.75, 5.25, true), (2, 1, 4.25, 4.75, false), (3, 1, 4.75, 5.25, false),
        ])
        D.expectInvocations(trace, station: 3, [(0, 1, 4.25, 4.375, true), (2, 1, 4.75, 4.875, false),
                                                (1, 2, 5.25, 5.5, false)])
        D.expectVisit(trace, job: 2, station: 2, 3.75, 3.75, 4.25, 4.75)
        D.expectVisit(trace, job: 1, station: 3, 5.25, 5.25, 5.25, 5.5)
        D.expectVisit(trace, job: 3, station: 3, 5.25, 5.25, 5.25, 5.5)
        #expect(trace.departures == [0, 2, 1, 3])
        let values = try D.replication(config, jobs: 4, stations: 3)
        D.expectMetrics(values, [
            ("meanResponse", 10.25 / 4), ("stations.1.meanBufferWait", 0.5), ("stations.2.meanQueueWait", 0.125),
            ("stations.3.meanBatchSize", 4.0 / 3),
        ])
    }

    @Test("One station: jobs leave the system as their first invocation completes")
    func oneStationByHand() throws {
        // T = 1, batches of 3; 1 server, K = 2, tau = 0.5, s = 0.25.
        // t = 1: jobs 0,1 fill the buffer: 1 -> 1.5; job 2 waits out its timeout: 1.5 -> 1.75.
        // t = 2: the same, one second later. Responses 0.5, 0.5, 0.75 per batch.
        let config = Self.chain(interArrival: 1, batch: 3, [D.station(service: 0.25, maxBatch: 2, timeout: 0.5)])
        let trace = D.trace(config, jobs: 6)
        D.expectInvocations(trace, station: 1, [
            (0, 2, 1, 1.5, true), (2, 1, 1.5, 1.75, false), (3, 2, 2, 2.5, false), (5, 1, 2.5, 2.75, false),
        ])
        #expect(trace.departures == [0, 1, 2, 3, 4, 5])
        let values = try D.replication(config, jobs: 6, stations: 1)
        D.expectMetrics(values, [("meanResponse", 1.75 / 3), ("stations.1.meanBatchSize", 1.5)])
    }

    // MARK: Configuration files

    static func document(stations count: Int) -> String {
        "arrival: {rate: 0.5}\nstations:\n" + (1...count).map { "  - {name: f\($0), service: {mean: 0.1}}\n" }.joined()
    }

    @Test("Configurations of 1 to 16 stations load, station k keeping its name", arguments: [1, 3, 5, 16])
    func loads(count: Int) throws {
        let config = try ConfigLoader.parse(Self.document(stations: count))
        #expect(config.stations.count == count)
        #expect(config.stations.last?.name == "f\(count)")
    }

    @Test("An overloaded station deep in the chain is named")
    func overloadNamesStation() {
        let text = Self.document(stations: 4).replacingOccurrences(of: "f3, service: {mean: 0.1}",
                                                                   with: "f3, service: {mean: 3}")
        do {
            _ = try ConfigLoader.parse(text)
            Issue.record("an offered load of 1.5 at station 3 must be rejected")
        } catch {
            #expect("\(error)".hasPrefix("stations.3: offered load 1.5 >= 1 at f3"), "\(error)")
        }
    }
}
