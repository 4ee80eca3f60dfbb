// Arrivals replayed from a CSV trace (MODEL.md, "Workload"): one row per job, its
// arrival time and optionally a work multiplier. Rows whose times fall within
// `batchWindow` seconds of a batch's first row join that batch, which arrives at
// the time of its first row.
//
// A trace is read once and shared read-only by every replication thread: the
// engine indexes its arrays by job number, so replay costs no allocation.

import CSV
import Foundation

/// The unit of a numeric time column.
public enum TraceTimeUnit: String, Sendable, Hashable, CaseIterable, Codable {
    case s, ms, us

    /// Seconds per unit.
    public var seconds: Double {
        switch self {
        case .s: return 1
        case .ms: return 1e-3
        case .us: return 1e-6
        }
    }
}

/// How to read a trace: which file, which columns, how rows group into batches.
public struct TraceSettings: Sendable, Hashable, Codable {
    /// The file, as it was opened (absolute, or relative to the working directory).
    public var path: String
    /// Column with the arrival time: numbers in `timeUnit`, or date-times
    /// `YYYY-MM-DD HH:MM:SS[.fffffff]` (also with a `T` separator).
    public var timeColumn: String
    public var timeUnit: TraceTimeUnit
    /// Column whose value, times `workScale`, multiplies each job's service time.
    public var workColumn: String?
    public var workScale: Double
    /// Seconds: rows within this window of a batch's first row join that batch.
    public var batchWindow: Double

    public static let defaultTimeColumn = "TIMESTAMP"

    public init(path: String, timeColumn: String = TraceSettings.defaultTimeColumn, timeUnit: TraceTimeUnit = .s,
                workColumn: String? = nil, workScale: Double = 1, batchWindow: Double = 0) {
        self.path = path
        self.timeColumn = timeColumn
        self.timeUnit = timeUnit
        self.workColumn = workColumn
        self.workScale = workScale
        self.batchWindow = batchWindow
    }
}

/// A trace in memory: per-job times and work, grouped into batches.
public final class ArrivalTrace: Sendable, Hashable, CustomStringConvertible {
    public let settings: TraceSettings
    /// Arrival time of each job (row), seconds after the first row.
    public let times: [Double]
    /// Work multiplier of each job (`work` x `workScale`); nil without a work column.
    public let work: [Double]?
    /// First job of each batch, then `jobCount`: batch b is jobs
    /// `batchStarts[b] ..< batchStarts[b + 1]` and arrives at `times[batchStarts[b]]`.
    public let batchStarts: [Int]
    /// FNV-1a of the file's bytes: two traces are equal when their settings and
    /// contents are.
    public let contentHash: UInt64

    init(settings: TraceSettings, times: [Double], work: [Double]?, contentHash: UInt64) {
        self.settings = settings
        self.times = times
        self.work = work
        self.contentHash = contentHash
        var starts: [Int] = []
        var first = -Double.infinity
        for (job, time) in times.enumerated() where !(time - first <= settings.batchWindow) {
            starts.append(job)
            first = time
        }
        starts.append(times.count)
        batchStarts = starts
    }

    public var jobCount: Int { times.count }
    public var batchCount: Int { batchStarts.count - 1 }

    /// When batch `b` arrives, seconds after the first row.
    public func batchTime(_ batch: Int) -> Double { times[batchStarts[batch]] }
    public func batchSize(_ batch: Int) -> Int { batchStarts[batch + 1] - batchStarts[batch] }

    /// Seconds from the first row to the last.
    public var span: Double { times.last ?? 0 }

    /// Mean work multiplier (1 without a work column).
    public var workMean: Double {
        guard let work, !work.isEmpty else { return 1 }
        return work.reduce(0, +) / Double(work.count)
    }

    /// The inter-batch times (batch count - 1 of them).
    public var interBatchTimes: [Double] {
        (1..<max(1, batchCount)).map { batchTime($0) - batchTime($0 - 1) }
    }

    /// The batch sizes in arrival order.
    public var batchSizes: [Int] { (0..<batchCount).map(batchSize) }

    public var description: String {
        "\(settings.path) (\(jobCount) jobs in \(batchCount) batches over \(ConfigNode.format(span)) s)"
    }

    public static func == (lhs: ArrivalTrace, rhs: ArrivalTrace) -> Bool {
        lhs === rhs || (lhs.settings == rhs.settings && lhs.contentHash == rhs.contentHash)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(settings)
        hasher.combine(contentHash)
    }

    // MARK: Reading

    /// Reads the trace file that `settings.path` names.
    public static func load(_ settings: TraceSettings) throws -> ArrivalTrace {
        let path = settings.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataFileError(source: path, message: "no such file")
        }
        guard !isDirectory.boolValue else { throw DataFileError(source: path, message: "it is a directory") }
        // Read whole: CSV.swift over a file stream misreads the end of file on Linux.
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataFileError(source: path, message: "cannot read the file (permission denied or I/O error)")
        }
        return try parse(data, settings: settings)
    }

    /// Parses trace text (tests); `settings.path` names it in messages.
    public static func parse(_ text: String, settings: TraceSettings) throws -> ArrivalTrace {
        try parse(Data(text.utf8), settings: settings)
    }

    public static func parse(_ data: Data, settings: TraceSettings) throws -> ArrivalTrace {
        let source = settings.path
        let reader: CSVReader
        do {
            reader = try CSVReader(stream: InputStream(data: data), hasHeaderRow: true, trimFields: true)
        } catch {
            throw DataFileError(source: source, message: "the trace is empty; expected a header row and one row per job")
        }
        guard let header = reader.headerRow, !header.isEmpty, header != [""] else {
            throw DataFileError(source: source, message: "the trace is empty; expected a header row and one row per job")
        }
        func column(_ name: String, role: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else {
                let names = header.map { "\"\($0)\"" }.joined(separator: ", ")
                throw DataFileError(source: source, column: name,
                                 message: "no such column for the \(role) in the header; the columns are \(names)")
            }
            return index
        }
        let timeIndex = try column(settings.timeColumn, role: "arrival time")
        let workIndex = try settings.workColumn.map { try column($0, role: "work") }

        var times: [Double] = []
        var work: [Double] = []
        var origin: TraceTime?
        var previous: (time: Double, text: String, row: Int)?
        var dateTimes: Bool?
        var row = 0
        while let cells = reader.next() {
            row += 1
            if cells.allSatisfy(\.isEmpty) { continue }  // a blank line
            func fail(_ column: String, _ message: String) -> DataFileError {
                DataFileError(source: source, row: row, column: column, message: message)
            }
            let timeColumn = settings.timeColumn
            guard timeIndex < cells.count else { throw fail(timeColumn, "the row has only \(cells.count) cells") }
            let text = cells[timeIndex]
            // The first row decides whether the column holds numbers or date-times.
            let isDate = dateTimes ?? (Double(text) == nil)
            dateTimes = isDate
            let stamp: TraceTime
            if isDate {
                guard let parsed = TraceTime(dateTime: text) else {
                    throw fail(timeColumn, "expected a date-time like 2023-11-16 18:17:03.9799600 "
                               + "(as in the first row), got \"\(text)\"")
                }
                stamp = parsed
            } else {
                guard let value = Double(text), value.isFinite else {
                    throw fail(timeColumn, "expected a number of \(settings.timeUnit.rawValue) "
                               + "(as in the first row), got \"\(text)\"")
                }
                stamp = TraceTime(seconds: 0, fraction: value)
            }
            if origin == nil { origin = stamp }
            // Relative to the first row before scaling, so large epochs lose nothing.
            let time = stamp.seconds(since: origin!) * (isDate ? 1 : settings.timeUnit.seconds)
            if let previous, time < previous.time {
                throw fail(timeColumn, "times must not decrease: \"\(text)\" comes after \"\(previous.text)\" "
                           + "(row \(previous.row)); sort the trace by time")
            }
            previous = (time, text, row)
            times.append(time)
            if let workIndex, let workColumn = settings.workColumn {
                guard workIndex < cells.count else { throw fail(workColumn, "the row has only \(cells.count) cells") }
                let cell = cells[workIndex]
                guard let value = Double(cell), value.isFinite else {
                    throw fail(workColumn, "expected a positive number, got \"\(cell)\"")
                }
                guard value > 0 else { throw fail(workColumn, "work must be > 0, got \(cell)") }
                work.append(value * settings.workScale)
            }
        }
        if let error = reader.error {
            throw DataFileError(source: source, row: row + 1, message: "cannot be read: \(error)")
        }
        guard !times.isEmpty else {
            throw DataFileError(source: source, message: "the trace is empty: the header has no rows under it")
        }
        return ArrivalTrace(settings: settings, times: times, work: workIndex == nil ? nil : work,
                            contentHash: fnv1a(data))
    }

    static func fnv1a(_ data: Data) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// A point in time as whole seconds plus a fraction, so that differences of
/// date-times with 100 ns digits are exact to the last digit.
struct TraceTime: Equatable {
    var seconds: Int64
    var fraction: Double

    init(seconds: Int64, fraction: Double) {
        self.seconds = seconds
        self.fraction = fraction
    }

    func seconds(since origin: TraceTime) -> Double {
        Double(seconds - origin.seconds) + (fraction - origin.fraction)
    }

    /// `YYYY-MM-DD HH:MM:SS[.f...]` or with `T` between date and time; no zone.
    init?(dateTime text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + count)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
              expect(" T"), let hour = digits(2), expect(":"), let minute = digits(2), expect(":"),
              let second = digits(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= TraceTime.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        var fraction = 0.0
        if index < bytes.count {
            guard expect("."), index < bytes.count else { return nil }
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
            guard index == bytes.count, index > start else { return nil }
            // "0.9799600" parses to the double nearest the decimal fraction.
            fraction = Double("0." + String(decoding: bytes[start..<index], as: UTF8.self)) ?? 0
        }
        let days = TraceTime.daysFromCivil(year: year, month: month, day: day)
        self.init(seconds: Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second), fraction: fraction)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    /// days_from_civil).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
