// The two ways a station finds an instance slot (StationState: a scan of every slot
// for a few servers, a heap of busy slots and a stack of idle ones for many) must
// make the same dispatches: which slot is taken matters only through its free time.
// The hand-computed scenarios (DeterministicScenarioTests) run both as well; these
// runs add random service, cold starts that expire, ties and zero-length holds, with
// server counts on both sides of the default choice.

import Testing
@testable import Simulation

@Suite("Slot searches agree")
struct SlotSearchTests {
    typealias D = DeterministicScenario

    /// A station with every mechanism that meets the slot search: setup, batching,
    /// cold starts and a keep-alive short enough that idle instances are reclaimed.
    static func station(servers: Int, service: MomentSpec, keepAlive: Double) -> StationConfig {
        StationConfig(servers: servers, service: service, setup: 0.01, maxBatch: 3, timeout: 0.05,
                      coldStart: MomentSpec(mean: 0.5, scv: 2), keepAlive: keepAlive)
    }

    @Test("Random service, expiring cold starts: the same invocations", arguments: [1, 3, 17, 40, 200])
    func randomRuns(servers: Int) {
        // Station 1 near full load (all slots busy often), station 2 lightly loaded
        // (idle slots, reclaimed instances): both branches of the search every run.
        let service1 = MomentSpec(mean: 0.9 * Double(servers) / 4, scv: 2)
        let service2 = MomentSpec(mean: 0.3 * Double(servers) / 4, scv: 0.5)
        let config = TandemConfig(
            arrivalRate: 1, arrivalScv: 4, batch: .geometric(mean: 4),
            stations: [Self.station(servers: servers, service: service1, keepAlive: 2),
                       Self.station(servers: servers, service: service2, keepAlive: 0.5)],
            run: RunSettings(jobs: 20_000, replications: 1, seed: 11))
        let (scanOutcome, scan) = Simulator.trace(config, jobs: 20_000, splitSlots: false)
        let (splitOutcome, split) = Simulator.trace(config, jobs: 20_000, splitSlots: true)
        #expect(scanOutcome == .completed && splitOutcome == .completed)
        #expect(scan.invocations.contains { $0.cold } && scan.invocations.contains { !$0.cold },
                "the run should see cold and warm starts")
        D.expectSameDispatches(scan, split)
    }

    @Test("Deterministic service and zero-length holds: ties between slots", arguments: [2, 20])
    func ties(servers: Int) {
        // Every time a binary fraction: slots free at the same instants, and station 2
        // holds its instances for no time at all (no setup, no service, no cold start).
        let first = StationConfig(servers: servers, service: MomentSpec(mean: 0.75, scv: 0), maxBatch: 2,
                                  timeout: 0.25, coldStart: MomentSpec(mean: 0.5, scv: 0), keepAlive: 1)
        let second = StationConfig(servers: servers, service: MomentSpec(mean: 0, scv: 0), keepAlive: 0)
        let config = TandemConfig(arrivalRate: 2, arrivalScv: 0, batch: .deterministic(3), stations: [first, second],
                                  run: RunSettings(jobs: 2_000, replications: 1, seed: 3))
        let (_, scan) = Simulator.trace(config, jobs: 2_000, splitSlots: false)
        let (_, split) = Simulator.trace(config, jobs: 2_000, splitSlots: true)
        #expect(scan.departures.count == 2_000)
        D.expectSameDispatches(scan, split)
    }
}
