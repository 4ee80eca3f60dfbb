// Sweep specs: reading, the exact text of errors, and how points are made
// (load derivation, rounding, seeds).

import DuetSupport
import Foundation
import Simulation
import Testing
@testable import Search

@Suite("Sweep specs")
struct SweepSpecTests {
    /// A spec with one section per line from line 1: base is lines 1-6, vary starts
    /// at line 7 (its first key on line 8), design and run follow the vary lines.
    static func spec(
        station2: String = "{ servers: 2, service: { mean: 0.2 }, setup: 0.1, maxBatch: 4, timeout: 0.05 }",
        vary: [String] = ["stations.1.load: { uniform: [0.1, 0.9] }"],
        design: String = "{ method: sobol, points: 16, seed: 7 }",
        run: String = "{ jobs: 400, precision: off, replications: 2 }"
    ) -> String {
        """
        base:
          arrival: { rate: 2, scv: 1 }
          batch: { dist: geometric, mean: 2 }
          stations:
            - { servers: 2, service: { mean: 0.3 } }
            - \(station2)
        vary:
        \(vary.map { "  " + $0 }.joined(separator: "\n"))
        design: \(design)
        run: \(run)
        """
    }

    static func failure(_ text: String) -> String? {
        do {
            _ = try SweepSpec.parse(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func readsASpec() throws {
        let spec = try SweepSpec.parse(Self.spec(vary: [
            "arrival.scv: { loguniform: [0.25, 4] }",
            "batch.dist: { choice: [geometric, deterministic] }",
            "stations.2.servers: { int: [1, 16] }",
            "stations.2.keepAlive: { choice: [10, .inf] }",
        ]))
        #expect(spec.parameters.map(\.target.description) == [
            "arrival.scv", "batch.dist", "stations.2.servers", "stations.2.keepAlive",
        ])
        #expect(spec.parameters[0].range == .loguniform(0.25, 4))
        #expect(spec.parameters[1].range == .choice([.name("geometric"), .name("deterministic")]))
        #expect(spec.parameters[2].range == .int(1, 16))
        #expect(spec.parameters[3].range == .choice([.number(10), .number(.infinity)]))
        #expect(spec.design == SweepDesignSettings(method: .sobol, points: 16, seed: 7))
        #expect(spec.run == SweepRunSettings(jobs: 400, precision: nil, replications: 2, warmup: 0.1, maxJobs: 2_000_000))
        #expect(spec.base.stations[1].maxBatch == 4)
    }

    @Test func defaultRunSettingsAimAtPreciseLabels() throws {
        let text = Self.spec().replacingOccurrences(of: "run: { jobs: 400, precision: off, replications: 2 }", with: "")
        let run = try SweepSpec.parse(text).run
        #expect(run == SweepRunSettings(jobs: 20_000, precision: 0.01, replications: 4, warmup: 0.1,
                                        maxJobs: 2_000_000))
        let settings = run.settings(seed: 5)
        #expect(settings.threads == 1 && settings.seed == 5 && settings.precision == 0.01)
    }

    /// Control variates change the labels, so they are part of the dataset's identity;
    /// a spec that leaves them off keeps the fingerprint it had before the key existed.
    @Test func controlVariatesReachEveryPointAndTheFingerprint() throws {
        let plain = try SweepSpec.parse(Self.spec())
        let off = try SweepSpec.parse(Self.spec().replacingOccurrences(
            of: "run: { jobs: 400, precision: off, replications: 2 }",
            with: "run: { jobs: 400, precision: off, replications: 2, controlVariates: false }"))
        let on = try SweepSpec.parse(Self.spec().replacingOccurrences(
            of: "run: { jobs: 400, precision: off, replications: 2 }",
            with: "run: { jobs: 400, precision: off, replications: 2, controlVariates: true }"))
        #expect(off.fingerprint == plain.fingerprint && off.run == plain.run)
        #expect(on.fingerprint != plain.fingerprint)
        #expect(on.run.settings(seed: 3).usesControlVariates && !plain.run.settings(seed: 3).usesControlVariates)
    }

    @Test func aBaseFileIsReadRelativeToTheSpec() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("duet-spec-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
            arrival: { rate: 1 }
            stations:
              - { service: { mean: 0.5 } }
              - { service: { mean: 0.25 } }
            run: { jobs: 1000000 }
            """.write(to: directory.appendingPathComponent("base.yaml"), atomically: true, encoding: .utf8)
        let specPath = directory.appendingPathComponent("sweep.yaml").path
        try """
            base: base.yaml
            vary: { arrival.scv: { uniform: [0, 2] } }
            design: { points: 8 }
            """.write(toFile: specPath, atomically: true, encoding: .utf8)
        let spec = try SweepSpec.load(path: specPath)
        #expect(spec.base.stations[1].service.mean == 0.25)
        #expect(spec.design.method == .sobol && spec.design.seed == 1)
        // The base file's run section is not used.
        #expect(spec.run.jobs == 20_000)

        let badBase = directory.appendingPathComponent("bad.yaml").path
        try "arrival: { rate: 1 }\nstations:\n  - { servers: 0, service: { mean: 0.5 } }\n  - { service: { mean: 0.25 } }"
            .write(toFile: badBase, atomically: true, encoding: .utf8)
        try "base: bad.yaml\nvary: { arrival.scv: { uniform: [0, 2] } }\ndesign: { points: 8 }"
            .write(toFile: specPath, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError(path: "base",
                                    message: "in \(badBase): stations.1.servers: must be >= 1, got 0 (line 3)")) {
            try SweepSpec.load(path: specPath)
        }

        try "base: missing.yaml\nvary: { arrival.scv: { uniform: [0, 2] } }\ndesign: { points: 8 }"
            .write(toFile: specPath, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError(path: "base", message: "cannot read base configuration "
                                        + directory.appendingPathComponent("missing.yaml").path + ": no such file",
                                    line: 1)) {
            try SweepSpec.load(path: specPath)
        }
    }

    @Test(arguments: [
        (["stations.3.servers: { int: [1, 4] }"],
         "vary.stations.3.servers: no such station: the base configuration has 2 stations (stations 1 and 2) (line 8)"),
        (["arival.rate: { uniform: [1, 2] }"], "vary.arival.rate: unknown key path; did you mean arrival.rate? (line 8)"),
        (["stations.1.servrs: { int: [1, 4] }"],
         "vary.stations.1.servrs: unknown station key \"servrs\"; did you mean stations.1.servers? (line 8)"),
        (["stations.1.name: { choice: [a] }"],
         "vary.stations.1.name: unknown station key \"name\"; a sweep can vary servers, service.mean, service.scv, setup, maxBatch, timeout, coldStart.mean, coldStart.scv, keepAlive, load (line 8)"),
        (["arrival.scv: [1, 2]"],
         "vary.arrival.scv: expected a range: one of uniform, loguniform, int, logint or choice, as in { uniform: [low, high] } (line 8)"),
        (["arrival.scv: { unifrom: [1, 2] }"], "vary.arrival.scv.unifrom: unknown key; did you mean uniform? (line 8)"),
        (["arrival.scv: { uniform: [2, 1] }"], "vary.arrival.scv.uniform: expected low < high, got [2, 1] (line 8)"),
        (["arrival.scv: { uniform: [1, 2, 3] }"], "vary.arrival.scv.uniform: expected [low, high], got 3 values (line 8)"),
        (["arrival.scv: { uniform: [1, 2], choice: [1] }"],
         "vary.arrival.scv: give exactly one of uniform, loguniform, int, logint or choice, got uniform and choice (line 8)"),
        (["arrival.scv: { loguniform: [0, 2] }"], "vary.arrival.scv.loguniform.1: must be > 0, got 0 (line 8)"),
        (["arrival.rate: { uniform: [-1, 2] }"], "vary.arrival.rate.uniform.1: must be > 0, got -1 (line 8)"),
        (["stations.2.load: { uniform: [0.5, 1.2] }"], "vary.stations.2.load.uniform.2: must be > 0 and < 1, got 1.2 (line 8)"),
        (["stations.1.servers: { uniform: [1, 4] }"],
         "vary.stations.1.servers.uniform: stations.1.servers is a whole number; use int, logint or choice (line 8)"),
        (["stations.1.servers: { int: [4, 1] }"], "vary.stations.1.servers.int: expected low <= high, got [4, 1] (line 8)"),
        (["stations.1.maxBatch: { choice: [1, 2.5] }"], "vary.stations.1.maxBatch.choice.2: expected a whole number, got 2.5 (line 8)"),
        (["batch.dist: { uniform: [1, 2] }"],
         "vary.batch.dist.uniform: batch.dist is a name; use choice: [deterministic, geometric, uniform] (line 8)"),
        (["batch.dist: { choice: [geometric, determinstic] }"],
         "vary.batch.dist.choice.2: unknown value \"determinstic\"; did you mean deterministic? (line 8)"),
        (["arrival.holdMultiplier: { uniform: [0.5, 2] }"],
         "vary.arrival.holdMultiplier: only used with arrival.mmpp (it lengthens the sources' holds); the base has no Markov-modulated arrivals (line 8)"),
        (["stations.2.timeout: { choice: [0, 0.1], lowShare: 0.5 }"],
         "vary.stations.2.timeout.lowShare: lowShare goes with uniform, loguniform, int or logint; a choice weights a value by listing it more than once (line 8)"),
        (["stations.2.timeout: { uniform: [0, 0.3], lowShare: 1 }"],
         "vary.stations.2.timeout.lowShare: must be > 0 and < 1, got 1 (line 8)"),
        (["stations.2.timeout: { lowShare: 0.2 }"],
         "vary.stations.2.timeout: give exactly one of uniform, loguniform, int, logint or choice, got none (line 8)"),
        (["stations.1.load: { uniform: [0.1, 0.9] }", "stations.1.service.mean: { uniform: [0.1, 0.2] }"],
         "vary.stations.1.load: stations.1.service.mean is varied too, but the load sets the service mean; vary one of them (line 8)"),
    ] as [([String], String)])
    func varyErrors(vary: [String], message: String) {
        #expect(Self.failure(Self.spec(vary: vary)) == message)
    }

    @Test func otherErrors() {
        #expect(Self.failure(Self.spec(design: "{ method: halton, points: 8 }"))
                    == "design.method: unknown value \"halton\"; expected one of: sobol, lhs, random (line 9)")
        #expect(Self.failure(Self.spec(design: "{ seed: 3 }")) == "design.points: required key is missing (line 9)")
        #expect(Self.failure(Self.spec(run: "{ seed: 3 }"))
                    == "run.seed: each point's seed is derived from design.seed and the point index; set design.seed (line 10)")
        #expect(Self.failure(Self.spec(run: "{ precision: 0.01, replications: 1 }"))
                    == "run.replications: a precision target needs at least 2 replications to estimate a half-width, got 1; or set precision: off (line 10)")
        #expect(Self.failure(Self.spec(run: "{ job: 100 }")) == "run.job: unknown key; did you mean jobs? (line 10)")
        #expect(Self.failure(Self.spec() + "\ndesing: {}") == "desing: unknown key; did you mean design? (line 11)")
        #expect(Self.failure("base: { arrival: { rate: 1 }, stations: [{ service: { mean: 0.5 } }, { service: { mean: 0.1 } }], run: { jobs: 5 } }\nvary: { arrival.scv: { uniform: [0, 1] } }\ndesign: { points: 4 }")
                    == "base.run: per-point run settings go in the spec's top-level run section (line 1)")
        // Errors inside an inline base carry the spec's path.
        #expect(Self.failure(Self.spec(station2: "{ servers: 0, service: { mean: 0.2 } }"))
                    == "base.stations.2.servers: must be >= 1, got 0 (line 6)")
    }

    // MARK: Points

    @Test func loadsSetTheServiceMean() throws {
        let station2 = "{ servers: 2, service: { mean: 0.2 }, setup: 0.01, maxBatch: 4, timeout: 0.05 }"
        let spec = try SweepSpec.parse(Self.spec(station2: station2, vary: [
            "stations.1.load: { uniform: [0.1, 0.9] }",
            "stations.2.load: { uniform: [0.3, 0.9] }",
            "stations.2.servers: { int: [1, 8] }",
            "batch.mean: { uniform: [1, 8] }",
            "arrival.rate: { loguniform: [0.5, 4] }",
        ]))
        let design = try spec.makeDesign()
        for index in 0..<design.points {
            let point = spec.point(index, of: design)
            #expect(point.problem == nil)
            let loads = point.config.offeredLoads
            // The derivation inverts offeredLoads exactly up to rounding.
            #expect(abs(loads[0] - point.values[0].number!) < 1e-12)
            #expect(abs(loads[1] - point.values[1].number!) < 1e-12)
            #expect(point.config.stations[1].servers == Int(point.values[2].number!))
            #expect(point.config.run.seed == SweepSpec.pointSeed(designSeed: 7, index: index))
            #expect(point.config.run.threads == 1)
        }
    }

    @Test func anUnreachableLoadMakesAnInvalidPoint() throws {
        // Station 2: setup 0.1 s per invocation of up to 4 jobs at 4 jobs/s on 2 servers
        // is a load of 0.05 before any service.
        let spec = try SweepSpec.parse(Self.spec(vary: ["stations.2.load: { choice: [0.04, 0.5] }"]))
        let low = spec.point(0, coordinates: [0.1])
        #expect(low.problem == "stations.2.load 0.04 cannot be reached: setup alone (0.1 s per invocation of up to 4 jobs) gives an offered load of 0.05")
        #expect(low.config.stations[1].service.mean < 0)
        #expect(spec.point(1, coordinates: [0.9]).problem == nil)
    }

    @Test func anUnstablePointIsFlaggedUpFront() throws {
        // Station 1 needs 0.3 s per job on 2 servers: unstable above 6.67 jobs/s.
        let spec = try SweepSpec.parse(Self.spec(vary: ["arrival.rate: { uniform: [1, 5] }"]))
        let point = spec.point(0, coordinates: [0.9])
        #expect(point.problem?.hasPrefix("stations.1: offered load 1.38 >= 1") == true)
    }

    @Test func batchMeansAreRoundedToWhatTheDistSupports() throws {
        let spec = try SweepSpec.parse(Self.spec(vary: [
            "batch.dist: { choice: [deterministic, uniform, geometric] }",
            "batch.mean: { uniform: [1, 16] }",
        ]))
        let mean = 1 + 0.3 * 15  // 5.5
        #expect(spec.point(0, coordinates: [0.1, 0.3]).config.batch == .deterministic(6))
        #expect(spec.point(0, coordinates: [0.5, 0.3]).config.batch == .uniform(mean: 5.5))
        #expect(spec.point(0, coordinates: [0.9, 0.3]).config.batch == .geometric(mean: mean))
        #expect(spec.point(0, coordinates: [0.1, 0.31]).config.batch == .deterministic(6))
        #expect(spec.point(0, coordinates: [0.5, 0.32]).config.batch == .uniform(mean: 6))
    }

    @Test func scvsBecomeWhatTheSimulatorRealises() throws {
        let spec = try SweepSpec.parse(Self.spec(vary: [
            "arrival.scv: { uniform: [0, 4] }", "stations.2.service.scv: { choice: [0.3, 0.7, 2.5] }",
        ]))
        // Erlang-k with k = round(1/scv): 0.3 -> k 3, 0.7 -> k 1 (exponential); 0 and > 1 stay.
        #expect(spec.point(0, coordinates: [0.075, 0.1]).config.interArrival.scv == 1.0 / 3)  // 0.3
        #expect(spec.point(0, coordinates: [0.1, 0.1]).config.interArrival.scv == 1.0 / 3)  // 0.4: 2.5 rounds up
        #expect(spec.point(0, coordinates: [0.125, 0.1]).config.interArrival.scv == 0.5)
        #expect(spec.point(0, coordinates: [0, 0.1]).config.stations[1].service.scv == 1.0 / 3)
        #expect(spec.point(0, coordinates: [0, 0.5]).config.stations[1].service.scv == 1)
        #expect(spec.point(0, coordinates: [0, 0.9]).config.stations[1].service.scv == 2.5)
        #expect(spec.point(0, coordinates: [0, 0.9]).config.interArrival.scv == 0)
        #expect(spec.point(0, coordinates: [0.5, 0.9]).config.interArrival.scv == 2)
    }

    @Test func theFingerprintFollowsTheContent() throws {
        let a = try SweepSpec.parse(Self.spec())
        let b = try SweepSpec.parse(Self.spec() + "\n# a comment changes nothing")
        let c = try SweepSpec.parse(Self.spec(vary: ["stations.1.load: { uniform: [0.1, 0.8] }"]))
        let d = try SweepSpec.parse(Self.spec(design: "{ method: sobol, points: 99, seed: 7 }"))
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint != c.fingerprint)
        // The point count is kept beside the fingerprint, not in it.
        #expect(a.fingerprint == d.fingerprint)
        #expect(a.fingerprint.count == 64)
    }

    @Test("An MMPP base of several levels: its jump rows are part of the fingerprint")
    func multiLevelMMPPFingerprint() throws {
        func spec(_ next: String) -> String {
            """
            base:
              arrival:
                mmpp:
                  - { rates: [0, 2, 8], meanHolds: [40, 10, 4], next: [\(next)] }
              stations:
                - { service: { mean: 0.1 } }
            vary:
              stations.1.servers: { int: [1, 4] }
            design: { method: sobol, points: 10, seed: 1 }
            """
        }
        let a = try SweepSpec.parse(spec("[0, 0.7, 0.3], [0.8, 0, 0.2], [0.9, 0.1, 0]"))
        let b = try SweepSpec.parse(spec("[0, 0.3, 0.7], [0.8, 0, 0.2], [0.9, 0.1, 0]"))
        #expect(a.base.mmpp?.sources.first?.next?[0] == [0, 0.7, 0.3])
        // Same rates and holds, other jumps: another process, so another dataset.
        #expect(a.fingerprint != b.fingerprint)
    }

    @Test("A sweep over an MMPP base varies how long its bursts last and how fast it runs")
    func modulatedFamily() throws {
        let spec = try SweepSpec.parse("""
            base:
              arrival:
                mmpp:
                  - { rates: [1, 6], meanHolds: [4, 1] }
              stations:
                - { servers: 4, service: { mean: 0.1 } }
            vary:
              arrival.holdMultiplier: { loguniform: [0.25, 4] }
              arrival.rateMultiplier: { uniform: [0.5, 2] }
            design: { method: sobol, points: 16, seed: 1 }
            """)
        let design = try spec.makeDesign()
        for index in 0..<16 {
            let point = spec.point(index, of: design)
            let holds = try #require(point.values[0].number), rate = try #require(point.values[1].number)
            // Rate 2 written (configuration test); long-run dispersion 1 + 3.2 x the hold multiplier.
            #expect(abs(point.config.arrivalRate / (2 * rate) - 1) < 1e-12)
            #expect(abs(point.config.arrivalScv - (1 + 3.2 * holds)) < 1e-9 * (1 + 3.2 * holds))
            #expect(point.config.holdMultiplier == holds && point.config.rateMultiplier == rate)
        }
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256Hasher.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Hasher.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hasher.hex(String(repeating: "a", count: 1000))
                    == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test("the widest whole-number ranges and a huge deterministic batch mean make points, not overflow traps")
    func widestRangesMakePoints() throws {
        let spec = try SweepSpec.parse(Self.spec(vary: [
            "stations.2.timeout: { int: [0, 9223372036854775807] }",
            "stations.1.servers: { logint: [1, 9223372036854775807] }",
            "stations.2.maxBatch: { int: [1, 9223372036854775807] }",
            "batch.dist: { choice: [deterministic] }",
            "batch.mean: { uniform: [1, 1e300] }",
        ], design: "{ method: random, points: 4, seed: 1 }"))
        for u in [0, 0.5, 0.999_999] {
            let point = spec.point(0, coordinates: Array(repeating: u, count: 5))
            let timeout = point.config.stations[1].timeout
            #expect(timeout >= 0 && timeout <= 0x1p63 && timeout == timeout.rounded(), "u \(u): timeout \(timeout)")
            #expect(point.config.stations[0].servers >= 1)
            #expect(point.config.stations[1].maxBatch >= 1)
            guard case .deterministic(let size) = point.config.batch else {
                Issue.record("u \(u): batch \(point.config.batch)")
                continue
            }
            // Beyond every Int from u = 0.5 on (5e299): the largest Int.
            #expect(u == 0 ? size == 1 : size == Int.max, "u \(u): size \(size)")
        }
    }

    @Test("configurations beyond the design continue a Sobol design past its points and leave out unstable ones")
    func configurationsBeyondTheDesign() throws {
        // Station 1's setup alone reaches an offered load of 2 x setup (4 jobs a second
        // on 2 servers): above half the drawn load, the point cannot be realised.
        let spec = try SweepSpec.parse(Self.spec(vary: ["stations.1.load: { uniform: [0.1, 0.9] }",
                                                        "arrival.scv: { uniform: [0.5, 2] }",
                                                        "stations.1.setup: { uniform: [0, 1] }"]))
        let drawn = try spec.configurationsBeyondDesign(count: 64)
        let longer = try spec.makeDesign(points: 16 + 64)
        let expected = (16..<80).map { spec.point($0, of: longer) }.filter { $0.problem == nil }.map(\.config)
        #expect(drawn.configs.count == expected.count && drawn.leftOut == 64 - expected.count)
        #expect(drawn.leftOut > 0, "a setup above half the load is drawn about three quarters of the time")
        #expect(zip(drawn.configs, expected).allSatisfy { $0.0.arrivalScv == $0.1.arrivalScv
            && $0.0.stations[0].service.mean == $0.1.stations[0].service.mean })
        // None is one of the spec's own 16 points.
        let ownDesign = try spec.makeDesign()
        let own = Set((0..<16).map { spec.point($0, of: ownDesign).config.stations[0].service.mean })
        #expect(drawn.configs.allSatisfy { !own.contains($0.stations[0].service.mean) })
        #expect(drawn.configs.allSatisfy { $0.offeredLoads.allSatisfy { $0 < 1 } })
    }

    @Test("lowShare puts that share of the points at the range's low end and spreads the rest over the range")
    func aShareOfPointsAtTheLowEnd() throws {
        let spec = try SweepSpec.parse(Self.spec(
            vary: ["stations.2.timeout: { uniform: [0, 0.3], lowShare: 0.25 }"],
            design: "{ method: sobol, points: 256, seed: 7 }"))
        #expect(spec.parameters[0].range.description == "uniform [0, 0.3], lowShare 0.25")
        let design = try spec.makeDesign()
        let timeouts: [Double] = (0..<256).map { spec.point($0, of: design).config.stations[1].timeout }
        // A scrambled Sobol axis puts exactly one point in each 1/256 of [0, 1): 64 fall below 0.25.
        let atZero = timeouts.filter { $0 == 0 }
        let rest = timeouts.filter { $0 > 0 }
        #expect(atZero.count == 64)
        #expect(rest.count == 192 && rest.allSatisfy { $0 <= 0.3 })
        // The rest is uniform on [0, 0.3]: its mean 0.15, its thirds a third each.
        let mean = rest.reduce(0, +) / Double(rest.count)
        #expect(abs(mean - 0.15) < 0.01)
        #expect(rest.filter { $0 < 0.1 }.count == 64)
        // Without lowShare, a uniform range from 0 never draws 0 itself.
        let plain = try SweepSpec.parse(Self.spec(vary: ["stations.2.timeout: { uniform: [0, 0.3] }"],
                                                  design: "{ method: sobol, points: 256, seed: 7 }"))
        let plainDesign = try plain.makeDesign()
        #expect((0..<256).allSatisfy { plain.point($0, of: plainDesign).config.stations[1].timeout > 0 })
    }

    @Test("a Latin hypercube, which does not extend, gives a random design's configurations instead")
    func configurationsBeyondALatinHypercube() throws {
        let spec = try SweepSpec.parse(Self.spec(design: "{ method: lhs, points: 16, seed: 7 }"))
        let drawn = try spec.configurationsBeyondDesign(count: 40)
        #expect(drawn.configs.count == 40 && drawn.leftOut == 0)
        let loads = drawn.configs.map { $0.offeredLoads[0] }
        #expect(loads.allSatisfy { (0.1...0.9).contains($0) })
        #expect(Set(loads).count == 40, "40 different points")
        #expect(try spec.configurationsBeyondDesign(count: 0).configs.isEmpty)
    }
}
