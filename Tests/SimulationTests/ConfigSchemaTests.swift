// The configuration table (`ConfigSchema`) and what derives from it: dataset
// columns for any number of stations, byte-identical for two.

import Testing
@testable import Simulation

@Suite("Configuration table")
struct ConfigSchemaTests {
    static func station(_ k: Int) -> StationConfig {
        StationConfig(name: "s\(k)", servers: k + 1, service: MomentSpec(mean: 0.1 * Double(k + 1), scv: 0.5),
                      setup: 0.01 * Double(k), maxBatch: 2 * k + 1, timeout: 0.05 * Double(k),
                      coldStart: MomentSpec(mean: 0.2 * Double(k), scv: 2), keepAlive: k == 1 ? .infinity : 30)
    }

    static func config(stations: Int, onOff: OnOffSpec? = nil) -> TandemConfig {
        TandemConfig(arrivalRate: 0.8, arrivalScv: onOff == nil ? 2 : 1, onOff: onOff, batch: .uniform(mean: 2.5),
                     stations: (0..<stations).map(station))
    }

    /// The columns of a two-station dataset (`arrival.rateMultiplier` came last, so
    /// older datasets lack it and read as 1).
    static let twoStationColumns = [
        "arrival.rate", "arrival.scv", "arrival.onFraction", "arrival.meanOn", "arrival.rateMultiplier", "batch.dist", "batch.mean", "batch.scv",
    ] + (1...2).flatMap { k in
        ["servers", "service.mean", "service.scv", "setup", "maxBatch", "timeout", "coldStart.mean",
         "coldStart.scv", "keepAlive", "load"].map { "stations.\(k).\($0)" }
    }

    @Test func twoStationColumnsAreUnchanged() {
        #expect(ConfigColumns.names == Self.twoStationColumns)
        #expect(ConfigColumns.names(stations: 2) == Self.twoStationColumns)
        #expect(ConfigColumns.optionalNames == ["arrival.onFraction", "arrival.meanOn", "arrival.rateMultiplier"])
        let config = Self.config(stations: 2)
        let derived = ([config.batch.scv] + config.offeredLoads).map(ConfigColumns.format)
        #expect(ConfigColumns.cells(of: config) == [
            "0.8", "2", "1", "0", "1", "uniform", "2.5", derived[0],
            "1", "0.1", "0.5", "0", "1", "0", "0", "2", "30", derived[1],
            "2", "0.2", "0.5", "0.01", "3", "0.05", "0.2", "2", "inf", derived[2],
        ])
    }

    @Test(arguments: [1, 3, 5])
    func columnsFollowTheStationCount(stations: Int) {
        let names = ConfigColumns.names(stations: stations)
        #expect(names.count == 8 + 10 * stations)
        #expect(names.last == "stations.\(stations).load")
        #expect(ConfigColumns.cells(of: Self.config(stations: stations)).count == names.count)
        // Each station adds its 10 input columns and each of its metrics with a half-width.
        #expect(DatasetFile.header(stations: stations).count
                    == DatasetFile.header.count + (10 + 2 * MetricCatalog.stationMetrics.count) * (stations - 2))
    }

    @Test(arguments: [nil, OnOffSpec(onFraction: 0.4, meanOn: 3)])
    func threeStationsRoundTripThroughColumns(onOff: OnOffSpec?) throws {
        let config = Self.config(stations: 3, onOff: onOff)
        let cells = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names(of: config), ConfigColumns.cells(of: config)))
        let rebuilt = try ConfigColumns.config { cells[$0] }
        #expect(rebuilt.stations.count == 3)
        // Names are labels, not columns.
        var unnamed = config
        for k in unnamed.stations.indices { unnamed.stations[k].name = nil }
        #expect(rebuilt.stations == unnamed.stations)
        #expect(rebuilt.onOff == config.onOff && rebuilt.batch == config.batch)
        #expect(rebuilt.arrivalRate == config.arrivalRate && rebuilt.arrivalScv == config.arrivalScv)
        #expect(ConfigColumns.cells(of: rebuilt) == ConfigColumns.cells(of: config))
        // Through a CSV file, too.
        let text = (["point"] + ConfigColumns.names(of: config)).joined(separator: ",") + "\n"
            + (["0"] + ConfigColumns.cells(of: config)).joined(separator: ",") + "\n"
        let table = try DatasetTable.parse(text, source: "three.csv")
        #expect(try ConfigColumns.config(row: table.rows[0]).stations == unnamed.stations)
    }

    @Test func aStationWithSomeColumnsMustHaveAll() throws {
        let config = Self.config(stations: 3)
        var cells = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names(of: config), ConfigColumns.cells(of: config)))
        cells["stations.3.timeout"] = nil
        let error = try #require(throws: ConfigError.self) { try ConfigColumns.config { cells[$0] } }
        #expect(error == ConfigError(path: "stations.3.timeout", message: "no such column in the dataset"))
        // Without any column of station 1 the row has no stations: an error, too.
        let none = try #require(throws: ConfigError.self) {
            try ConfigColumns.config { $0.hasPrefix("stations.") ? nil : cells[$0] }
        }
        #expect(none.path == "stations.1.servers")
    }

    @Test func stationKeysOfFilesComeFromTheTable() {
        #expect(ConfigSchema.stationFileKeys
                    == ["name", "servers", "service", "setup", "maxBatch", "timeout", "coldStart", "keepAlive"])
        #expect(ConfigLoader.onOffKeys == ["onFraction", "meanOn"])
        #expect(ConfigLoader.batchDists == ["deterministic", "geometric", "uniform", "empirical"])
    }

    @Test func fieldsReadAndWriteAnyStation() {
        var config = Self.config(stations: 4)
        ConfigSchema.servers.setValue(.whole(9), in: &config, station: 3)
        #expect(config.stations[3].servers == 9)
        #expect(ConfigSchema.servers.value(in: config, station: 3) == .whole(9))
        #expect(ConfigSchema.servers.path(station: 3) == "stations.4.servers")
        #expect(ConfigSchema.coldStartMean.columnName(station: 0) == "stations.1.coldStart.mean")
        #expect(ConfigSchema.arrivalOnFraction.columnName(station: nil) == "arrival.onFraction")
        #expect(!ConfigSchema.load.setValue(.real(0.5), in: &config, station: 0), "derived: set by sweeps")
    }
}
