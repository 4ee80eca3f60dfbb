// The configuration loader: values and defaults, JSON, and the exact text of its
// error messages (they are the user interface of a bad file).

import Foundation
import Testing
@testable import Simulation

@Suite("ConfigLoader")
struct ConfigLoaderTests {
    /// The example of MODEL.md, verbatim.
    static let modelExample = """
        arrival: { rate: 0.5, scv: 1.0 }          # batches per second; or { trace: FILE, ... }
        batch:   { dist: geometric, mean: 4 }
        stations:
          - name: edge                             # optional label
            servers: 2
            service: { mean: 0.3, scv: 1.0 }
          - name: cloud
            servers: 16
            service: { mean: 0.05, scv: 0.5 }
            setup: 0.1
            maxBatch: 8
            timeout: 0.25
            coldStart: { mean: 1.0, scv: 1.0 }
            keepAlive: 600
        run: { jobs: 1000000, replications: 5, warmup: 0.1, seed: 42 }   # or precision: 0.01
        """

    static let modelExampleConfig = TandemConfig(
        arrivalRate: 0.5, arrivalScv: 1, batch: .geometric(mean: 4),
        stations: [
            StationConfig(name: "edge", servers: 2, service: MomentSpec(mean: 0.3, scv: 1)),
            StationConfig(name: "cloud", servers: 16, service: MomentSpec(mean: 0.05, scv: 0.5), setup: 0.1,
                          maxBatch: 8, timeout: 0.25, coldStart: MomentSpec(mean: 1, scv: 1), keepAlive: 600),
        ],
        run: RunSettings(jobs: 1_000_000, replications: 5, warmup: 0.1, seed: 42))

    /// A small valid document, one section per line so that error lines are
    /// predictable: arrival 1, batch 2, stations 3-5, run 6.
    static func document(
        arrival: String = "{rate: 0.5}",
        batch: String = "{dist: geometric, mean: 2}",
        station1: String = "{name: edge, service: {mean: 0.3}}",
        station2: String = "{name: cloud, servers: 4, service: {mean: 0.05}}",
        run: String = "{jobs: 1000}"
    ) -> String {
        """
        arrival: \(arrival)
        batch: \(batch)
        stations:
          - \(station1)
          - \(station2)
        run: \(run)
        """
    }

    /// The description of the error that parsing `text` throws.
    static func failure(_ text: String) -> String? {
        do {
            _ = try ConfigLoader.parse(text)
            return nil
        } catch let error as ConfigError {
            return error.description
        } catch {
            return "not a ConfigError: \(error)"
        }
    }

    // MARK: Values

    @Test func modelExampleParsesWithDefaultsFilledIn() throws {
        let config = try ConfigLoader.parse(Self.modelExample)
        #expect(config == Self.modelExampleConfig)
        #expect(config.arrivalRate == 0.5)
        #expect(config.interArrival == MomentSpec(mean: 2, scv: 1))
        #expect(config.stations[0].setup == 0)
        #expect(config.stations[0].maxBatch == 1)
        #expect(config.stations[0].timeout == 0)
        #expect(config.stations[0].coldStart == MomentSpec(mean: 0, scv: 1))
        #expect(config.stations[0].keepAlive == .infinity)
        #expect(config.run.maxJobs == 20_000_000)
        #expect(config.run.precision == nil)
        #expect(config.run.threads == nil)
    }

    @Test func minimalConfigGetsEveryDefault() throws {
        let config = try ConfigLoader.parse("""
            arrival: {rate: 2}
            stations:
              - service: {mean: 0.1}
              - service: {mean: 0.2}
            """)
        let expected = TandemConfig(
            arrivalRate: 2, arrivalScv: 1, batch: .deterministic(1),
            stations: [
                StationConfig(name: nil, servers: 1, service: MomentSpec(mean: 0.1, scv: 1), setup: 0, maxBatch: 1,
                              timeout: 0, coldStart: MomentSpec(mean: 0, scv: 1), keepAlive: .infinity),
                StationConfig(service: MomentSpec(mean: 0.2)),
            ],
            run: RunSettings(jobs: 100_000, replications: 5, warmup: 0.1, seed: 1, precision: nil,
                             maxJobs: 20_000_000, threads: nil))
        #expect(config == expected)
    }

    @Test func jsonInputWorks() throws {
        let json = """
            {
              "arrival": {"rate": 0.5, "scv": 1.0},
              "batch": {"dist": "geometric", "mean": 4},
              "stations": [
                {"name": "edge", "servers": 2, "service": {"mean": 0.3, "scv": 1.0}},
                {"name": "cloud", "servers": 16, "service": {"mean": 0.05, "scv": 0.5}, "setup": 0.1,
                 "maxBatch": 8, "timeout": 0.25, "coldStart": {"mean": 1.0, "scv": 1.0}, "keepAlive": 600}
              ],
              "run": {"jobs": 1000000, "replications": 5, "warmup": 0.1, "seed": 42}
            }
            """
        #expect(try ConfigLoader.parse(json) == Self.modelExampleConfig)
    }

    @Test(arguments: [".inf", "inf", "Infinity", "+.INF", "\"inf\"", "null"])
    func keepAliveAcceptsInfinitySpellings(_ spelling: String) throws {
        let text = Self.document(station2: "{service: {mean: 0.05}, keepAlive: \(spelling)}")
        #expect(try ConfigLoader.parse(text).stations[1].keepAlive == .infinity)
    }

    @Test func keepAliveZeroIsAllowed() throws {
        let text = Self.document(station2: "{service: {mean: 0.05}, keepAlive: 0}")
        #expect(try ConfigLoader.parse(text).stations[1].keepAlive == 0)
    }

    @Test func runSettingsReadEveryKey() throws {
        let text = Self.document(run: """
            {jobs: 1e6, replications: 10, warmup: 0, seed: 18446744073709551615, precision: 0.01,
              maxJobs: 50_000_000, threads: 2}
            """)
        let run = try ConfigLoader.parse(text).run
        #expect(run == RunSettings(jobs: 1_000_000, replications: 10, warmup: 0, seed: .max, precision: 0.01,
                                   maxJobs: 50_000_000, threads: 2))
    }

    @Test func maxJobsDefaultGrowsWithJobs() throws {
        let run = try ConfigLoader.parse(Self.document(run: "{jobs: 30000000}")).run
        #expect(run.maxJobs == 30_000_000)
    }

    @Test(arguments: [
        ("{mean: 3}", BatchSizeSpec.deterministic(3)),
        ("{dist: deterministic, mean: 3.0}", .deterministic(3)),
        ("{dist: geometric, mean: 1.5}", .geometric(mean: 1.5)),
        ("{dist: uniform, mean: 2.5}", .uniform(mean: 2.5)),
        ("{dist: uniform}", .uniform(mean: 1)),
        ("{dist: empirical, values: [1, 4], weights: [3, 1]}", .empirical(values: [1, 4], weights: [3, 1])),
        ("{dist: empirical, values: [2], weights: [0.5]}", .empirical(values: [2], weights: [0.5])),
    ])
    func batchSizes(_ batch: String, _ expected: BatchSizeSpec) throws {
        let text = Self.document(batch: batch, station1: "{service: {mean: 0.1}}", station2: "{service: {mean: 0.1}}")
        #expect(try ConfigLoader.parse(text).batch == expected)
    }

    // MARK: Error messages

    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let expected: String
        var testDescription: String { name }

        init(_ name: String, _ text: String, _ expected: String) {
            self.name = name
            self.text = text
            self.expected = expected
        }
    }

    static let badInputs: [BadInput] = [
        // Unknown keys.
        BadInput("unknown key differing in case",
                 document(station2: "{service: {mean: 0.05}, maxbatch: 8}"),
                 "stations.2.maxbatch: unknown key; did you mean maxBatch? (line 5)"),
        BadInput("unknown key with a transposition",
                 document(station1: "{service: {mean: 0.3}, sevrers: 2}"),
                 "stations.1.sevrers: unknown key; did you mean servers? (line 4)"),
        BadInput("unknown key in snake case",
                 document(station1: "{service: {mean: 0.3}, cold_start: {mean: 1}}"),
                 "stations.1.cold_start: unknown key; did you mean coldStart? (line 4)"),
        BadInput("unknown nested key",
                 document(station1: "{service: {mean: 0.3, cv: 1}}"),
                 "stations.1.service.cv: unknown key; did you mean scv? (line 4)"),
        BadInput("unknown key without a close match",
                 document(station1: "{service: {mean: 0.3}, color: red}"),
                 "stations.1.color: unknown key; expected one of: name, servers, service, setup, maxBatch, "
                    + "timeout, coldStart, keepAlive (line 4)"),
        BadInput("unknown top-level key",
                 document() + "\nruns: {jobs: 5}",
                 "runs: unknown key; did you mean run? (line 7)"),
        BadInput("unknown top-level key without a close match",
                 "arrival: {rate: 1}\nsimulation: {}",
                 "simulation: unknown key; expected one of: arrival, batch, stations, run (line 2)"),
        BadInput("misspelt section reported before the missing one",
                 "arrival: {rate: 1}\nstation: []",
                 "station: unknown key; did you mean stations? (line 2)"),
        BadInput("unknown run key",
                 document(run: "{replication: 3}"),
                 "run.replication: unknown key; did you mean replications? (line 6)"),
        BadInput("unknown batch dist",
                 document(batch: "{dist: geometic, mean: 2}"),
                 "batch.dist: unknown value \"geometic\"; did you mean geometric? (line 2)"),
        BadInput("unknown batch dist without a close match",
                 document(batch: "{dist: poisson, mean: 2}"),
                 "batch.dist: unknown value \"poisson\"; expected one of: deterministic, geometric, uniform, "
                    + "empirical (line 2)"),

        // Wrong types.
        BadInput("word for a number",
                 document(arrival: "{rate: fast}"),
                 "arrival.rate: expected a number, got \"fast\" (line 1)"),
        BadInput("quoted number",
                 document(arrival: "{rate: \"0.5\"}"),
                 "arrival.rate: expected a number, got the string \"0.5\"; write it without quotes (line 1)"),
        BadInput("fraction for a whole number",
                 document(station1: "{service: {mean: 0.3}, servers: 2.5}"),
                 "stations.1.servers: expected a whole number, got 2.5 (line 4)"),
        BadInput("list for a mapping",
                 document(station1: "{service: [0.3, 1]}"),
                 "stations.1.service: expected a mapping, got a list (line 4)"),
        BadInput("mapping for a number",
                 document(station1: "{service: {mean: {value: 0.3}}}"),
                 "stations.1.service.mean: expected a number, got a mapping (line 4)"),
        BadInput("empty value for a required number",
                 "arrival:\n  rate:\nstations: []",
                 "arrival.rate: expected a number, got no value (line 2)"),
        BadInput("negative seed",
                 document(run: "{seed: -1}"),
                 "run.seed: expected a non-negative whole number, got -1 (line 6)"),
        BadInput("mapping for the station list",
                 "arrival: {rate: 1}\nstations: {edge: {service: {mean: 1}}}",
                 "stations: expected a list, got a mapping (line 2)"),
        BadInput("top level is a list",
                 "- arrival",
                 "expected a mapping at the top level, got a list (line 1)"),
        BadInput("empty document",
                 "# nothing here\n",
                 "the configuration is empty; it needs at least arrival and stations"),

        // Out of range.
        BadInput("negative scv",
                 document(station1: "{service: {mean: 0.3, scv: -1}}"),
                 "stations.1.service.scv: must be >= 0, got -1 (line 4)"),
        BadInput("zero rate",
                 document(arrival: "{rate: 0}"),
                 "arrival.rate: must be > 0, got 0 (line 1)"),
        BadInput("infinite rate",
                 document(arrival: "{rate: .inf}"),
                 "arrival.rate: must be a finite number, got .inf (line 1)"),
        BadInput("zero servers",
                 document(station2: "{service: {mean: 0.05}, servers: 0}"),
                 "stations.2.servers: must be >= 1, got 0 (line 5)"),
        BadInput("infinite timeout",
                 document(station2: "{service: {mean: 0.05}, timeout: .inf}"),
                 "stations.2.timeout: must be a finite number, got .inf (line 5)"),
        BadInput("negative keepAlive",
                 document(station2: "{service: {mean: 0.05}, keepAlive: -1.0}"),
                 "stations.2.keepAlive: must be >= 0, got -1 (line 5)"),
        BadInput("negative cold start",
                 document(station2: "{service: {mean: 0.05}, coldStart: {mean: -0.5}}"),
                 "stations.2.coldStart.mean: must be >= 0, got -0.5 (line 5)"),
        BadInput("warm-up of 1",
                 document(run: "{warmup: 1}"),
                 "run.warmup: must be >= 0 and < 1, got 1 (line 6)"),
        BadInput("precision of 1",
                 document(run: "{precision: 1}"),
                 "run.precision: must be > 0 and < 1, got 1 (line 6)"),
        BadInput("zero jobs",
                 document(run: "{jobs: 0}"),
                 "run.jobs: must be >= 1, got 0 (line 6)"),
        BadInput("maxJobs below jobs",
                 document(run: "{jobs: 10000, maxJobs: 5000}"),
                 "run.maxJobs: must be >= run.jobs (10000), got 5000 (line 6)"),
        BadInput("zero threads",
                 document(run: "{threads: 0}"),
                 "run.threads: must be >= 1, got 0 (line 6)"),

        // Missing keys.
        BadInput("missing service mean",
                 document(station1: "{service: {scv: 1}}"),
                 "stations.1.service.mean: required key is missing (line 4)"),
        BadInput("missing service",
                 document(station1: "{name: edge}"),
                 "stations.1.service: required key is missing (line 4)"),
        BadInput("missing arrival",
                 "stations: []",
                 "arrival: required key is missing"),
        BadInput("missing arrival rate",
                 document(arrival: "{scv: 1}"),
                 "arrival.rate: required key is missing (line 1)"),
        BadInput("missing stations",
                 "arrival: {rate: 1}",
                 "stations: required key is missing"),

        // Station count.
        BadInput("no stations",
                 "arrival: {rate: 0.5}\nstations: []",
                 "stations: a workflow chains 1 to 16 stations, got 0 (line 2)"),
        BadInput("seventeen stations",
                 "arrival: {rate: 0.5}\nstations:\n" + String(repeating: "  - {service: {mean: 0.1}}\n", count: 17),
                 "stations: a workflow chains 1 to 16 stations, got 17 (line 3)"),

        // Batch sizes.
        BadInput("deterministic mean not whole",
                 document(batch: "{dist: deterministic, mean: 2.5}"),
                 "batch.mean: must be a whole number >= 1 for dist deterministic, got 2.5 (line 2)"),
        BadInput("default dist with mean below 1",
                 document(batch: "{mean: 0}"),
                 "batch.mean: must be a whole number >= 1 for dist deterministic, got 0 (line 2)"),
        BadInput("geometric mean below 1",
                 document(batch: "{dist: geometric, mean: 0.5}"),
                 "batch.mean: must be >= 1 for dist geometric, got 0.5 (line 2)"),
        BadInput("uniform mean not a half number",
                 document(batch: "{dist: uniform, mean: 2.3}"),
                 "batch.mean: must be a whole or half number >= 1 for dist uniform (sizes 1 ... 2*mean-1), "
                    + "got 2.3 (line 2)"),
        BadInput("uniform mean below 1",
                 document(batch: "{dist: uniform, mean: 0.5}"),
                 "batch.mean: must be a whole or half number >= 1 for dist uniform (sizes 1 ... 2*mean-1), "
                    + "got 0.5 (line 2)"),
        BadInput("empirical lengths differ",
                 document(batch: "{dist: empirical, values: [1, 2, 4], weights: [0.5, 0.5]}"),
                 "batch.weights: must have as many entries as batch.values (3), got 2 (line 2)"),
        BadInput("empirical value below 1",
                 document(batch: "{dist: empirical, values: [1, 0], weights: [1, 1]}"),
                 "batch.values.2: must be >= 1, got 0 (line 2)"),
        BadInput("empirical value not whole",
                 document(batch: "{dist: empirical, values: [1.5], weights: [1]}"),
                 "batch.values.1: expected a whole number, got 1.5 (line 2)"),
        BadInput("empirical weights sum to 0",
                 document(batch: "{dist: empirical, values: [1, 2], weights: [0, 0]}"),
                 "batch.weights: must have a positive sum, got 0 (line 2)"),
        BadInput("empirical negative weight",
                 document(batch: "{dist: empirical, values: [1, 2], weights: [1, -1]}"),
                 "batch.weights.2: must be >= 0, got -1 (line 2)"),
        BadInput("empirical without weights",
                 document(batch: "{dist: empirical, values: [1, 2]}"),
                 "batch.weights: required key is missing (line 2)"),
        BadInput("empirical with a mean",
                 document(batch: "{dist: empirical, mean: 2, values: [1, 2], weights: [1, 1]}"),
                 "batch.mean: not used with dist empirical; the mean follows from batch.values and batch.weights "
                    + "(line 2)"),
        BadInput("values for another dist",
                 document(batch: "{dist: geometric, mean: 2, values: [1, 2]}"),
                 "batch.values: only used with dist empirical, but batch.dist is geometric (line 2)"),
        BadInput("weights without a dist",
                 document(batch: "{weights: [1, 2]}"),
                 "batch.weights: only used with dist empirical, but batch.dist is deterministic (the default) "
                    + "(line 2)"),

        // Run settings that depend on each other.
        BadInput("precision with one replication",
                 document(run: "{replications: 1, precision: 0.01}"),
                 "run.precision: needs run.replications >= 2 to estimate a confidence interval, got 1 (line 6)"),
        BadInput("control variates not a flag",
                 document(run: "{controlVariates: maybe}"),
                 "run.controlVariates: expected true or false, got \"maybe\" (line 6)"),

        // Trace replay: keys that do not go with it (checked before the file is read).
        BadInput("trace with rate",
                 document(arrival: "{trace: jobs.csv, rate: 1}"),
                 "arrival.rate: not used with arrival.trace: the arrivals come from the trace; leave it out (line 1)"),
        BadInput("trace key misspelt",
                 document(arrival: "{trace: jobs.csv, batchWindw: 0.1}"),
                 "arrival.batchWindw: unknown key; did you mean batchWindow? (line 1)"),
        BadInput("trace key without trace",
                 document(arrival: "{rate: 1, timeUnit: ms}"),
                 "arrival.timeUnit: only used with arrival.trace (replaying a trace file) (line 1)"),
        BadInput("trace time unit",
                 document(arrival: "{trace: jobs.csv, timeUnit: sec}"),
                 "arrival.timeUnit: unknown value \"sec\"; expected one of: s, ms, us (line 1)"),
        BadInput("trace missing file",
                 document(arrival: "{trace: /nonexistent/jobs.csv}"),
                 "arrival.trace: /nonexistent/jobs.csv: no such file (line 1)"),

        // Stability.
        BadInput("unstable first station",
                 document(station1: "{name: edge, service: {mean: 2.5}}"),
                 "stations.1: offered load 2.5 >= 1 at edge: jobs arrive at 1 per second (0.5 batches per second "
                    + "of 2 jobs on average) and each needs 2.5 s of service on 1 server, which can serve at most "
                    + "0.4 jobs per second; the queue would grow without bound (line 4)"),
        BadInput("unstable second station with setup",
                 document(arrival: "{rate: 1}",
                          station2: "{name: cloud, service: {mean: 0.5}, setup: 0.1, maxBatch: 8}"),
                 "stations.2: offered load 1.025 >= 1 at cloud: jobs arrive at 2 per second (1 batch per second "
                    + "of 2 jobs on average) and each needs 0.5 s of service (plus setup 0.1 s per invocation of "
                    + "up to 8 jobs) on 1 server, which can serve at most 1.951 jobs per second; the queue would "
                    + "grow without bound (line 5)"),
        BadInput("load of exactly 1 on unnamed stations",
                 """
                 arrival: {rate: 4}
                 stations:
                   - {servers: 2, service: {mean: 0.5}}
                   - {service: {mean: 0.1}}
                 """,
                 "stations.1: offered load 1 >= 1: jobs arrive at 4 per second and each needs 0.5 s of service on "
                    + "2 servers, which can serve at most 4 jobs per second; the queue would grow without bound "
                    + "(line 3)"),
    ]

    @Test(arguments: badInputs)
    func errorMessage(_ input: BadInput) {
        #expect(Self.failure(input.text) == input.expected)
    }

    // MARK: Syntax and files

    @Test func yamlSyntaxErrorIsExplained() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse("arrival: {rate: 0.5\nstations: []\n")
        }
        #expect(error.path == "")
        #expect(error.message.hasPrefix("configuration is not valid YAML: "), "\(error.message)")
        #expect(error.message.contains("line "), "\(error.message)")
    }

    @Test func duplicateKeysAreReported() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse("arrival: {rate: 0.5}\narrival: {rate: 1}\n")
        }
        #expect(error.description
            == "configuration is not valid: key \"arrival\" given more than once in the same mapping (line 1)")
    }

    @Test func missingFileIsNamed() throws {
        let path = "/nonexistent/duet-config.yaml"
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path) }
        #expect(error.description == "cannot read configuration file /nonexistent/duet-config.yaml: no such file")
    }

    @Test func loadReadsAFileAndNamesItInSyntaxErrors() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("duet-config-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let good = directory.appendingPathComponent("tandem.yaml").path
        try Self.modelExample.write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try ConfigLoader.load(path: good) == Self.modelExampleConfig)

        let bad = directory.appendingPathComponent("broken.yaml").path
        try "arrival: {rate: 0.5\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: bad) }
        #expect(error.message.hasPrefix("\(bad) is not valid YAML: "), "\(error.message)")

        let directoryError = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: directory.path) }
        #expect(directoryError.message == "cannot read configuration file \(directory.path): it is a directory")
    }

    // MARK: Stability for configurations built in code

    @Test func checkStabilityAcceptsAStableConfig() throws {
        try ConfigLoader.checkStability(Self.modelExampleConfig)
    }

    @Test func checkStabilityNamesTheStation() throws {
        var config = Self.modelExampleConfig
        config.stations[1].servers = 1  // 2 jobs/s x (0.05 + 0.1/8) s = 0.125 per server: still fine
        config.stations[1].service.mean = 1
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.checkStability(config) }
        #expect(error.path == "stations.2")
        #expect(error.line == nil)
        #expect(error.message.hasPrefix("offered load 2.025 >= 1 at cloud: jobs arrive at 2 per second"))
    }

    // MARK: The generic reader

    @Test(arguments: [
        ("maxbatch", ["maxBatch", "maxJobs"], "maxBatch"),
        ("max_batch", ["maxBatch"], "maxBatch"),
        ("sevrers", ["servers", "service"], "servers"),
        ("replication", ["replications", "run"], "replications"),
        ("warm", ["warmup", "seed"], "warmup"),
        ("colour", ["name", "servers"], nil),
        ("x", ["a", "b"], nil),
        ("cv", ["mean", "scv"], "scv"),
        ("xyz", ["abc"], nil),
    ] as [(String, [String], String?)])
    func suggestions(_ word: String, _ candidates: [String], _ expected: String?) {
        #expect(ConfigNode.suggestion(for: word, among: candidates) == expected)
    }

    @Test func pathsAndLinesAreTracked() throws {
        let root = try ConfigNode.parse(yaml: """
            list:
              - a: 1
              - a: [x, y]
            """)
        let items = try root.mapping().sequence("list")
        #expect(items.map(\.path) == ["list.1", "list.2"])
        let inner = try items[1].mapping().sequence("a")
        #expect(inner.map(\.path) == ["list.2.a.1", "list.2.a.2"])
        #expect(inner[1].line == 3)
        #expect(try inner[1].string() == "y")
    }

    @Test func typedGettersHandleDefaultsAndNulls() throws {
        let map = try ConfigNode.parse(yaml: "a: 1_000\nb: ~\nc: yes\nd: \"text\"\ne: 7").mapping()
        #expect(try map.int("a") == 1000)
        #expect(try map.int("b", default: 5) == 5)
        #expect(try map.intIfPresent("b") == nil)
        #expect(try map.bool("c"))
        #expect(try map.string("d") == "text")
        #expect(try map.uint64("e") == 7)
        #expect(try map.double("missing", default: 2.5) == 2.5)
        #expect(map.keys == ["a", "b", "c", "d", "e"])
        #expect(map.contains("b") && map["b"] == nil)
        #expect(ConfigNode.format(-1.0) == "-1" && ConfigNode.format(0.25) == "0.25")
        #expect(ConfigNode.format(.infinity) == "infinity")
    }
}
