// Bad input cells of a dataset row: each is a DataFileError naming the row, the
// column, the text and what was expected, never a trap (`Int(nan)`, `Int(1e300)`).

import Foundation
import Testing
@testable import Simulation

@Suite("DatasetFile cells")
struct DatasetCellTests {
    static let config = TandemConfig(
        arrivalRate: 0.5, arrivalScv: 1, batch: .deterministic(2),
        stations: [
            StationConfig(servers: 2, service: MomentSpec(mean: 0.3)),
            StationConfig(servers: 4, service: MomentSpec(mean: 0.1, scv: 0.5), setup: 0.05, maxBatch: 4,
                          timeout: 0.2, coldStart: MomentSpec(mean: 0.5), keepAlive: 30),
        ])

    /// A two-row dataset of input columns; row 2 has `column` set to `text`.
    static func text(_ column: String, _ text: String) -> String {
        var bad = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names, ConfigColumns.cells(of: config)))
        bad[column] = text
        let good = ConfigColumns.cells(of: config).joined(separator: ",")
        let lines = [ConfigColumns.names.joined(separator: ","), good,
                     ConfigColumns.names.map { bad[$0]! }.joined(separator: ",")]
        return lines.joined(separator: "\n") + "\n"
    }

    static func table(_ column: String, _ text: String) throws -> DatasetTable {
        try DatasetTable.parse(Self.text(column, text), source: "cells.csv")
    }

    @Test func goodRowRebuilds() throws {
        let table = try Self.table("stations.1.servers", "3")
        #expect(try ConfigColumns.config(row: table.rows[0]) == ConfigColumns.datasetView(Self.config))
        let rebuilt = try ConfigColumns.config(row: table.rows[1])
        #expect(rebuilt.stations[0].servers == 3)
        #expect(rebuilt.batch == .deterministic(2))
        // Read straight from the bytes (as `duet serve` reads a CSV request), the same.
        let direct = try DatasetTable.configs(bytes: Array(Self.text("stations.1.servers", "3").utf8))
        #expect(direct.map(\.number) == [1, 2])
        #expect(try direct.map(\.config) == [ConfigColumns.datasetView(Self.config), rebuilt])
    }

    /// Blank lines are skipped and still counted, and a short row is named, on the
    /// byte path as on the table's.
    @Test func blankLinesAndShortRowsOnTheBytePath() throws {
        let lines = Self.text("stations.1.servers", "3").split(separator: "\n").map(String.init)
        let blank = Array(([lines[0], lines[1], "", lines[2]].joined(separator: "\n") + "\n").utf8)
        #expect(try DatasetTable.configs(bytes: blank).map(\.number) == [1, 3])
        #expect(try DatasetTable.parse(bytes: blank).rows.map(\.number) == [1, 3])
        let short = Array([lines[0], lines[1], "1,2"].joined(separator: "\n").utf8)
        let expected = DataFileError(source: "s.csv", row: 2,
                                     message: "has 2 cells, but the header has \(ConfigColumns.names.count) columns")
        #expect(throws: expected) { try DatasetTable.configs(bytes: short, source: "s.csv") }
        #expect(throws: expected) { try DatasetTable.parse(bytes: short, source: "s.csv") }
    }

    @Test(arguments: [
        // Whole-number columns: nan, empty, huge, infinite, fractional, below 1.
        ("stations.1.servers", "nan", "expected a whole number >= 1"),
        ("stations.1.servers", "", "expected a whole number >= 1"),
        ("stations.1.servers", "1e300", "expected a whole number >= 1"),
        ("stations.1.servers", "99999999999999999999", "expected a whole number >= 1"),
        ("stations.1.servers", "inf", "expected a whole number >= 1"),
        ("stations.1.servers", "-inf", "expected a whole number >= 1"),
        ("stations.1.servers", "2.5", "expected a whole number >= 1"),
        ("stations.1.servers", "0", "expected a whole number >= 1"),
        ("stations.2.maxBatch", "nan", "expected a whole number >= 1"),
        ("stations.2.maxBatch", "1e300", "expected a whole number >= 1"),
        ("stations.2.maxBatch", "99999999999999999999", "expected a whole number >= 1"),
        // A deterministic batch's mean is its size.
        ("batch.mean", "nan", "expected a number"),
        ("batch.mean", "1e300", "expected a whole number >= 1"),
        ("batch.mean", "inf", "expected a finite number >= 1"),
        ("batch.mean", "0.5", "expected a finite number >= 1"),
        // Real-valued columns.
        ("arrival.rate", "nan", "expected a number"),
        ("arrival.rate", "", "expected a number, got an empty cell"),
        ("stations.2.service.mean", "abc", "expected a number"),
        ("stations.1.keepAlive", "NaN", "expected a number"),
        ("batch.dist", "poisson", "unknown distribution"),
    ])
    func badCellIsNamed(column: String, text: String, expected: String) throws {
        let table = try Self.table(column, text)
        let error = try #require(throws: DataFileError.self) { try ConfigColumns.config(row: table.rows[1]) }
        #expect(error.source == "cells.csv")
        #expect(error.row == 2)
        #expect(error.column == column)
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.message.contains(text.isEmpty ? "an empty cell" : "\"\(text)\""), "\(error)")
        #expect(error.description.hasPrefix("cells.csv: row 2 (line 3), column \(column): "))
        // Read straight from the bytes, the same error.
        #expect(throws: error) { try DatasetTable.configs(bytes: Array(Self.text(column, text).utf8), source: "cells.csv") }
    }

    @Test func geometricBatchMeanIsChecked() throws {
        var cells = Dictionary(uniqueKeysWithValues: zip(ConfigColumns.names, ConfigColumns.cells(of: Self.config)))
        cells["batch.dist"] = "geometric"
        cells["batch.mean"] = "2.5"
        #expect(try ConfigColumns.config { cells[$0] }.batch == .geometric(mean: 2.5))
        cells["batch.mean"] = "-1e300"
        let error = try #require(throws: ConfigError.self) { try ConfigColumns.config { cells[$0] } }
        #expect(error.path == "batch.mean")
        #expect(error.message.contains("\"-1e300\""))
    }
}
