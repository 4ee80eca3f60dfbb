// `--json` on the commands that do long work: stdout is one JSON object whose fields
// agree with the files the command wrote and with what the command line asked for;
// the text summary and the progress are on stderr.

import Foundation
import Testing

@Suite("CLI --json summaries")
struct JSONSummaryCLITests {
    /// stdout parsed as one JSON object (fails the test when it is not).
    static func object(_ run: CLIRun) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        return try #require(parsed as? [String: Any], "stdout is not one JSON object:\n\(run.summary)")
    }

    static func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }

    @Test("sweep --json, then train --json on its dataset")
    func sweepAndTrain() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let data = files.directory.appendingPathComponent("small.csv").path
        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--points", "8", "--json"])
        #expect(sweep.status == 0, "\(sweep.summary)")
        let summary = try Self.object(sweep)
        #expect(Self.int(summary["points"]) == 8)
        #expect(Self.int(summary["simulated"]) == 8)
        #expect(Self.int(summary["alreadyDone"]) == 0)
        #expect(summary["out"] as? String == data)
        #expect((summary["failedPoints"] as? [Any])?.isEmpty == true)
        #expect(sweep.stderr.contains("8 points in \(data)"), "the text summary goes to stderr: \(sweep.summary)")
        let rows = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n").count - 1
        #expect(rows == 8)
        let skipped = (Self.int(summary["unstable"]) ?? 0) + (Self.int(summary["invalid"]) ?? 0)

        // The same command again: everything is done before.
        let again = try Self.object(try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--points", "8",
                                                        "--json"]))
        #expect(Self.int(again["alreadyDone"]) == 8)
        #expect(Self.int(again["simulated"]) == 0)

        let model = files.directory.appendingPathComponent("model.json").path
        let train = try DuetBinary.run(["train", data, "--out", model, "--epochs", "2", "--width", "8", "--json"])
        #expect(train.status == 0, "\(train.summary)")
        let trained = try Self.object(train)
        #expect(trained["out"] as? String == model)
        #expect(FileManager.default.fileExists(atPath: model))
        #expect((Self.int(trained["epochs"]) ?? 0) >= 1 && (Self.int(trained["epochs"]) ?? 99) <= 2)
        let split = try #require(trained["configurations"] as? [String: Any])
        #expect(Self.int(split["skipped"]) == skipped)
        let used = ["train", "validation", "test"].compactMap { Self.int(split[$0]) }.reduce(0, +)
        #expect(used + skipped == 8, "every row is in one split or skipped: \(split)")
        // The metrics are the model file's.
        let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model)))
                                as? [String: Any])
        let fileMetrics = try #require(file["metrics"] as? [String: [String: Double]])
        let printed = try #require(trained["metrics"] as? [String: [String: Double]])
        #expect(Set(printed.keys) == Set(fileMetrics.keys))
        for (split, values) in fileMetrics {
            for (key, value) in values where value.isFinite {
                let other = printed[split]?[key] ?? .nan
                #expect(abs(other - value) <= 1e-9 * max(1, abs(value)), "\(split).\(key)")
            }
        }
        #expect(train.stderr.contains("test MAPE"), "the text summary goes to stderr")
    }

    @Test("keys generate --json names the files it wrote and the public key in them")
    func keys() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let run = try DuetBinary.run(["keys", "generate", "--out", files.directory.path, "--name", "client", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try Self.object(run)
        let publicFile = try #require(object["publicKeyFile"] as? String)
        let secretFile = try #require(object["secretKeyFile"] as? String)
        #expect(URL(fileURLWithPath: publicFile).lastPathComponent == "client.pub")
        #expect(URL(fileURLWithPath: secretFile).lastPathComponent == "client.key")
        #expect(FileManager.default.fileExists(atPath: secretFile))
        let key = try #require(object["publicKey"] as? String)
        #expect(key.count == 40, "a Z85 CURVE key has 40 characters")
        #expect(try String(contentsOfFile: publicFile, encoding: .utf8).contains(key))
    }

    static func double(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

    @Test("bench simulate --json: the rates follow from the jobs and the best time, and R1's mean response is past its service")
    func benchSimulate() throws {
        let run = try DuetBinary.run(["bench", "simulate", "--scenario", "r1", "--jobs", "20000", "--repeats", "2", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try Self.object(run)
        #expect(object["scenario"] as? String == "r1")
        #expect(Self.int(object["jobs"]) == 20000 && Self.int(object["stations"]) == 2 && Self.int(object["repeats"]) == 2)
        let seconds = try #require(Self.double(object["bestSeconds"]))
        let rate = try #require(Self.double(object["jobsPerSecond"]))
        #expect(seconds > 0 && abs(rate * seconds / 20000 - 1) < 1e-9)
        #expect(abs(try #require(Self.double(object["jobStationsPerSecond"])) / rate - 2) < 1e-9)
        // Every job is served at both stations (exponential, mean 0.8 s each), so its mean
        // response is at least 1.6 s; R1's queueing adds a few percent, not half.
        let response = try #require(Self.double(object["meanResponse"]))
        #expect(response > 1.6 && response < 2.4, "meanResponse \(response)")
        #expect(!run.stdout.contains("jobs per second:"), "the text summary goes to stderr under --json")
        #expect(run.stderr.contains("jobs per second:"))
    }

    @Test("bench train --json: the figures of a small run, consistent with each other")
    func benchTrain() throws {
        let run = try DuetBinary.run(["bench", "train", "--rows", "600", "--epochs", "2", "--threads", "1",
                                      "--batch-rows", "500", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try Self.object(run)
        #expect(Self.int(object["rows"]) == 600 && Self.int(object["epochs"]) == 2 && Self.int(object["threads"]) == 1)
        let seconds = try #require(Self.double(object["trainingSeconds"]))
        let samples = try #require(Self.double(object["trainingSamplesPerSecond"]))
        #expect(seconds > 0 && abs(samples * seconds / 1200 - 1) < 1e-9)
        #expect(Self.int(object["batchRows"]) == 500)
        #expect((Self.double(object["batchRowsPerSecond"]) ?? 0) > 0 && (Self.double(object["oneRowMicroseconds"]) ?? 0) > 0)
        #expect((object["network"] as? [String: Any])?["activation"] as? String == "silu")
    }

    @Test("bench dispatch --json: every task done exactly once")
    func benchDispatch() throws {
        let run = try DuetBinary.run(["bench", "dispatch", "--tasks", "300", "--workers-in-process", "2", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try Self.object(run)
        #expect(Self.int(object["tasks"]) == 300)
        #expect(Self.int(object["failed"]) == 0)
        #expect(Self.int(object["workersInProcess"]) == 2)
        #expect(object["exactlyOnce"] as? Bool == true)
        #expect(((object["tasksPerSecond"] as? NSNumber)?.doubleValue ?? 0) > 0)
    }

    @Test("bench dispatch --curve: worker processes over loopback tcp:// with fresh CURVE keys, every task once")
    func benchDispatchWithCurve() throws {
        let run = try DuetBinary.run(["bench", "dispatch", "--tasks", "300", "--workers", "1", "--curve", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try Self.object(run)
        #expect(object["curve"] as? Bool == true)
        #expect(Self.int(object["tasks"]) == 300 && Self.int(object["failed"]) == 0)
        #expect(object["exactlyOnce"] as? Bool == true)
        // In-process connections have no keys: refused up front, naming both options.
        let refused = try DuetBinary.run(["bench", "dispatch", "--curve", "--workers-in-process", "2"])
        #expect(refused.status == 64 && refused.stderr.contains("--workers-in-process"), "\(refused.summary)")
    }
}
