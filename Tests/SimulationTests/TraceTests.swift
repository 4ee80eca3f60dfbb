// Trace replay: reading times and work from CSV, grouping rows into batches,
// scaling service by work, every error with its row, and a replay of a Poisson
// trace against the Jackson tandem's closed form.

import Foundation
import Testing
@testable import Simulation

/// A scratch directory for trace and configuration files, removed by `cleanUp`.
struct TraceScratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("duet-trace-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}

func parseTrace(_ text: String, time: String = "t", unit: TraceTimeUnit = .s, work: String? = nil,
                workScale: Double = 1, window: Double = 0) throws -> ArrivalTrace {
    try ArrivalTrace.parse(text, settings: TraceSettings(path: "trace.csv", timeColumn: time, timeUnit: unit,
                                                         workColumn: work, workScale: workScale,
                                                         batchWindow: window))
}

/// Seconds between two date-times as the trace reader computes them.
func secondsBetween(_ first: String, _ second: String) throws -> Double {
    let a = try #require(TraceTime(dateTime: first), "\(first)")
    let b = try #require(TraceTime(dateTime: second), "\(second)")
    return b.seconds(since: a)
}

@Suite("Trace replay")
struct TraceTests {
    // MARK: Times

    @Test("Date-times: days from the civil calendar, exact fractions, midnight and month ends")
    func dateTimes() throws {
        // Known day numbers: the epoch, 2000-03-01 (after a leap day of a 400-year
        // leap year) and a date before the epoch.
        #expect(TraceTime.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(TraceTime.daysFromCivil(year: 2000, month: 3, day: 1) == 11_017)
        #expect(TraceTime.daysFromCivil(year: 1969, month: 12, day: 31) == -1)
        // Two rows of the Azure trace, 52 ms apart to the 100 ns digit.
        #expect(abs(try secondsBetween("2023-11-16 18:17:03.9799600", "2023-11-16 18:17:04.0319600") - 0.052) < 1e-12)
        // Across midnight and a year end, with fewer fractional digits and a T.
        #expect(try secondsBetween("2023-12-31 23:59:59.5", "2024-01-01T00:00:00.25") == 0.75)
        // Across a leap day: 2024-02-28 23:00 to 2024-03-01 01:00 is 26 hours.
        #expect(try secondsBetween("2024-02-28 23:00:00", "2024-03-01 01:00:00") == 26 * 3600)
        #expect(try secondsBetween("2023-02-28 23:00:00", "2023-03-01 01:00:00") == 2 * 3600)
        for bad in ["2023-02-29 00:00:00", "2023-11-16 24:00:00", "2023-11-16 18:17", "2023-11-16 18:17:03.",
                    "2023-11-16 18:17:03.5Z", "2023/11/16 18:17:03", "16-11-2023 18:17:03", ""] {
            #expect(TraceTime(dateTime: bad) == nil, "\(bad) should not parse")
        }
    }

    @Test("Numeric times in ms, relative to the first row; equal times form a batch")
    func numericTimesAndWindowZero() throws {
        let trace = try parseTrace("t\n1000\n1500\n1500\n4000\n", unit: .ms)
        #expect(trace.times == [0, 0.5, 0.5, 3])
        #expect(trace.batchStarts == [0, 1, 3, 4])
        #expect(trace.batchSizes == [1, 2, 1])
        #expect(trace.interBatchTimes == [0.5, 2.5])
        // A large epoch in seconds: differences are taken before scaling.
        let epoch = try parseTrace("t\n1700000000\n1700000002.5\n")
        #expect(epoch.times == [0, 2.5])
    }

    @Test("A batch window: rows within the window of the batch's FIRST row join it")
    func windowGrouping() throws {
        // Window 0.5: 0 starts a batch; 0.25 and 0.5 join (0.5 is on the edge);
        // 0.75 is 0.75 after the first row, so it starts the next batch even though
        // it is only 0.25 after 0.5; 1.0 joins it; 3 is alone.
        let trace = try parseTrace("t\n0\n0.25\n0.5\n0.75\n1.0\n3\n", window: 0.5)
        #expect(trace.batchSizes == [3, 2, 1])
        #expect((0..<trace.batchCount).map(trace.batchTime) == [0, 0.75, 3])
        let config = TandemConfig(trace: trace, stations: [station(mean: 0.01), station(mean: 0.01)])
        #expect(config.batch == .empirical(values: [1, 2, 3], weights: [1, 1, 1]))
        #expect(config.interArrival.mean == 1.5)
    }

    @Test("The Azure trace's CRLF lines, 7-digit stamps and its span", .enabled(if: azureTraceIsThere, "the Azure trace is not in data/azure-llm-2023 of this checkout"))
    func azureTrace() throws {
        let path = azureTracePath
        let trace = try ArrivalTrace.load(TraceSettings(path: path, workColumn: "GeneratedTokens"))
        #expect(trace.jobCount == 8819)
        // First row 18:17:03.9799600, last 19:14:19.9280160: 57 min 15.948056 s.
        #expect(abs(trace.span - 3435.948056) < 1e-9)
        // The first row's tokens, and the last row's (the file has no final newline).
        #expect(trace.work?.first == 10)
        #expect(trace.work?.last == 173)
        #expect(trace.batchCount == 8819, "no two rows share a timestamp")
    }

    // MARK: Work

    @Test("Work scales each job's service at both stations; setup is not scaled")
    func workScaling() throws {
        // Deterministic unit service, one server each, station 2 with setup 0.1.
        // Work 2, 1 at time 0 (one batch), 0.5 at 1 and 3 at 10, written in tokens
        // with workScale 0.01. By hand:
        //   station 1: job 0 [0, 2], job 1 [2, 3], job 2 [3, 3.5], job 3 [10, 13]
        //   station 2: job 0 [2, 4.1], job 1 [4.1, 5.2], job 2 [5.2, 5.8], job 3 [13, 16.1]
        let trace = try parseTrace("t,tokens\r\n0,200\r\n0,100\r\n1,50\r\n10,300", work: "tokens", workScale: 0.01)
        #expect(trace.work == [2, 1, 0.5, 3])
        var second = station(mean: 1, scv: 0)
        second.setup = 0.1
        let config = TandemConfig(trace: trace, stations: [station(mean: 1, scv: 0), second],
                                  run: RunSettings(replications: 1, warmup: 0))
        let (outcome, record) = Simulator.trace(config, jobs: trace.jobCount)
        #expect(outcome == .completed)
        let expected: [(Double, Double)] = [(2, 4.1), (3, 5.2), (3.5, 5.8), (13, 16.1)]
        for (job, (done1, done2)) in expected.enumerated() {
            let visits = record.visits[job]
            #expect(abs((visits[0]?.completion ?? .nan) - done1) < 1e-12, "job \(job) at station 1")
            #expect(abs((visits[1]?.completion ?? .nan) - done2) < 1e-12, "job \(job) at station 2")
        }
        #expect(record.arrivals == [0, 0, 1, 10])
        // The offered load counts the mean work (1.625) and the trace's job rate.
        #expect(abs(config.workMean - 1.625) < 1e-15)
    }

    // MARK: Errors

    struct BadTrace: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let work: String?
        let row: Int?
        let column: String?
        let message: String
        var testDescription: String { name }
    }

    static let badTraces: [BadTrace] = [
        BadTrace(name: "missing time column", text: "time,w\n1,1\n", work: nil, row: nil, column: "t",
                 message: "no such column for the arrival time in the header; the columns are \"time\", \"w\""),
        BadTrace(name: "missing work column", text: "t,w\n1,1\n", work: "tokens", row: nil, column: "tokens",
                 message: "no such column for the work in the header; the columns are \"t\", \"w\""),
        BadTrace(name: "unsorted", text: "t\n0\n2\n1\n", work: nil, row: 3, column: "t",
                 message: "times must not decrease: \"1\" comes after \"2\" (row 2); sort the trace by time"),
        BadTrace(name: "non-numeric time", text: "t\n0\n1\nsoon\n", work: nil, row: 3, column: "t",
                 message: "expected a number of s (as in the first row), got \"soon\""),
        BadTrace(name: "bad date-time", text: "t\n2023-11-16 23:00:00\n2023-11-16 25:00:00\n", work: nil, row: 2,
                 column: "t",
                 message: "expected a date-time like 2023-11-16 18:17:03.9799600 (as in the first row), "
                    + "got \"2023-11-16 25:00:00\""),
        BadTrace(name: "zero work", text: "t,w\n0,1\n1,0\n", work: "w", row: 2, column: "w",
                 message: "work must be > 0, got 0"),
        BadTrace(name: "negative work", text: "t,w\n0,-3\n", work: "w", row: 1, column: "w",
                 message: "work must be > 0, got -3"),
        BadTrace(name: "non-numeric work", text: "t,w\n0,1\n1,1\n2,lots\n", work: "w", row: 3, column: "w",
                 message: "expected a positive number, got \"lots\""),
        BadTrace(name: "empty trace", text: "t,w\n", work: nil, row: nil, column: nil,
                 message: "the trace is empty: the header has no rows under it"),
        BadTrace(name: "empty file", text: "", work: nil, row: nil, column: nil,
                 message: "the trace is empty; expected a header row and one row per job"),
    ]

    @Test("Bad traces name the row and column", arguments: badTraces)
    func badTrace(_ bad: BadTrace) throws {
        do {
            _ = try parseTrace(bad.text, work: bad.work)
            Issue.record("expected an error: \(bad.message)")
        } catch let error as DataFileError {
            #expect(error.source == "trace.csv")
            #expect(error.row == bad.row)
            #expect(error.column == bad.column)
            #expect(error.message == bad.message)
        }
    }

    @Test("The error text says row and file line")
    func errorText() {
        let error = DataFileError(source: "requests.csv", row: 12, column: "TIMESTAMP", message: "bad")
        #expect(error.description == "requests.csv: row 12 (line 13), column TIMESTAMP: bad")
    }

    // MARK: Configuration files

    @Test("A configuration with arrival.trace: settings, relative path, equality")
    func configFile() throws {
        let scratch = try TraceScratch()
        defer { scratch.cleanUp() }
        try FileManager.default.createDirectory(at: scratch.directory.appendingPathComponent("data"),
                                                withIntermediateDirectories: true)
        _ = try scratch.write("data/requests.csv", "when,GeneratedTokens\n0,100\n30,200\n50,300\n2000,400\n")
        func yaml(window: Double) -> String {
            """
            arrival:
              trace: data/requests.csv
              time: when
              timeUnit: ms
              work: GeneratedTokens
              workScale: 0.001
              batchWindow: \(window)
            stations:
              - service: { mean: 0.5 }
              - service: { mean: 0.2 }
            run: { replications: 3 }
            """
        }
        let path = try scratch.write("tandem.yaml", yaml(window: 0.04))
        let config = try ConfigLoader.load(path: path)
        let trace = try #require(config.trace)
        #expect(trace.settings == TraceSettings(path: scratch.directory.appendingPathComponent("data/requests.csv").path,
                                                timeColumn: "when", timeUnit: .ms, workColumn: "GeneratedTokens",
                                                workScale: 0.001, batchWindow: 0.04))
        #expect(trace.times == [0, 0.03, 0.05, 2])
        #expect(trace.batchSizes == [2, 1, 1])
        #expect(trace.work == [0.1, 0.2, 0.3, 0.4])
        // Loading the same file again gives an equal configuration; another window does not.
        #expect(try ConfigLoader.load(path: path) == config)
        #expect(try ConfigLoader.load(path: path).hashValue == config.hashValue)
        let other = try scratch.write("other.yaml", yaml(window: 0))
        #expect(try ConfigLoader.load(path: other) != config)

        // Sections that do not go with a trace.
        let withBatch = try scratch.write("batch.yaml", yaml(window: 0) + "\nbatch: { mean: 2 }\n")
        #expect(throws: ConfigError(path: "batch", message: "not used with arrival.trace: the batches come from the "
                                        + "trace (rows within arrival.batchWindow of a batch's first row); leave it out",
                                    line: 12)) {
            try ConfigLoader.load(path: withBatch)
        }
        let withJobs = try scratch.write("jobs.yaml", yaml(window: 0).replacingOccurrences(
            of: "replications: 3", with: "replications: 3, jobs: 100"))
        #expect(throws: ConfigError(path: "run.jobs", message: "not used with arrival.trace: every replication replays "
                                        + "the whole trace (4 jobs) once; leave it out", line: 11)) {
            try ConfigLoader.load(path: withJobs)
        }
        // A bad row surfaces at arrival.trace with the file, row and column.
        _ = try scratch.write("data/requests.csv", "when,GeneratedTokens\n0,100\n30,-1\n")
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("expected an error for negative work")
        } catch let error as ConfigError {
            #expect(error.path == "arrival.trace")
            #expect(error.message.hasSuffix("requests.csv: row 2 (line 3), column GeneratedTokens: work must be > 0, "
                                                + "got -1"))
        }
    }

    // MARK: Statistics

    /// Writes a Poisson trace of `jobs` jobs at `rate` (numeric seconds, one job a row).
    static func poissonTrace(jobs: Int, rate: Double, seed: UInt64) -> String {
        var stream = RandomStream(seed: seed, substream: 7)
        var text = "TIMESTAMP\n"
        var clock = 0.0
        for _ in 0..<jobs {
            clock += -log(stream.nextOpenUnit()) / rate
            text += "\(clock)\n"
        }
        return text
    }

    /// Mean responses of M/M/1 (s1 1) -> M/M/1 (s2 1.2) replaying 8 independent
    /// Poisson traces of 40,000 jobs at `rate`, sped up by `multiplier`.
    static func replayedMeans(rate: Double, multiplier: Double, seedBase: UInt64) throws -> [Double] {
        let scratch = try TraceScratch()
        defer { scratch.cleanUp() }
        var means: [Double] = []
        for index in 0..<8 {
            _ = try scratch.write("poisson\(index).csv", poissonTrace(jobs: 40_000, rate: rate,
                                                                     seed: seedBase + UInt64(index)))
            let path = try scratch.write("tandem\(index).yaml", """
                arrival: { trace: poisson\(index).csv, rateMultiplier: \(multiplier) }
                stations:
                  - service: { mean: 1 }
                  - service: { mean: 1.2 }
                run: { replications: 2, warmup: 0.1, seed: \(index + 1) }
                """)
            let report = Simulator.simulate(try ConfigLoader.load(path: path))
            #expect(report.stable)
            #expect(report.jobsPerReplication == 40_000)
            means.append(try #require(report.estimate("meanResponse")).mean)
        }
        return means
    }

    @Test("Replaying Poisson traces through M/M/1 -> M/M/1 gives the Jackson mean response")
    func jacksonReplay() throws {
        // One replay conditions on its trace, so the replications' half-width misses
        // the arrivals' own variation: replay independent traces and take a Student-t
        // interval across them. Tolerance as in QueueingTheoryTests: two 95%
        // half-widths (about four standard errors).
        let lambda = 0.5
        let exact = 1 / (1 - lambda) + 1 / (1 / 1.2 - lambda)
        let across = Estimate(replications: try Self.replayedMeans(rate: lambda, multiplier: 1, seedBase: 100))
        let ci = try #require(across.ci95)
        #expect(ci < 0.05 * exact, "half-width \(ci) too wide to test")
        #expect(abs(across.mean - exact) <= 2 * ci, "replayed \(across.mean) ± \(ci), Jackson \(exact)")
    }

    @Test("With a trace, a precision target adds replications")
    func precisionAddsReplications() throws {
        let trace = try ArrivalTrace.parse(Self.poissonTrace(jobs: 2_000, rate: 0.5, seed: 9),
                                           settings: TraceSettings(path: "poisson.csv"))
        let config = TandemConfig(trace: trace, stations: [station(mean: 1), station(mean: 1.2)],
                                  run: RunSettings(replications: 2, seed: 3, precision: 0.01))
        let report = Simulator.simulate(config)
        #expect(report.jobsPerReplication == 2_000)
        #expect(report.replications > 2)
        #expect(report.precisionMet == true)
        let estimate = try #require(report.estimate("meanResponse"))
        #expect(try #require(estimate.ci95) <= 0.01 * estimate.mean)
    }
}

/// The Azure code trace that ships in the repository (`data/azure-llm-2023/`), found
/// from this file's place in the checkout; the tests that need it are skipped,
/// saying so, where a partial copy of the repository lacks it.
let azureTracePath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("data/azure-llm-2023/AzureLLMInferenceTrace_code.csv").path
let azureTraceIsThere = FileManager.default.fileExists(atPath: azureTracePath)
