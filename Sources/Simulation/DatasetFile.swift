// The dataset CSV of MODEL.md: one row per simulated configuration.
//
// Columns, in order: `point` (the design index), the input columns of
// `ConfigColumns.names(stations:)`, then `seed`, `jobs` (all replications together),
// `replications`, `stable`, `error` (why a point is unstable or invalid, else
// empty), then every metric of `MetricCatalog.names(stations:)` (the per-station
// ones for each station) and then every metric's 95% half-width as `<metric>.ci95`. Unstable and invalid points have empty metric cells.
//
// Every row ends with a newline and is written with one write(2), so a file cut
// short by a crash holds complete rows plus at most one unterminated line, which
// `DatasetWriter.dropIncompleteLastLine(path:)` removes. Quoting is CSV.swift's.

import CSV
import Foundation

public enum DatasetFile {
    /// Columns between the inputs and the metrics.
    public static let runColumns = ["seed", "jobs", "replications", "stable", "error"]

    /// The 95% half-width column of a metric: `meanResponse.ci95`.
    public static func halfWidthColumn(_ metric: String) -> String { metric + ".ci95" }

    /// The full header of a dataset over configurations of `stations` stations: the
    /// input columns and the per-station metrics are those stations'.
    public static func header(stations: Int) -> [String] {
        let metrics = MetricCatalog.names(stations: stations)
        return ["point"] + ConfigColumns.names(stations: stations) + runColumns + metrics + metrics.map(halfWidthColumn)
    }

    /// The full header of a two-station dataset.
    public static let header: [String] = header(stations: 2)

    /// The row of a simulated point (stable or not). `config` is the configuration
    /// that was simulated; its `run.seed` is recorded as `seed`.
    public static func row(point: Int, config: TandemConfig, report: SimulationReport) -> [String] {
        var cells = [String(point)] + ConfigColumns.cells(of: config)
        cells += [String(config.run.seed), String(report.jobs), String(report.replications), String(report.stable)]
        if report.stable {
            cells.append("")
            cells += report.estimates.map { ConfigColumns.format($0.mean) }
            cells += report.estimates.map { $0.ci95.map(ConfigColumns.format) ?? "" }
        } else {
            cells.append(report.unstableReason ?? "the queue grows without bound")
            cells += Array(repeating: "", count: 2 * MetricCatalog.names(stations: config.stations.count).count)
        }
        return cells
    }

    /// The row of a point that was not simulated: `reason` says why (for example a
    /// derived service mean <= 0, or an offered load >= 1 found up front).
    public static func invalidRow(point: Int, config: TandemConfig, reason: String) -> [String] {
        [String(point)] + ConfigColumns.cells(of: config)
            + [String(config.run.seed), "0", "0", "false", reason]
            + Array(repeating: "", count: 2 * MetricCatalog.names(stations: config.stations.count).count)
    }
}

/// Appends rows to a dataset file, each written to the file as soon as it is given.
public final class DatasetWriter {
    public let path: String
    private var handle: FileHandle?

    /// Creates (or truncates) the file and writes the header.
    public init(creating path: String, header: [String]) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw DataFileError(source: path, message: "cannot create the file (missing directory or no permission)")
        }
        handle = try Self.open(path)
        try append(header)
    }

    /// Opens an existing file to append rows after its last line.
    public init(appendingTo path: String) throws {
        self.path = path
        handle = try Self.open(path)
        do {
            try handle?.seekToEnd()
        } catch {
            throw DataFileError(source: path, message: "cannot append to the file: \(error.localizedDescription)")
        }
    }

    deinit { try? handle?.close() }

    private static func open(_ path: String) throws -> FileHandle {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw DataFileError(source: path, message: "cannot open the file for writing")
        }
        return handle
    }

    /// Writes one row (quoted as needed) and its newline with a single write.
    public func append(_ cells: [String]) throws {
        guard let handle else { throw DataFileError(source: path, message: "the file is closed") }
        var data = try Self.encode(cells)
        data.append(0x0A)
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw DataFileError(source: path, message: "cannot write a row: \(error.localizedDescription)")
        }
    }

    /// Flushes to disk and closes; later appends fail.
    public func close() throws {
        guard let handle else { return }
        self.handle = nil
        try? handle.synchronize()
        try handle.close()
    }

    /// One CSV line without its newline.
    static func encode(_ cells: [String]) throws -> Data {
        let stream = OutputStream(toMemory: ())
        let writer = try CSVWriter(stream: stream)
        try writer.write(row: cells)
        stream.close()
        guard let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data else {
            throw DataFileError(source: "dataset", message: "cannot encode a CSV row")
        }
        return data
    }

    /// Cuts an unterminated last line (a row cut short by a crash) off the file.
    /// Returns whether there was one.
    @discardableResult
    public static func dropIncompleteLastLine(path: String) throws -> Bool {
        guard let handle = FileHandle(forUpdatingAtPath: path) else {
            throw DataFileError(source: path, message: "cannot open the file to check its last line")
        }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        guard size > 0 else { return false }
        // Read backwards in blocks until a newline is found.
        var end = size
        let block: UInt64 = 4096
        while end > 0 {
            let start = end > block ? end - block : 0
            try handle.seek(toOffset: start)
            let data = try handle.read(upToCount: Int(end - start)) ?? Data()
            if end == size, data.last == 0x0A { return false }
            if let newline = data.lastIndex(of: 0x0A) {
                try handle.truncate(atOffset: start + UInt64(newline - data.startIndex) + 1)
                return true
            }
            end = start
        }
        try handle.truncate(atOffset: 0)
        return true
    }
}

/// A dataset read back: the header and its rows.
public struct DatasetTable: Sendable {
    /// The file name, for messages.
    public let source: String
    public let header: [String]
    public let rows: [DatasetRow]
    private let columns: DatasetColumns

    /// Reads a dataset CSV. Every row must have as many cells as the header.
    public static func read(path: String) throws -> DatasetTable {
        try parse(bytes: contents(path: path), source: path)
    }

    /// `configs(bytes:source:)` of the file at `path`: its rows' configurations without
    /// the table of text cells (a large file's table is several times its size).
    public static func configs(path: String) throws -> [(number: Int, config: TandemConfig)] {
        try configs(bytes: contents(path: path), source: path)
    }

    private static func contents(path: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataFileError(source: path, message: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataFileError(source: path, message: "cannot read the file")
        }
        return data
    }

    /// Parses dataset text (tests, pipes). `source` names it in messages.
    public static func parse(_ text: String, source: String = "dataset") throws -> DatasetTable {
        try parse(bytes: text.utf8, source: source)
    }

    /// Parses dataset bytes (a request body, a file's contents).
    public static func parse(bytes: some Collection<UInt8>, source: String = "dataset") throws -> DatasetTable {
        let plain = bytes.withContiguousStorageIfAvailable { plainLines($0) } ?? Array(bytes).withUnsafeBufferPointer { plainLines($0) }
        if let plain {
            var lines = plain.makeIterator()
            return try table(source: source, header: lines.next(), next: { lines.next() }, error: { nil })
        }
        return try parseWithCSVReader(bytes: bytes, source: source)
    }

    /// `parse(bytes:source:)` by CSV.swift's reader, whatever the text (tests compare
    /// the two paths on plain text).
    static func parseWithCSVReader(bytes: some Collection<UInt8>, source: String) throws -> DatasetTable {
        // Read whole: CSV.swift's reader over a file stream flags an error at the end
        // of every file on Linux (the stream reports bytes available at EOF).
        let reader: CSVReader
        do {
            reader = try CSVReader(stream: InputStream(data: Data(bytes)), hasHeaderRow: true)
        } catch CSVError.cannotReadHeaderRow {
            throw DataFileError(source: source, message: "the file is empty; expected a header row")
        } catch {
            throw DataFileError(source: source, message: "cannot read the file: \(error)")
        }
        return try table(source: source, header: reader.headerRow, next: { reader.next() },
                         error: { reader.error.map { "\($0)" } })
    }

    /// The cells of plain text (`PlainCSV`), nil for other text, which CSV.swift's
    /// reader takes (CRLF, a byte-order mark, UTF-8, quotes inside a cell that is not
    /// quoted): it is tens of times slower.
    static func plainLines(_ bytes: UnsafeBufferPointer<UInt8>) -> [[String]]? {
        guard let plain = PlainCSV(bytes) else { return nil }
        var lines: [[String]] = []
        plain.forEachLine { row in lines.append(row.bounds.indices.map(row.text(at:))) }
        return lines
    }

    /// A table from a header and rows however they were split; `error` is the
    /// reader's complaint, if any, once the rows run out.
    private static func table(source: String, header: [String]?, next: () -> [String]?,
                              error: () -> String?) throws -> DatasetTable {
        guard let header, !header.isEmpty else {
            throw DataFileError(source: source, message: "the file is empty; expected a header row")
        }
        let columns = try DatasetColumns(header: header, source: source)
        var rows: [DatasetRow] = []
        var number = 0
        while let cells = next() {
            number += 1
            guard try isRow(cells: cells.count, firstIsEmpty: cells.first?.isEmpty ?? true, header: header,
                            number: number, source: source)
            else { continue }
            rows.append(DatasetRow(source: source, number: number, cells: cells, columns: columns))
        }
        if let error = error() {
            throw DataFileError(source: source, row: number + 1, message: "cannot be read: \(error)")
        }
        return DatasetTable(source: source, header: header, rows: rows, columns: columns)
    }

    /// Whether line `number` is a row: false for a blank line (one empty cell), which
    /// is skipped; throws when its cells do not match the header's columns.
    private static func isRow(cells: Int, firstIsEmpty: Bool, header: [String], number: Int,
                              source: String) throws -> Bool {
        if cells == 1, firstIsEmpty, header.count > 1 { return false }
        guard cells == header.count else {
            throw DataFileError(source: source, row: number,
                               message: "has \(cells) cells, but the header has \(header.count) columns")
        }
        return true
    }

    /// The configurations of a dataset's rows (a request body, a file's contents),
    /// with their row numbers; a bad cell is a `DataFileError` naming the row and
    /// column. The table of `parse(bytes:source:)` read by `ConfigColumns.config(row:)`,
    /// but plain text is read straight from its bytes, with no cell made into text
    /// unless it must be (a batch family's name, a bad cell).
    public static func configs(bytes: some Collection<UInt8>, source: String = "dataset") throws
        -> [(number: Int, config: TandemConfig)]
    {
        let plain = try bytes.withContiguousStorageIfAvailable { try plainConfigs($0, source: source) }
            ?? Array(bytes).withUnsafeBufferPointer { try plainConfigs($0, source: source) }
        if let plain { return plain }
        return try parse(bytes: bytes, source: source).rows.map { ($0.number, try ConfigColumns.config(row: $0)) }
    }

    private static func plainConfigs(_ bytes: UnsafeBufferPointer<UInt8>, source: String) throws
        -> [(number: Int, config: TandemConfig)]?
    {
        guard let plain = PlainCSV(bytes) else { return nil }
        var header: [String]?
        var layout: ConfigColumns.Layout?
        var configs: [(number: Int, config: TandemConfig)] = []
        var number = 0
        try plain.forEachLine { row in
            guard let header, let layout else {
                let names = row.bounds.indices.map(row.text(at:))
                let columns = try DatasetColumns(header: names, source: source)
                (header, layout) = (names, columns.configLayout)
                return
            }
            number += 1
            guard try isRow(cells: row.count, firstIsEmpty: row.isEmpty(at: 0), header: header, number: number,
                            source: source)
            else { return }
            configs.append((number, try ConfigColumns.config(cells: row, layout: layout, source: source, row: number)))
        }
        return configs
    }

    /// Position of a column, nil when the header lacks it.
    public func index(of column: String) -> Int? { columns.positions[column] }

    /// Throws unless the header has every one of `names`.
    public func requireColumns(_ names: [String]) throws {
        for name in names where columns.positions[name] == nil {
            throw DataFileError(source: source, column: name, message: "no such column in the header")
        }
    }

    /// A whole column as numbers; the first bad cell is named by row and column.
    public func doubles(_ column: String) throws -> [Double] {
        try requireColumns([column])
        return try rows.map { try $0.double(column) }
    }
}

/// A header's column positions, shared by the rows of a table.
final class DatasetColumns: Sendable {
    let positions: [String: Int]
    /// Where a configuration's input columns sit, found once for all rows.
    let configLayout: ConfigColumns.Layout

    /// Throws when the header names a column twice.
    init(header: [String], source: String) throws {
        var positions: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            if positions[name] != nil {
                throw DataFileError(source: source, column: name, message: "the header names this column twice")
            }
            positions[name] = index
        }
        self.positions = positions
        configLayout = ConfigColumns.Layout { positions[$0] }
    }
}

/// One row of a dataset, with typed, named access to its cells.
public struct DatasetRow: Sendable {
    public let source: String
    /// 1-based data row (the header is row 0).
    public let number: Int
    public let cells: [String]
    let columns: DatasetColumns

    init(source: String, number: Int, cells: [String], columns: DatasetColumns) {
        self.source = source
        self.number = number
        self.cells = cells
        self.columns = columns
    }

    /// The cell of `column`, nil when the header has no such column.
    public subscript(column: String) -> String? {
        columns.positions[column].map { cells[$0] }
    }

    private func error(_ column: String, _ message: String) -> DataFileError {
        DataFileError(source: source, row: number, column: column, message: message)
    }

    /// The cell's text; throws when the column does not exist.
    public func string(_ column: String) throws -> String {
        guard let text = self[column] else { throw error(column, "no such column in the header") }
        return text
    }

    /// A number (`inf` and `nan` included); throws for empty or non-numeric cells.
    public func double(_ column: String) throws -> Double {
        guard let value = try doubleIfPresent(column) else { throw error(column, "expected a number, got an empty cell") }
        return value
    }

    /// A number, or nil for an empty cell (the metrics of an unstable point).
    public func doubleIfPresent(_ column: String) throws -> Double? {
        let text = try string(column)
        if text.isEmpty { return nil }
        // Most cells are plain numbers, which `Double` takes as they are (it refuses any
        // space around them): only the others are trimmed, through Foundation, which
        // cost a dataset of 100,000 rows a tenth of its loading time.
        guard let value = Double(text) ?? Double(text.trimmingCharacters(in: .whitespaces)) else {
            throw error(column, "expected a number, got \"\(text)\"")
        }
        return value
    }

    public func int(_ column: String) throws -> Int {
        let text = try string(column)
        guard let value = Int(text) ?? Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw error(column, text.isEmpty ? "expected a whole number, got an empty cell"
                                             : "expected a whole number, got \"\(text)\"")
        }
        return value
    }

    public func bool(_ column: String) throws -> Bool {
        switch try string(column) {
        case "true": return true
        case "false": return false
        case let text: throw error(column, "expected true or false, got \"\(text)\"")
        }
    }
}
