// The built `duet` binary end to end: exit status, stdout and stderr of
// `duet simulate` for good and bad inputs.

import Foundation
import Testing

/// The output of one run of the binary.
struct CLIRun: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String

    var summary: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

enum DuetBinary {
    /// The package root: this file is Tests/duetTests/CLITests.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `duet` executable of the build that made this test bundle: next to the
    /// test executable on Linux (`.build/debug/duetPackageTests.xctest`), next to
    /// the `.xctest` bundle on macOS. `DUET_BINARY` overrides.
    static let url: URL? = {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["DUET_BINARY"] {
            return URL(fileURLWithPath: override)
        }
        var directories: [URL] = []
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let executable = Bundle.main.executableURL {
            directories.append(executable.deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        // Walk up from each candidate (macOS: .../debug/X.xctest/Contents/MacOS).
        for directory in directories {
            var current = directory.standardizedFileURL
            for _ in 0..<4 {
                let candidate = current.appendingPathComponent("duet")
                var isDirectory: ObjCBool = false
                if fileManager.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   fileManager.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                current = current.deletingLastPathComponent()
            }
        }
        // Last resort: the default build folder.
        let fallback = packageRoot.appendingPathComponent(".build/debug/duet")
        return fileManager.isExecutableFile(atPath: fallback.path) ? fallback : nil
    }()

    /// Runs `duet arguments...` in the package root and waits for it; `environment`
    /// adds to (or overrides) the test process's environment, for the child only.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIRun {
        let binary = try #require(url, "the duet executable was not found next to the test bundle")
        return try runProcess(binary, arguments, environment: environment)
    }
}

/// Runs `executable arguments...` in the package root and waits for it. Output goes
/// to files, not pipes, so that nothing can block on a full pipe buffer.
func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> CLIRun {
    let scratch = FileManager.default.temporaryDirectory
        .appendingPathComponent("duet-cli-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)

    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    process.currentDirectoryURL = DuetBinary.packageRoot
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CLIRun(status: process.terminationStatus,
                  stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                  stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// A fresh temporary directory for configuration files, removed by `cleanUp`.
struct TemporaryFiles {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("duet-cli-configs-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("CLI")
struct CLITests {
    /// A small valid configuration, one section per line; `station2` replaces the
    /// second station.
    static func config(
        arrival: String = "{rate: 0.5}",
        station1: String = "{name: edge, service: {mean: 0.3}}",
        station2: String = "{name: cloud, servers: 4, service: {mean: 0.05}}",
        run: String = "{jobs: 2000, replications: 2, seed: 1}"
    ) -> String {
        """
        arrival: \(arrival)
        batch: {dist: geometric, mean: 2}
        stations:
          - \(station1)
          - \(station2)
        run: \(run)
        """
    }

    static func parseObject(_ text: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(parsed as? [String: Any], "not a JSON object: \(text)")
    }

    /// The JSON text without its wall-clock line (`--json` output is pretty, one
    /// member a line), after checking that the line is there.
    static func withoutSeconds(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.filter { $0.contains("\"seconds\":") }.count == 1, "\(text)")
        return lines.filter { !$0.contains("\"seconds\":") }.joined(separator: "\n")
    }

    static func meanResponse(_ text: String) throws -> Double {
        let object = try parseObject(text)
        return try #require(((object["meanResponse"] as? [String: Any])?["mean"] as? NSNumber)?.doubleValue)
    }

    @Test("The duet executable is found")
    func binaryFound() {
        #expect(DuetBinary.url != nil, "looked next to \(Bundle.main.bundleURL.path) and \(CommandLine.arguments)")
    }

    @Test("--version prints a semantic version that CHANGELOG.md has a section for")
    func versionFlag() throws {
        let run = try DuetBinary.run(["--version"])
        #expect(run.status == 0, "\(run.summary)")
        let printed = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let version = try #require(printed.split(separator: " ").last.map(String.init), "\(run.summary)")
        #expect(printed == "duet \(version)")
        #expect(version.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?/) != nil, "not a semantic version: \(version)")
        let changelog = try String(contentsOf: DuetBinary.packageRoot.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        #expect(changelog.contains("\n## \(version) "), "CHANGELOG.md has no section for \(version)")
    }

    @Test("simulate --json prints MODEL.md's JSON with the flags applied")
    func simulateJSON() throws {
        let result = try DuetBinary.run(
            ["simulate", "examples/serverless.yaml", "--jobs", "20000", "--replications", "2", "--json"])
        #expect(result.status == 0, "\(result.summary)")
        let object = try Self.parseObject(result.stdout)
        #expect(object["stable"] as? Bool == true)
        #expect((object["jobs"] as? NSNumber)?.intValue == 40_000)
        #expect((object["replications"] as? NSNumber)?.intValue == 2)
        let response = try #require(object["meanResponse"] as? [String: Any])
        let mean = try #require((response["mean"] as? NSNumber)?.doubleValue)
        #expect(mean > 0 && mean.isFinite)
        #expect(response["ci95"] is NSNumber)
        for name in ["p50Response", "p95Response", "p99Response", "throughput", "meanJobsInSystem"] {
            #expect(object[name] is [String: Any], "\(name)")
        }
        let stations = try #require(object["stations"] as? [[String: Any]])
        #expect(stations.map { $0["name"] as? String } == ["edge", "cloud"])
        for station in stations {
            for name in ["meanResponse", "meanBufferWait", "meanQueueWait", "utilization", "meanBatchSize",
                         "coldStartFraction", "instanceSecondsPerJob"] {
                #expect(station[name] is [String: Any], "\(name)")
            }
        }
        // Throughput: 0.5 batches/s of 4 jobs on average.
        let throughput = try #require(((object["throughput"] as? [String: Any])?["mean"] as? NSNumber)?.doubleValue)
        #expect(abs(throughput - 2) < 0.2, "\(throughput)")
    }

    @Test("simulate prints a table with the metrics and both station labels")
    func simulateTable() throws {
        let result = try DuetBinary.run(["simulate", "examples/serverless.yaml", "--jobs", "5000",
                                         "--replications", "2"])
        #expect(result.status == 0, "\(result.summary)")
        for text in ["meanResponse", "p95Response", "throughput", "station 1 (edge)", "station 2 (cloud)",
                     "instanceSecondsPerJob", "10000 jobs (2 replications of 5000)"] {
            #expect(result.stdout.contains(text), "missing \(text) in:\n\(result.stdout)")
        }
        #expect(!result.stdout.contains("{"), "the table is not JSON")
    }

    @Test("simulate reports every station of a five-function chain, in the table and the JSON")
    func simulateChain() throws {
        let names = ["gateway", "embed", "retrieve", "generate", "post-process"]
        let json = try DuetBinary.run(["simulate", "examples/rag-chain.yaml", "--jobs", "5000", "--replications",
                                       "2", "--json"])
        #expect(json.status == 0, "\(json.summary)")
        let object = try Self.parseObject(json.stdout)
        let stations = try #require(object["stations"] as? [[String: Any]])
        #expect(stations.map { $0["name"] as? String } == names)
        for station in stations { #expect(station["meanResponse"] is [String: Any]) }
        let table = try DuetBinary.run(["simulate", "examples/rag-chain.yaml", "--jobs", "5000", "--replications",
                                        "2"])
        #expect(table.status == 0, "\(table.summary)")
        for (k, name) in names.enumerated() {
            #expect(table.stdout.contains("station \(k + 1) (\(name))"), "missing station \(k + 1) in:\n\(table.stdout)")
        }
    }

    @Test("simulate --control-variates corrects the response metrics, says so, and leaves the others as they were")
    func simulateControlVariates() throws {
        let base = ["simulate", "examples/serverless.yaml", "--jobs", "5000", "--replications", "4", "--json"]
        let plain = try DuetBinary.run(base)
        let corrected = try DuetBinary.run(base + ["--control-variates"])
        for result in [plain, corrected] { #expect(result.status == 0, "\(result.summary)") }
        let before = try Self.parseObject(plain.stdout), after = try Self.parseObject(corrected.stdout)
        #expect(after["controlVariates"] as? Bool == true && before["controlVariates"] == nil)
        func mean(_ object: [String: Any], _ name: String) -> Double? {
            ((object[name] as? [String: Any])?["mean"] as? NSNumber)?.doubleValue
        }
        #expect(mean(after, "meanResponse") != mean(before, "meanResponse"))
        #expect(mean(after, "throughput") == mean(before, "throughput"))
        let stationsBefore = try #require(before["stations"] as? [[String: Any]])
        let stationsAfter = try #require(after["stations"] as? [[String: Any]])
        #expect(mean(stationsAfter[1], "meanBufferWait") == mean(stationsBefore[1], "meanBufferWait"))
        #expect(mean(stationsAfter[1], "meanResponse") != mean(stationsBefore[1], "meanResponse"))
        let table = try DuetBinary.run(["simulate", "examples/serverless.yaml", "--jobs", "5000", "--replications",
                                        "4", "--control-variates"])
        #expect(table.stdout.contains("response metrics corrected by control variates"), "\(table.stdout)")
    }

    @Test("--seed changes the numbers; the same seed twice gives the same JSON")
    func seedOverride() throws {
        let base = ["simulate", "examples/serverless.yaml", "--jobs", "3000", "--replications", "2", "--json"]
        let first = try DuetBinary.run(base + ["--seed", "7"])
        let again = try DuetBinary.run(base + ["--seed", "7", "--threads", "1"])
        let other = try DuetBinary.run(base + ["--seed", "8"])
        for result in [first, again, other] { #expect(result.status == 0, "\(result.summary)") }
        #expect(Self.withoutSeconds(first.stdout) == Self.withoutSeconds(again.stdout),
                "same seed, different output:\n\(first.stdout)\n\(again.stdout)")
        #expect(Self.withoutSeconds(first.stdout) != Self.withoutSeconds(other.stdout))
        #expect(try Self.meanResponse(first.stdout) != Self.meanResponse(other.stdout))
        // The seed from the file (42) differs from both.
        let fileSeed = try DuetBinary.run(base)
        #expect(fileSeed.status == 0, "\(fileSeed.summary)")
        #expect(try Self.meanResponse(fileSeed.stdout) != Self.meanResponse(first.stdout))
    }

    @Test("--jobs, --replications and --warmup override the file's run section")
    func runOverrides() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let path = try files.write("small.yaml", Self.config())
        let fromFile = try DuetBinary.run(["simulate", path, "--json"])
        #expect(fromFile.status == 0, "\(fromFile.summary)")
        let object = try Self.parseObject(fromFile.stdout)
        #expect((object["jobs"] as? NSNumber)?.intValue == 4_000)
        #expect((object["replications"] as? NSNumber)?.intValue == 2)

        let overridden = try DuetBinary.run(["simulate", path, "--json", "--jobs", "1500", "--replications", "3",
                                             "--warmup", "0.2"])
        #expect(overridden.status == 0, "\(overridden.summary)")
        let other = try Self.parseObject(overridden.stdout)
        #expect((other["jobs"] as? NSNumber)?.intValue == 4_500)
        #expect((other["replications"] as? NSNumber)?.intValue == 3)
    }

    @Test("An unknown key is refused with the path and a suggestion")
    func unknownKey() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let path = try files.write("typo.yaml", Self.config(station2: "{service: {mean: 0.05}, maxbatch: 8}"))
        let result = try DuetBinary.run(["simulate", path])
        #expect(result.status != 0, "\(result.summary)")
        #expect(result.stderr.contains("stations.2.maxbatch: unknown key; did you mean maxBatch? (line 5)"),
                "\(result.summary)")
        #expect(result.stderr.contains(path), "the file is named: \(result.summary)")
        #expect(result.stdout.isEmpty, "\(result.summary)")
    }

    @Test("A bad value is refused with its dotted path and the value")
    func badValue() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let negative = try files.write("negative.yaml", Self.config(station2: "{service: {mean: -0.05}}"))
        let result = try DuetBinary.run(["simulate", negative])
        #expect(result.status != 0, "\(result.summary)")
        #expect(result.stderr.contains("stations.2.service.mean: must be > 0, got -0.05"), "\(result.summary)")

        let word = try files.write("word.yaml", Self.config(arrival: "{rate: fast}"))
        let wordResult = try DuetBinary.run(["simulate", word, "--json"])
        #expect(wordResult.status != 0, "\(wordResult.summary)")
        #expect(wordResult.stderr.contains("arrival.rate: expected a number, got \"fast\""), "\(wordResult.summary)")
        #expect(wordResult.stdout.isEmpty, "no JSON for a refused file: \(wordResult.summary)")
    }

    @Test("An overloaded configuration is refused up front, naming the station and its offered load")
    func overloaded() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        // 1 job/s on average at station 1 needing 1.2 s each on one server.
        let path = try files.write("overloaded.yaml", Self.config(station1: "{name: edge, service: {mean: 1.2}}"))
        let result = try DuetBinary.run(["simulate", path, "--json"])
        #expect(result.status != 0, "\(result.summary)")
        #expect(result.stderr.contains("stations.1"), "\(result.summary)")
        #expect(result.stderr.contains("offered load 1.2 >= 1 at edge"), "\(result.summary)")
        #expect(!result.stderr.contains("stations.2"), "\(result.summary)")
        #expect(result.stdout.isEmpty, "\(result.summary)")
    }

    @Test("An overload only visible at run time ends with stable false and a non-zero status")
    func unstableAtRunTime() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let text = """
            arrival: {rate: 2}
            stations:
              - {name: edge, service: {mean: 0.01}}
              - {name: cloud, service: {mean: 0.01}, setup: 1.0, maxBatch: 10, timeout: 0}
            run: {jobs: 5000000, replications: 2, seed: 3}
            """
        let path = try files.write("hidden.yaml", text)
        let json = try DuetBinary.run(["simulate", path, "--json"])
        #expect(json.status != 0, "\(json.summary)")
        let object = try Self.parseObject(json.stdout)
        #expect(object["stable"] as? Bool == false)
        #expect(object["meanResponse"] == nil)
        #expect((object["reason"] as? String)?.contains("station 2") == true, "\(json.summary)")

        let table = try DuetBinary.run(["simulate", path])
        #expect(table.status != 0, "\(table.summary)")
        #expect(table.stdout.contains("UNSTABLE") && table.stdout.contains("station 2"), "\(table.summary)")
    }

    @Test("A missing file is named in the error")
    func missingFile() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let path = files.directory.appendingPathComponent("nowhere.yaml").path
        let result = try DuetBinary.run(["simulate", path])
        #expect(result.status != 0, "\(result.summary)")
        #expect(result.stderr.contains("cannot read configuration file \(path): no such file"), "\(result.summary)")
    }

    @Test("Out-of-range flags are refused, naming the flag", arguments: [
        (["--warmup", "1.5"], "--warmup"),
        (["--warmup", "-0.1"], "--warmup"),
        (["--jobs", "0"], "--jobs"),
        (["--replications", "0"], "--replications"),
        (["--precision", "0"], "--precision"),
        (["--threads", "0"], "--threads"),
    ])
    func badFlags(_ flags: [String], _ name: String) throws {
        let result = try DuetBinary.run(["simulate", "examples/serverless.yaml"] + flags)
        #expect(result.status != 0, "\(result.summary)")
        #expect(result.stderr.contains(name), "\(result.summary)")
        #expect(result.stdout.isEmpty, "\(result.summary)")
    }

    @Test("--warmup 1.5 says what range is allowed")
    func warmupMessage() throws {
        let result = try DuetBinary.run(["simulate", "examples/serverless.yaml", "--warmup", "1.5"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--warmup: must be in [0, 1), got 1.5"), "\(result.summary)")
    }

    @Test("duet --help lists simulate")
    func help() throws {
        let result = try DuetBinary.run(["--help"])
        #expect(result.status == 0, "\(result.summary)")
        #expect(result.stdout.contains("simulate"), "\(result.summary)")
        #expect(result.stdout.contains("USAGE"), "\(result.summary)")

        let simulateHelp = try DuetBinary.run(["simulate", "--help"])
        #expect(simulateHelp.status == 0, "\(simulateHelp.summary)")
        for flag in ["--json", "--jobs", "--replications", "--seed", "--warmup", "--precision", "--threads"] {
            #expect(simulateHelp.stdout.contains(flag), "\(flag) missing from help")
        }
    }
}
