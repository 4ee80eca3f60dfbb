// `duet search` through the built binary: a small in-process search on a dataset made
// with `duet sweep examples/small-sweep.yaml`, re-running a trial alone, spec errors,
// and the checks of the cluster flags (the cluster itself: SearchClusterCLITests).

import Foundation
import Testing

@Suite("CLI search")
struct SearchCLITests {
    @Test func aSmallSearchEndToEnd() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let data = files.directory.appendingPathComponent("small.csv").path
        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--threads", "2"])
        try #require(sweep.status == 0, "\(sweep.summary)")

        let out = files.directory.appendingPathComponent("search").path
        let search = try DuetBinary.run(["search", "examples/small-search.yaml", "--data", data, "--out", out])
        #expect(search.status == 0, "\(search.summary)")
        #expect(search.stdout.contains("trials: 8 ("), "\(search.summary)")
        #expect(search.stdout.contains("leaderboard (validation MAPE of meanResponse):"))
        #expect(search.stdout.contains("best model: trial "))
        #expect(search.stdout.contains("meanResponse MAPE: train "))
        #expect(search.stderr.contains("asha (rungs at 3, 6, 12 epochs, reduction 2, random sampler), budget 8 trials"))
        #expect(search.stderr.contains("trial 0 started on thread-"))
        for name in ["trials.json", "trials.csv", "best-model.json"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name) missing")
        }

        // Running it again resumes a finished search: nothing to train. With --json, stdout
        // is one object that agrees with trials.json; the text summary is on stderr.
        let again = try DuetBinary.run(["search", "examples/small-search.yaml", "--data", data, "--out", out, "--json"])
        #expect(again.status == 0, "\(again.summary)")
        #expect(again.stderr.contains("resuming: 8 trials recorded"))
        #expect(!again.stderr.contains("started on"))
        #expect(again.stderr.contains("best model: trial "), "\(again.summary)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect((summary["trials"] as? NSNumber)?.intValue == 8, "the spec's budget: 8 trials")
        #expect((summary["resumedTrials"] as? NSNumber)?.intValue == 8)
        let states = try #require(summary["states"] as? [String: NSNumber])
        #expect(states.values.map(\.intValue).reduce(0, +) == 8)
        #expect(summary["model"] as? String == out + "/best-model.json")
        let document = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/trials.json"))) as? [String: Any])
        let recorded = try #require(document["trials"] as? [[String: Any]])
        #expect(recorded.count == 8)
        let best = try #require(summary["best"] as? [String: Any])
        let bestTrial = try #require((best["trial"] as? NSNumber)?.intValue)
        let lowest = recorded.compactMap { record -> (Int, Double)? in
            guard let trial = (record["trial"] as? NSNumber)?.intValue, let rungs = record["rungs"] as? [[String: Any]],
                  let mape = (rungs.last?["mape"] as? NSNumber)?.doubleValue else { return nil }
            return (trial, mape)
        }.min { $0.1 < $1.1 }
        #expect(lowest?.0 == bestTrial, "the best trial has the lowest last-rung MAPE in trials.json")

        // Any trial alone gives the search's result.
        let rerun = try DuetBinary.run(["search", "examples/small-search.yaml", "--data", data, "--out", out,
                                        "--rerun", "3"])
        #expect(rerun.status == 0, "\(rerun.summary)")
        #expect(rerun.stdout.contains("identical to the search"), "\(rerun.summary)")
        #expect(FileManager.default.fileExists(atPath: out + "/trial-3-model.json"))

        // The model works with duet predict's model reader.
        let model = try Data(contentsOf: URL(fileURLWithPath: out + "/best-model.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: model) as? [String: Any])
        #expect(object["kind"] as? String == "duet-surrogate")
    }

    /// kill -9 in the middle of a search, then the same command: the trials that
    /// reached a rung are not run again, and (one thread, deterministic training) the
    /// search ends exactly as an uninterrupted one.
    @Test func aSearchKilledWithSigkillResumes() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let data = files.directory.appendingPathComponent("small.csv").path
        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--threads", "2"])
        try #require(sweep.status == 0, "\(sweep.summary)")
        let spec = try files.write("search.yaml", """
            space:
              layers: { int: [1, 3] }
              width: { choice: [32, 64] }
              lr: { loguniform: [0.001, 0.01] }
              batchSize: 8
            budget: { trials: 10 }
            algorithm: { name: asha, minEpochs: 10, maxEpochs: 160, reduction: 2 }
            seed: 4
            """)
        let whole = files.directory.appendingPathComponent("whole").path
        let reference = try DuetBinary.run(["search", spec, "--data", data, "--out", whole, "--threads", "1"])
        try #require(reference.status == 0, "\(reference.summary)")

        // Start the same search, kill it -9 after its second rung result.
        let out = files.directory.appendingPathComponent("killed").path
        let errURL = files.directory.appendingPathComponent("killed.err")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = try #require(DuetBinary.url)
        process.arguments = ["search", spec, "--data", data, "--out", out, "--threads", "1"]
        process.currentDirectoryURL = DuetBinary.packageRoot
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline {
            let text = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            if text.components(separatedBy: " epochs: ").count > 2 { break }
            usleep(2_000)
        }
        let killed = process.isRunning
        if killed { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let before = try Self.trials(out)
        let atRung = before.filter { ["paused", "completed"].contains($0["state"] as? String) }.compactMap { $0["trial"] as? Int }

        let resumed = try DuetBinary.run(["search", spec, "--data", data, "--out", out, "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.summary)")
        #expect(resumed.stderr.contains("resuming: \(before.count) trials recorded"), "\(resumed.summary)")
        for trial in atRung { #expect(!resumed.stderr.contains("trial \(trial) started on"), "trial \(trial)") }
        // Same trials, same rung results as the uninterrupted search.
        func columns(_ path: String) throws -> [String] {
            try String(contentsOfFile: path + "/trials.csv", encoding: .utf8).split(separator: "\n").map { line in
                let cells = line.split(separator: ",", omittingEmptySubsequences: false)
                return cells.prefix(cells.count - 3).joined(separator: ",")  // drop seconds, worker, error
            }
        }
        #expect(try columns(out) == columns(whole))
        if !killed { print("note: the search finished before it could be killed; only the resume was checked") }
    }

    static func trials(_ directory: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/trials.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(object["trials"] as? [[String: Any]])
    }

    @Test func specErrorsNameThePath() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let spec = try files.write("bad.yaml", """
            space:
              widht: { choice: [8, 16] }
            budget: { trials: 2 }
            algorithm: { name: random, maxEpochs: 2 }
            """)
        let run = try DuetBinary.run(["search", spec, "--data", "none.csv", "--out", files.directory.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("\(spec): space.widht: unknown hyperparameter; did you mean width? (line 2)"),
                "\(run.summary)")
    }

    @Test(arguments: [
        (["--local", "0"], "--local: must be 1...256, got 0"),
        (["--local", "2", "--coordinator", "tcp://127.0.0.1:5555"], "give --local or --coordinator, not both"),
        (["--keys", "keys"], "--keys applies only with --coordinator"),
        (["--coordinator", "tcp://10.1.2.3:5555"], "10.1.2.3"),
    ])
    func clusterFlagsAreChecked(flags: [String], message: String) throws {
        let run = try DuetBinary.run(["search", "examples/small-search.yaml", "--data", "x.csv", "--out", "/tmp/x"]
                                     + flags)
        #expect(run.status != 0)
        #expect(run.stderr.contains(message), "\(run.summary)")
    }
}
