// Station-indexed sweep paths for any station count, and `duet plan`'s grid.
// The simulator may refuse some station counts; these tests stay at the level of
// specs, points and dataset columns.

import Testing
import Simulation
@testable import Search

@Suite("Station paths and plan grids")
struct StationPathTests {
    static func base(stations: Int) -> TandemConfig {
        TandemConfig(arrivalRate: 1, batch: .geometric(mean: 2), stations: (0..<stations).map { k in
            StationConfig(servers: 2, service: MomentSpec(mean: 0.2), setup: 0.01 * Double(k), maxBatch: k + 1)
        })
    }

    static func target(_ path: String, stations: Int) throws -> SweepTarget {
        try SweepTarget.parse(path, stations: stations).get()
    }

    @Test func aThreeStationBaseSweepsItsThirdStation() throws {
        let base = Self.base(stations: 3)
        let spec = SweepSpec(
            base: base,
            parameters: [
                SweepParameter(target: try Self.target("stations.3.servers", stations: 3), range: .int(1, 8)),
                SweepParameter(target: try Self.target("stations.3.load", stations: 3), range: .uniform(0.2, 0.6)),
                SweepParameter(target: try Self.target("stations.3.service.scv", stations: 3),
                               range: .uniform(0.3, 0.4)),
            ],
            design: SweepDesignSettings(method: .sobol, points: 8, seed: 1))
        #expect(spec.parameters.map(\.target.description)
                    == ["stations.3.servers", "stations.3.load", "stations.3.service.scv"])
        #expect(SweepSpec.combinationProblem(spec.parameters, base: base) == nil)
        let design = try spec.makeDesign()
        for index in 0..<design.points {
            let point = spec.point(index, of: design)
            #expect(point.problem == nil)
            let third = point.config.stations[2]
            #expect(third.servers == Int(point.values[0].number!))
            #expect(abs(point.config.offeredLoads[2] - point.values[1].number!) < 1e-12)
            #expect(third.service.scv == 1.0 / 3, "0.3 ... 0.4 is drawn as Erlang-3")
            #expect(Array(point.config.stations[0...1]) == Array(base.stations[0...1]))
            // The dataset row has the third station's columns.
            let cells = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names(of: point.config),
                                                             ConfigColumns.cells(of: point.config)))
            #expect(cells["stations.3.servers"] == String(third.servers))
            #expect(try ConfigColumns.config { cells[$0] }.stations[2].servers == third.servers)
        }
        #expect(spec.datasetHeader.contains("stations.3.load"))
        #expect(spec.datasetHeader == DatasetFile.header(stations: 3))
    }

    @Test func aStationBeyondTheBaseIsAnErrorNamingKeyAndCount() {
        #expect(throws: (any Error).self) { try Self.target("stations.3.servers", stations: 2) }
        switch SweepTarget.parse("stations.3.servers", stations: 2) {
        case .success: Issue.record("stations.3 of a two-station base")
        case .failure(let error):
            #expect(error.description == "no such station: the base configuration has 2 stations (stations 1 and 2)")
        }
        switch SweepTarget.parse("stations.2.load", stations: 1) {
        case .success: Issue.record("stations.2 of a one-station base")
        case .failure(let error):
            #expect(error.description == "no such station: the base configuration has 1 station (station 1)")
        }
        switch SweepTarget.parse("stations.9.timeout", stations: 4) {
        case .success: Issue.record("stations.9 of a four-station base")
        case .failure(let error):
            #expect(error.description == "no such station: the base configuration has 4 stations (stations 1 to 4)")
        }
        #expect(SweepTarget.allPaths(stations: 3).contains("stations.3.coldStart.mean"))
        #expect(!SweepTarget.allPaths(stations: 2).contains("stations.3.coldStart.mean"))
    }

    @Test func theGridAppliesEveryCombinationAsASweepWould() throws {
        let base = Self.base(stations: 3)
        let grid = try PlanGrid(base: base, axes: [
            try #require(PlanGrid.Axis(argument: "stations.3.servers=1..3")),
            try #require(PlanGrid.Axis(argument: "stations.1.load=0.2..0.6/3")),
            try #require(PlanGrid.Axis(argument: "batch.dist=geometric,deterministic")),
        ])
        #expect(grid.count == 18)
        #expect(grid.axes[1].values == ["0.2", "0.4", "0.6"])
        // The last axis changes fastest.
        #expect(grid.combination(0) == [0, 0, 0] && grid.combination(1) == [0, 0, 1])
        #expect(grid.combination(2) == [0, 1, 0] && grid.combination(17) == [2, 2, 1])
        let counters = grid.combination(15)
        #expect(grid.values(counters) == ["3", "0.4", "deterministic"])
        let point = grid.point(counters)
        #expect(point.problem == nil)
        #expect(point.config.stations[2].servers == 3)
        #expect(abs(point.config.offeredLoads[0] - 0.4) < 1e-12)
        #expect(point.config.batch == .deterministic(2))
    }

    @Test(arguments: [
        ("stations.3.servers=1..3", "--vary stations.3.servers: no such station: the base configuration has 2 stations (stations 1 and 2)"),
        ("stations.2.servrs=1..3", "--vary stations.2.servrs: unknown station key \"servrs\"; did you mean stations.2.servers?"),
        ("stations.2.servers=0..3", "--vary stations.2.servers (value 1): must be >= 1, got 0"),
        ("stations.2.maxBatch=1,2.5", "--vary stations.2.maxBatch (value 2): expected a whole number, got 2.5"),
        ("batch.dist=geometric,empirical",
         "--vary batch.dist (value 2): unknown value \"empirical\"; expected one of: deterministic, geometric, uniform"),
        ("arrival.onOff.meanOn=1,2",
         "--vary arrival.onOff.meanOn: the base has renewal arrivals, so there is no arrival.onOff.onFraction to keep; give the base arrival.onOff or vary arrival.onOff.onFraction too"),
    ])
    func gridErrorsNameTheFlag(argument: String, expected: String) throws {
        let axis = try #require(PlanGrid.Axis(argument: argument))
        let error = try #require(throws: ConfigError.self) { try PlanGrid(base: Self.base(stations: 2), axes: [axis]) }
        #expect(error.description == expected)
    }

    @Test func axesParseTheThreeForms() {
        #expect(PlanGrid.Axis(argument: "stations.2.servers=1..4")?.values == ["1", "2", "3", "4"])
        #expect(PlanGrid.Axis(argument: "arrival.scv=0.5..2/4")?.values == ["0.5", "1", "1.5", "2"])
        #expect(PlanGrid.Axis(argument: "stations.2.keepAlive=0, 10,inf")?.values == ["0", "10", "inf"])
        #expect(PlanGrid.Axis(argument: "stations.2.servers") == nil)
        #expect(PlanGrid.Axis(argument: "arrival.scv=2..1/4") == nil)
        #expect(PlanGrid.Axis(argument: "arrival.scv=0..1/1") == nil)
    }
}
