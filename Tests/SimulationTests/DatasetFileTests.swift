// The dataset CSV: its header, a write-read round trip, and errors that name the
// row and column of a bad cell.

import Foundation
import Testing
@testable import Simulation

@Suite("DatasetFile")
struct DatasetFileTests {
    static let config: TandemConfig = {
        var config = TandemConfig(
            arrivalRate: 0.5, arrivalScv: 1, batch: .geometric(mean: 2),
            stations: [
                StationConfig(servers: 2, service: MomentSpec(mean: 0.3)),
                StationConfig(servers: 4, service: MomentSpec(mean: 0.1, scv: 0.5), setup: 0.05, maxBatch: 4,
                              timeout: 0.2, coldStart: MomentSpec(mean: 0.5), keepAlive: 30),
            ],
            run: RunSettings(jobs: 2_000, replications: 2, seed: 18_446_744_073_709_551_615, threads: 1))
        return config
    }()

    final class Scratch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("duet-dataset-\(UUID()).csv").path
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func header() {
        let header = DatasetFile.header
        #expect(header.first == "point")
        #expect(Array(header[1...ConfigColumns.names.count]) == ConfigColumns.names)
        let metricsStart = 1 + ConfigColumns.names.count + DatasetFile.runColumns.count
        #expect(Array(header[metricsStart..<(metricsStart + MetricCatalog.names.count)]) == MetricCatalog.names)
        #expect(header.last == "stations.2.instanceSecondsPerJob.ci95")
        #expect(header.count == 1 + ConfigColumns.names.count + 5 + 2 * MetricCatalog.names.count)
    }

    @Test("A chain of three stations: the header names its third station's inputs and metrics, and rows match it")
    func threeStationRows() throws {
        var config = Self.config
        config.stations.append(StationConfig(name: "third", servers: 3, service: MomentSpec(mean: 0.2)))
        let header = DatasetFile.header(stations: 3)
        for column in ["stations.3.servers", "stations.3.load", "stations.3.meanResponse",
                       "stations.3.instanceSecondsPerJob.ci95"] {
            #expect(header.contains(column), "\(column)")
        }
        #expect(!header.contains("stations.4.servers"))
        let report = Simulator.simulate(config)
        #expect(report.stable)
        let row = DatasetFile.row(point: 0, config: config, report: report)
        #expect(row.count == header.count)
        let cells = Dictionary(uniqueKeysWithValues: zip(header, row))
        // The third station's response is what the report says of station 3.
        let cell = try #require(cells["stations.3.meanResponse"])
        let third = try #require(Double(cell))
        let reported = try #require(report.estimate("stations.3.meanResponse")?.mean)
        #expect(abs(third - reported) <= 1e-12 * reported)
        #expect(DatasetFile.invalidRow(point: 1, config: config, reason: "x").count == header.count)
        var unstable = report
        unstable.stable = false
        #expect(DatasetFile.row(point: 2, config: config, report: unstable).count == header.count)
    }

    @Test func roundTrip() throws {
        let scratch = Scratch()
        let report = Simulator.simulate(Self.config)
        #expect(report.stable)
        let reason = "stations.2.load 0.01 cannot be reached: setup alone (0.05 s, \"quoted\") gives 0.02"
        let writer = try DatasetWriter(creating: scratch.path, header: DatasetFile.header)
        try writer.append(DatasetFile.row(point: 0, config: Self.config, report: report))
        try writer.append(DatasetFile.invalidRow(point: 1, config: Self.config, reason: reason))
        try writer.close()
        // One more row through a writer that appends.
        let appender = try DatasetWriter(appendingTo: scratch.path)
        var unstable = report
        unstable.stable = false
        unstable.unstableReason = "replication 1: queue grew"
        try appender.append(DatasetFile.row(point: 2, config: Self.config, report: unstable))
        try appender.close()

        let table = try DatasetTable.read(path: scratch.path)
        #expect(table.header == DatasetFile.header)
        #expect(table.rows.count == 3)
        let row = table.rows[0]
        #expect(try row.int("point") == 0)
        #expect(row["seed"] == "18446744073709551615")
        #expect(try row.bool("stable"))
        #expect(try row.string("error") == "")
        #expect(try row.int("jobs") == 4_000 && row.int("replications") == 2)
        #expect(try row.double("arrival.rate") == 0.5)
        #expect(try row.string("batch.dist") == "geometric")
        #expect(try row.double("stations.2.keepAlive") == 30)
        #expect(try row.double("stations.2.load") == Self.config.offeredLoads[1])
        // Metrics round-trip exactly (shortest round-tripping text).
        for (index, name) in MetricCatalog.names.enumerated() {
            #expect(try row.double(name) == report.estimates[index].mean)
            #expect(try row.double(DatasetFile.halfWidthColumn(name)) == report.estimates[index].ci95)
        }

        let invalid = table.rows[1]
        #expect(try !invalid.bool("stable"))
        #expect(try invalid.string("error") == reason)
        #expect(try invalid.doubleIfPresent("meanResponse") == nil)
        #expect(try invalid.int("jobs") == 0)
        #expect(try table.rows[2].string("error") == "replication 1: queue grew")
        #expect(table.rows[2]["p99Response.ci95"] == "")
    }

    @Test func infiniteKeepAliveIsWrittenAsInf() throws {
        var config = Self.config
        config.stations[1].keepAlive = .infinity
        let cells = DatasetFile.invalidRow(point: 0, config: config, reason: "x")
        let text = DatasetFile.header.joined(separator: ",") + "\n" + cells.joined(separator: ",") + "\n"
        let row = try DatasetTable.parse(text).rows[0]
        #expect(row["stations.2.keepAlive"] == "inf")
        #expect(try row.double("stations.2.keepAlive") == .infinity)
    }

    @Test func badCellsAreNamedByRowAndColumn() throws {
        let text = "point,meanResponse,stable\n0,1.5,true\n1,abc,false\n2,,true\n"
        let table = try DatasetTable.parse(text, source: "data.csv")
        #expect(try table.rows[0].double("meanResponse") == 1.5)
        #expect(throws: DataFileError(source: "data.csv", row: 2, column: "meanResponse",
                                     message: "expected a number, got \"abc\"")) {
            try table.doubles("meanResponse")
        }
        #expect("\(DataFileError(source: "data.csv", row: 2, column: "meanResponse", message: "expected a number, got \"abc\""))"
                    == "data.csv: row 2 (line 3), column meanResponse: expected a number, got \"abc\"")
        #expect(throws: DataFileError(source: "data.csv", row: 3, column: "meanResponse",
                                     message: "expected a number, got an empty cell")) {
            try table.rows[2].double("meanResponse")
        }
        #expect(throws: DataFileError(source: "data.csv", row: 1, column: "meanRespons",
                                     message: "no such column in the header")) {
            try table.rows[0].double("meanRespons")
        }
        #expect(throws: DataFileError(source: "data.csv", row: 2, column: "point",
                                     message: "expected true or false, got \"1\"")) {
            try table.rows[1].bool("point")
        }
    }

    @Test func rowsMustMatchTheHeader() {
        #expect(throws: DataFileError(source: "d.csv", row: 2, message: "has 2 cells, but the header has 3 columns")) {
            try DatasetTable.parse("a,b,c\n1,2,3\n4,5\n", source: "d.csv")
        }
        #expect(throws: DataFileError(source: "d.csv", message: "the file is empty; expected a header row")) {
            try DatasetTable.parse("", source: "d.csv")
        }
    }

    /// Plain text is split by Duet itself, anything else by CSV.swift: both must read
    /// the same table. Each text's quoted form is split by Duet too, its CRLF form by
    /// CSV.swift.
    @Test(arguments: ["a,b,c\n1,2,3\n4,,6\n", "a,b,c\n1,2,3\n\n4,5,\n", "a,b\n1,2", "a,b,c\n,,\n7,8,9"])
    func plainAndQuotedTextReadAlike(_ plain: String) throws {
        let quoted = plain.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.isEmpty ? "" : line.split(separator: ",", omittingEmptySubsequences: false).map { "\"\($0)\"" }
                .joined(separator: ",")
        }.joined(separator: "\n")
        let crlf = plain.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(isPlain(plain) && isPlain(quoted))
        #expect(!isPlain(crlf))
        let expected = try DatasetTable.parse(plain)
        for other in [quoted, crlf] {
            let table = try DatasetTable.parse(other)
            #expect(table.header == expected.header)
            #expect(table.rows.map(\.cells) == expected.rows.map(\.cells))
            #expect(table.rows.map(\.number) == expected.rows.map(\.number))
        }
    }

    private func isPlain(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBufferPointer { DatasetTable.plainLines($0) != nil }
    }

    /// Quoted cells as `duet sweep` writes an unstable point's reason, and the cases
    /// around them: Duet's own split must read what CSV.swift reads, cell for cell
    /// (the cells are written by hand below, so a reader that agrees with the other
    /// only by sharing its mistake still fails).
    @Test(arguments: [
        ("a,b\n1,\"x, y\"\n", [["1", "x, y"]]),
        ("a,b\n\"say \"\"hi\"\"\",2\n", [["say \"hi\"", "2"]]),
        ("a,b\n\"\",\"\"\"\"\n", [["", "\""]]),
        ("a,b\n\"two\nlines\",3\n4,5", [["two\nlines", "3"], ["4", "5"]]),
        ("a,b\n1,\"2\"", [["1", "2"]]),
        ("a,b\n\"1.5\",\"inf\"\n", [["1.5", "inf"]]),
        ("a,b,c\n1,\"station 2: grew (x4.42, then x2.1)\",3\n\n6,7,8\n", [["1", "station 2: grew (x4.42, then x2.1)", "3"], ["6", "7", "8"]]),
    ])
    func quotedCellsReadAsCSVSwiftReadsThem(_ text: String, _ rows: [[String]]) throws {
        #expect(isPlain(text))
        let table = try DatasetTable.parse(text)
        let reference = try DatasetTable.parseWithCSVReader(bytes: Array(text.utf8), source: "dataset")
        #expect(table.rows.map(\.cells) == rows)
        #expect(reference.rows.map(\.cells) == rows)
        #expect(table.rows.map(\.number) == reference.rows.map(\.number))
    }

    /// Quotes that do not enclose a whole cell are left to CSV.swift, which decides
    /// what they mean (or refuses them) as it always has.
    @Test(arguments: ["a,b\n1,x\"y\n", "a,b\n1,\"open\n", "a,b\n1,\"x\"y\n", "a,b\n1, \"x\"\n"])
    func quotesInsideCellsAreNotPlain(_ text: String) {
        #expect(!isPlain(text))
    }

    /// A number in a quoted cell is read from the bytes between the quotes, as
    /// `Double(String)` reads its text; a cell with a doubled quote is text.
    @Test func numbersInQuotedCellsAreDoubleOfText() {
        for cell in ["0.1", "-0", "1e400", "inf", "nan", "1.", " 1", "1 ", "", "abc", "0x1p3", "1\"\"2"] {
            let text = "a,b\n\"\(cell)\",\"\(cell)\""
            let numbers = dataRowNumbers(text) { [$0.number(at: 0), $0.number(at: 1)] }
            let expected = Double(cell.replacingOccurrences(of: "\"\"", with: "\""))
            #expect(numbers?.count == 2, "\(text.debugDescription) is plain")
            for number in numbers ?? [] {
                #expect(number?.bitPattern == expected?.bitPattern, "\(cell.debugDescription) in \(text.debugDescription)")
            }
        }
    }

    /// The numbers `pick` reads from each data row of plain `text`, split by Duet
    /// (nil when the text is not plain).
    private func dataRowNumbers(_ text: String, _ pick: (PlainCSVRow) -> [Double?]) -> [Double?]? {
        Array(text.utf8).withUnsafeBufferPointer { buffer in
            guard let plain = PlainCSV(buffer) else { return nil }
            var numbers: [Double?] = []
            var header = true
            plain.forEachLine { row in
                defer { header = false }
                if !header { numbers += pick(row) }
            }
            return numbers
        }
    }

    /// A cell's number read from the request's bytes is `Double(String)`'s, bit for bit,
    /// for cells anywhere in a line and at the very end of the text (where `strtod`
    /// must not read on), including the forms `strtod` reads differently or partly.
    @Test func numbersReadFromBytesAreDoubleOfText() {
        let cells = ["0.1", "12", "-0", "1e400", "-1e400", "1e-400", "+1", "1.", "-.5", ".5", "1e", "e5", "1e+5",
                     "00012", "4.9e-324", "0x1p3", "inf", "-inf", "infinity", "nan", "NaN", "1..2", "1-2", "+-1",
                     " 1", "1 ", "\t2", "", ".", "-", "0.30000000000000004", "123456789012345678901234567890",
                     "2.2250738585072011e-308", "1.7976931348623157e308", "abc"]
        for cell in cells {
            for text in ["a,b,c\n\(cell),x,\(cell)\n", "a,b\n1,\(cell)"] {
                let numbers = dataRowNumbers(text) { row in
                    row.count == 3 ? [row.number(at: 0), row.number(at: 2)] : [row.number(at: 1)]
                }
                let expected = Double(cell)
                #expect(!(numbers ?? []).isEmpty, "\(text.debugDescription) is plain")
                for number in numbers ?? [] {
                    #expect(number?.bitPattern == expected?.bitPattern, "\(cell.debugDescription) in \(text.debugDescription)")
                }
            }
        }
    }

    @Test func aRowOfTheWrongLengthIsNamedOnEitherPath() {
        for text in ["a,b,c\n1,2,3\n4,5\n", "a,b,c\n1,2,3\n\"4\",5\n", "a,b,c\r\n1,2,3\r\n4,5\r\n"] {
            #expect(throws: DataFileError(source: "d.csv", row: 2, message: "has 2 cells, but the header has 3 columns")) {
                try DatasetTable.parse(text, source: "d.csv")
            }
        }
    }

    @Test func anIncompleteLastLineIsDropped() throws {
        let scratch = Scratch()
        try "a,b\n1,2\n3,".write(toFile: scratch.path, atomically: true, encoding: .utf8)
        #expect(try DatasetWriter.dropIncompleteLastLine(path: scratch.path))
        #expect(try String(contentsOfFile: scratch.path, encoding: .utf8) == "a,b\n1,2\n")
        #expect(try !DatasetWriter.dropIncompleteLastLine(path: scratch.path))
    }
}
