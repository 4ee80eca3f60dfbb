// `duet validate` through the built binary: a model trained on the small sweep, a
// Poisson trace written here, a 2 x 2 grid; the JSON's shape and counts, the text
// table, and errors that name the grid entry or the trace column at fault. (The
// numbers themselves are checked against closed forms in TraceValidationTests.)

import Foundation
import Testing

@Suite("duet validate")
struct ValidateCLITests {
    /// A Poisson trace: `jobs` rows of a numeric time column `t` at 1.5 per second,
    /// with a work column `w` of exponential multipliers (both from a fixed LCG, so
    /// the file is the same on every run).
    static func trace(jobs: Int) -> String {
        var state: UInt64 = 12345
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 1) / Double(1 << 53)
        }
        var text = "t,w\n"
        var time = 0.0
        for _ in 0..<jobs {
            time += -log(uniform()) / 1.5
            text += String(format: "%.6f,%.6f\n", time, -log(uniform()))
        }
        return text
    }

    static let grid = """
        base:
          arrival: { rate: 1 }
          stations:
            - { servers: 2, service: { mean: 0.2 } }
            - { servers: 2, service: { mean: 0.3 }, maxBatch: 2, timeout: 0.1 }
        vary:
          stations.2.servers: { choice: [2, 3] }
          stations.2.maxBatch: { int: [1, 2] }
        run: { replications: 4 }
        """

    @Test("a model, a Poisson trace and a 2 x 2 grid: every row, every target, both baselines")
    func smallValidation() throws {
        let scratch = try TemporaryFiles()
        defer { scratch.cleanUp() }
        let data = scratch.directory.appendingPathComponent("small.csv").path
        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--threads", "2"])
        try #require(sweep.status == 0, "\(sweep.summary)")
        let model = scratch.directory.appendingPathComponent("model.json").path
        let train = try DuetBinary.run(["train", data, "--out", model, "--epochs", "20"])
        try #require(train.status == 0, "\(train.summary)")
        let trace = try scratch.write("poisson.csv", Self.trace(jobs: 4000))
        let grid = try scratch.write("grid.yaml", Self.grid)

        let arguments = ["validate", model, "--trace", trace, "--time", "t", "--work", "w", "--stations", grid,
                         "--fit-jobs", "20000"]
        let run = try DuetBinary.run(arguments + ["--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect((object["configurations"] as? NSNumber)?.intValue == 4)
        #expect((object["stable"] as? NSNumber)?.intValue == 4)
        // A Poisson trace is fitted as an always-on source: the renewal description.
        #expect(object["arrival"] as? String == "onoff")
        let targets = try #require(object["targets"] as? [String: [String: Any]])
        let mean = try #require(targets["meanResponse"])
        for key in ["surrogateMape", "analyticMape", "fittedProcessMape", "surrogateVsFittedMape"] {
            #expect((mean[key] as? NSNumber)?.doubleValue.isFinite == true, "\(key) in \(mean)")
        }
        // The fitted process is the trace's own kind here (Poisson, exponential work):
        // its simulation agrees with the replay far better than a 20-epoch surrogate.
        #expect(((mean["fittedProcessMape"] as? NSNumber)?.doubleValue ?? 100) < 10, "\(mean)")
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(rows.count == 4)
        let values = rows.compactMap { $0["values"] as? [String: Any] }
        #expect(values.map { ($0["stations.2.servers"] as? NSNumber)?.intValue ?? 0 } == [2, 2, 3, 3])
        #expect(values.map { ($0["stations.2.maxBatch"] as? NSNumber)?.intValue ?? 0 } == [1, 2, 1, 2])

        let text = try DuetBinary.run(arguments)
        #expect(text.status == 0, "\(text.summary)")
        #expect(text.stdout.contains("4 configurations, 4 stable under the trace"), "\(text.summary)")
        #expect(text.stdout.contains("meanResponse (s) per configuration:"))
    }

    @Test("errors name what is at fault: a continuous grid entry, a missing trace column")
    func errors() throws {
        let scratch = try TemporaryFiles()
        defer { scratch.cleanUp() }
        let trace = try scratch.write("poisson.csv", Self.trace(jobs: 50))
        let continuous = try scratch.write("grid.yaml", Self.grid.replacingOccurrences(
            of: "stations.2.servers: { choice: [2, 3] }", with: "stations.2.timeout: { uniform: [0, 0.2] }"))
        let model = "no-model.json"
        var run = try DuetBinary.run(["validate", model, "--trace", trace, "--time", "t", "--stations", continuous])
        #expect(run.status != 0)
        #expect(run.stderr.contains("no-model.json"), "\(run.summary)")

        // With a model that exists, the grid and trace problems surface.
        let data = scratch.directory.appendingPathComponent("small.csv").path
        _ = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--threads", "2"])
        let real = scratch.directory.appendingPathComponent("model.json").path
        _ = try DuetBinary.run(["train", data, "--out", real, "--epochs", "2"])
        run = try DuetBinary.run(["validate", real, "--trace", trace, "--time", "t", "--stations", continuous])
        #expect(run.status != 0)
        #expect(run.stderr.contains("vary.stations.2.timeout: the grid needs a list of values"), "\(run.summary)")
        run = try DuetBinary.run(["validate", real, "--trace", trace, "--time", "time", "--stations", continuous])
        #expect(run.status != 0)
        #expect(run.stderr.contains("column time: no such column") && run.stderr.contains("\"t\", \"w\""),
                "\(run.summary)")
    }

    @Test("a sweep over a trace, in-process and on 2 local workers; validate --arrival trace and predict agree")
    func traceTrainedSurrogate() throws {
        let scratch = try TemporaryFiles()
        defer { scratch.cleanUp() }
        _ = try scratch.write("poisson.csv", Self.trace(jobs: 1500))
        let sweepSpec = try scratch.write("trace-sweep.yaml", """
            base:
              arrival: { trace: poisson.csv, time: t, work: w }
              stations:
                - { servers: 2, service: { mean: 0.2 } }
                - { servers: 2, service: { mean: 0.3 } }
            vary:
              stations.2.servers: { int: [2, 3] }
              stations.2.maxBatch: { int: [1, 3] }
            design: { method: sobol, points: 12 }
            run: { replications: 2, precision: off }
            """)
        let data = scratch.directory.appendingPathComponent("trace.csv").path
        let sweep = try DuetBinary.run(["sweep", sweepSpec, "--out", data, "--threads", "2"])
        try #require(sweep.status == 0, "\(sweep.summary)")
        // On local workers, which get the trace file as the run's blob: the same rows.
        let local = try DuetBinary.run(["sweep", sweepSpec, "--out", data + ".local.csv", "--local", "2"])
        #expect(local.status == 0, "\(local.summary)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: data + ".local.csv")) == Data(contentsOf: URL(fileURLWithPath: data)))
        let model = scratch.directory.appendingPathComponent("model.json").path
        let train = try DuetBinary.run(["train", data, "--out", model, "--epochs", "20"])
        try #require(train.status == 0, "\(train.summary)")

        let grid = try scratch.write("grid.yaml", Self.grid)
        let run = try DuetBinary.run(["validate", model, "--trace", scratch.directory.appendingPathComponent("poisson.csv").path,
                                      "--time", "t", "--work", "w", "--stations", grid, "--arrival", "trace", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["arrival"] as? String == "trace")
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(rows.count == 4 && rows.allSatisfy { $0["fittedSimulated"] is NSNull })
        let first = try #require((rows.first?["surrogate"] as? [String: Any])?["meanResponse"] as? NSNumber)

        // duet predict on the first configuration with the trace replayed: the same number.
        let config = try scratch.write("config.yaml", """
            arrival: { trace: poisson.csv, time: t, work: w }
            stations:
              - { servers: 2, service: { mean: 0.2 } }
              - { servers: 2, service: { mean: 0.3 }, maxBatch: 1, timeout: 0.1 }
            """)
        let predict = try DuetBinary.run(["predict", model, config, "--json"])
        #expect(predict.status == 0, "\(predict.summary)")
        #expect(predict.stderr.contains("note: the trace is predicted as a sweep over it records it"))
        #expect(!predict.stderr.contains("warning: batch"), "\(predict.summary)")
        let predicted = try #require(try JSONSerialization.jsonObject(with: Data(predict.stdout.utf8)) as? [String: Any])
        let mean = try #require(predicted["meanResponse"] as? [String: Any])
        #expect((mean["mean"] as? NSNumber)?.doubleValue == first.doubleValue, "\(mean) vs \(first)")
    }
}
