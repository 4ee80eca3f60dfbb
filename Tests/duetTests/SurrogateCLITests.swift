// The surrogate's commands end to end through the built binary: sweep a small
// space, train on it, evaluate and predict with the model, plan with it, and the
// whole pipeline with `duet run`.

import Foundation
import Testing

@Suite("Surrogate CLI")
struct SurrogateCLITests {
    @Test("sweep -> train -> evaluate -> predict -> plan")
    func sweepTrainEvaluatePredict() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let data = files.directory.appendingPathComponent("small.csv").path
        let model = files.directory.appendingPathComponent("model.json").path

        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--points", "24"])
        #expect(sweep.status == 0, "\(sweep.summary)")
        let rows = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 25, "header plus 24 rows")

        let train = try DuetBinary.run(["train", data, "--out", model, "--epochs", "20", "--width", "16"])
        #expect(train.status == 0, "\(train.summary)")
        #expect(train.stderr.contains("epoch   20"), "one progress line per epoch")
        #expect(train.stdout.contains("meanResponse") && train.stdout.contains("test MAPE"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model)))
                                    as? [String: Any])
        #expect(document["kind"] as? String == "duet-surrogate")
        #expect((document["datasetSHA256"] as? String)?.count == 64)

        // The small sweep covers a corner of the documented domain, not all of it: a model
        // trained on it may not claim the domain.
        let claimed = files.directory.appendingPathComponent("claimed.json").path
        let claim = try DuetBinary.run(["train", data, "--out", claimed, "--epochs", "1", "--width", "8",
                                        "--domain", "duet-tandem-v1"])
        #expect(claim.status != 0)
        #expect(claim.stderr.contains("--domain duet-tandem-v1: the training rows do not cover it"), "\(claim.stderr)")
        #expect(claim.stderr.contains("stations.1.servers: the rows reach"), "\(claim.stderr)")
        #expect(!FileManager.default.fileExists(atPath: claimed))
        let unknown = try DuetBinary.run(["train", data, "--out", claimed, "--domain", "everything"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("--domain everything: not a documented domain; known: duet-tandem-v1"),
                "\(unknown.stderr)")

        // `predict --csv`: a line per data row, in order, each target a positive number.
        let dataText = try String(contentsOfFile: data, encoding: .utf8)
        let dataLines = dataText.split(separator: "\n")
        let csvPredict = try DuetBinary.run(["predict", model, "--csv", data])
        #expect(csvPredict.status == 0, "\(csvPredict.summary)")
        let answer = csvPredict.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let targetNames = try #require(document["targets"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(answer.first.map { $0.map(String.init) } == ["row"] + targetNames)
        #expect(answer.count == dataLines.count, "a line per data row and the header")
        for (index, line) in answer.dropFirst().enumerated() {
            #expect(Int(line[0]) == index + 1, "rows numbered in order")
            #expect(line.count == targetNames.count + 1 && line.dropFirst().allSatisfy { (Double($0) ?? 0) > 0 }, "\(line)")
        }
        // A bad cell is refused, naming its row and column.
        let header = dataLines[0].split(separator: ",", omittingEmptySubsequences: false)
        let servers = try #require(header.firstIndex(of: "stations.1.servers"))
        let plainRows = dataLines.dropFirst().filter { !$0.contains("\"") }.prefix(2)
        #expect(plainRows.count == 2)
        var damagedRow = plainRows.last!.split(separator: ",", omittingEmptySubsequences: false)
        damagedRow[servers] = "x"
        let bad = files.directory.appendingPathComponent("bad.csv").path
        try ([String(dataLines[0]), String(plainRows.first!), damagedRow.joined(separator: ",")].joined(separator: "\n") + "\n")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let badPredict = try DuetBinary.run(["predict", model, "--csv", bad])
        #expect(badPredict.status != 0 && badPredict.stderr.contains("row 2") && badPredict.stderr.contains("stations.1.servers"),
                "\(badPredict.summary)")

        let evaluate = try DuetBinary.run(["evaluate", model, data, "--json"])
        #expect(evaluate.status == 0, "\(evaluate.summary)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        #expect(report["rows"] as? Int == 24)
        let targets = try #require(report["targets"] as? [String: Any])
        let mean = try #require(targets["meanResponse"] as? [String: Any])
        for key in ["mape", "median", "p90", "p99", "max", "byLoad", "analyticMape"] {
            #expect(mean[key] != nil, "evaluate --json lacks \(key)")
        }
        // --rows: one line per row, the simulated values being the dataset's.
        let perRow = files.directory.appendingPathComponent("rows.csv").path
        let evaluateRows = try DuetBinary.run(["evaluate", model, data, "--rows", perRow])
        #expect(evaluateRows.status == 0, "\(evaluateRows.summary)")
        let written = try String(contentsOfFile: perRow, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(written.count == 25)
        #expect(Array(written[0].prefix(4)) == ["point", "meanResponse.simulated", "meanResponse.predicted", "meanResponse.qna"])
        let columns = rows[0].split(separator: ",").map(String.init)
        let point = try #require(columns.firstIndex(of: "point")), meanResponse = try #require(columns.firstIndex(of: "meanResponse"))
        let first = rows[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(written[1][0] == first[point])
        #expect(Double(written[1][1]) == Double(first[meanResponse]))

        // The example configuration lies outside the small sweep's space: the
        // prediction warns, naming the keys, and still answers in simulate's shape.
        // Its rate (0.5, the sweep's is 1) is only a unit of time; its setup (0.05
        // mean batch gaps, the sweep's 0.01) is out.
        let predict = try DuetBinary.run(["predict", model, "examples/serverless.yaml", "--json"])
        #expect(predict.status == 0, "\(predict.summary)")
        // A chain of another length is refused, naming both lengths.
        let chain = try DuetBinary.run(["predict", model, "examples/rag-chain.yaml"])
        #expect(chain.status != 0)
        #expect(chain.stderr.contains("stations: the model predicts chains of 2 stations, the configuration has 5 stations"),
                "\(chain.stderr)")
        #expect(predict.stderr.contains("warning: stations.2.setup*arrival.rate = 0.05 "), "\(predict.stderr)")
        #expect(!predict.stderr.contains("warning: arrival.rate"), "\(predict.stderr)")
        let predicted = try #require(try JSONSerialization.jsonObject(with: Data(predict.stdout.utf8)) as? [String: Any])
        let response = try #require(predicted["meanResponse"] as? [String: Any])
        #expect((response["mean"] as? Double ?? 0) > 0)
        #expect(response["ci95"] is NSNull)
        #expect((predicted["stations"] as? [Any])?.count == 2)

        let plan = try DuetBinary.run(["plan", model, "--base", "examples/serverless.yaml",
                                       "--vary", "stations.2.servers=1..8", "--vary", "stations.2.maxBatch=1,4,8",
                                       "--top", "3", "--json"])
        #expect(plan.status == 0, "\(plan.summary)")
        let planned = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        #expect(planned["searched"] as? Int == 24)
        let best = try #require(planned["best"] as? [[String: Any]])
        #expect(best.count == 3)
        let costs = best.compactMap { $0["instanceSecondsPerJob"] as? Double }
        #expect(costs == costs.sorted(), "cheapest first")
        #expect(planned["shown"] as? Int == 3)
        #expect((planned["feasible"] as? Int ?? -1) + (planned["infeasible"] as? Int ?? -1) == 24,
                "without --slo every reachable configuration is feasible")
        // The base lies outside the small sweep's space, so every listed configuration
        // does: plan warns as predict does, naming the keys.
        for rank in 1...3 {
            #expect(plan.stderr.contains("warning: rank \(rank) (stations.2.servers="), "\(plan.stderr)")
        }
        // Times are judged in units of the mean gap between batches (feature version 3):
        // the base's keep-alive of 300 s at rate 1 against the sweep's 10.
        #expect(plan.stderr.contains("outside the model's training domain: stations.2.keepAlive*arrival.rate = 300"),
                "\(plan.stderr)")

        try planCounts(model: model)
        try shippedModelLookup(model: model, data: data)

        let damaged = files.directory.appendingPathComponent("damaged.json").path
        try "{\"kind\": \"duet-surrogate\", \"formatVersion\": 1".write(toFile: damaged, atomically: true, encoding: .utf8)
        let refused = try DuetBinary.run(["predict", damaged, "examples/serverless.yaml"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("damaged.json"), "\(refused.stderr)")
    }

    @Test("train --per-station learns stations of short chains; predict and evaluate compose it along longer ones")
    func perStation() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let short = files.directory.appendingPathComponent("chain2.csv").path
        let long = files.directory.appendingPathComponent("chain3.csv").path
        let model = files.directory.appendingPathComponent("per-station.json").path
        for (spec, out, points) in [("examples/chain2-sweep.yaml", short, "24"), ("examples/chain3-sweep.yaml", long, "8")] {
            let sweep = try DuetBinary.run(["sweep", spec, "--out", out, "--points", points])
            #expect(sweep.status == 0, "\(sweep.summary)")
        }
        let refused = try DuetBinary.run(["train", "--per-station", short, "--out", model, "--domain", "duet-tandem-v1"])
        #expect(refused.status != 0 && refused.stderr.contains("--per-station takes neither --teacher nor --domain"),
                "\(refused.stderr)")
        let badUpstream = try DuetBinary.run(["train", "--per-station", short, "--out", model, "--upstream", "9"])
        #expect(badUpstream.status != 0 && badUpstream.stderr.contains("--upstream: expected a number from 0 to 5, got 9"),
                "\(badUpstream.stderr)")
        let train = try DuetBinary.run(["train", "--per-station", short, "--out", model, "--epochs", "5", "--width", "8"])
        #expect(train.status == 0, "\(train.summary)")
        // Views of each station with the one before it (--upstream 1, the default).
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model)))
                                    as? [String: Any])
        let info = try #require((document["metrics"] as? [String: Any])?["info"] as? [String: Double])
        #expect(info["perStation"] == 2 && info["stations"] == 2 && info["minStations"] == 1, "\(info)")

        // Chains of three stations, longer than any it learnt from: composed.
        let evaluate = try DuetBinary.run(["evaluate", model, long, "--json"])
        #expect(evaluate.status == 0, "\(evaluate.summary)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        let targets = try #require(report["targets"] as? [String: Any])
        let mean = try #require(targets["meanResponse"] as? [String: Any])
        #expect((mean["mape"] as? Double).map { $0.isFinite } == true, "\(mean)")
        #expect(targets["stations.3.meanResponse"] != nil, "every station of the chain is predicted")
        let perRow = files.directory.appendingPathComponent("rows.csv").path
        let rows = try DuetBinary.run(["evaluate", model, long, "--rows", perRow])
        #expect(rows.status == 0, "\(rows.summary)")
        let written = try String(contentsOfFile: perRow, encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = try #require(written.first)
        // No percentile predictions: their cells are empty; the mean response's are numbers.
        let p95 = try #require(header.firstIndex(of: "p95Response.predicted"))
        let response = try #require(header.firstIndex(of: "meanResponse.predicted"))
        #expect(written.dropFirst().allSatisfy { $0[p95].isEmpty && Double($0[response]) != nil }, "\(written.prefix(3))")

        let predict = try DuetBinary.run(["predict", model, "examples/rag-chain.yaml", "--json"])
        #expect(predict.status == 0, "\(predict.summary)")
        #expect(predict.stderr.contains("composed station by station"), "\(predict.stderr)")
        let predicted = try #require(try JSONSerialization.jsonObject(with: Data(predict.stdout.utf8)) as? [String: Any])
        #expect((predicted["stations"] as? [Any])?.count == 5, "\(predict.stdout)")
        #expect(predicted["p95Response"] == nil, "a composed chain has no percentiles")

        // plan composes too: objectives on means; percentiles are refused by name.
        let plan = try DuetBinary.run(["plan", model, "--base", "examples/rag-chain.yaml", "--slo", "meanResponse<=1000",
                                       "--vary", "stations.4.servers=5..8", "--json"])
        #expect(plan.status == 0, "\(plan.summary)")
        let planned = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        #expect(planned["searched"] as? Int == 4, "\(plan.stdout)")
        let first = try #require((planned["best"] as? [[String: Any]])?.first)
        #expect((first["predicted"] as? [String: Any])?["stations.5.meanResponse"] != nil, "\(first)")
        let percentile = try DuetBinary.run(["plan", model, "--base", "examples/rag-chain.yaml", "--slo", "p95Response<=2",
                                             "--vary", "stations.4.servers=1..4"])
        #expect(percentile.status != 0 && percentile.stderr.contains("p95Response is not one of them"), "\(percentile.stderr)")
        // validate composes too: a Poisson trace against two three-station chains.
        let trace = try files.write("poisson.csv", ValidateCLITests.trace(jobs: 2000))
        let grid = try files.write("grid.yaml", """
            base:
              arrival: { rate: 1 }
              stations:
                - { servers: 2, service: { mean: 0.2 } }
                - { servers: 2, service: { mean: 0.3 }, maxBatch: 2, timeout: 0.1 }
                - { servers: 2, service: { mean: 0.2 } }
            vary:
              stations.3.servers: { choice: [2, 3] }
            run: { replications: 4 }
            """)
        let validate = try DuetBinary.run(["validate", model, "--trace", trace, "--time", "t", "--stations", grid, "--json"])
        #expect(validate.status == 0, "\(validate.summary)")
        let validated = try #require(try JSONSerialization.jsonObject(with: Data(validate.stdout.utf8)) as? [String: Any])
        #expect((validated["configurations"] as? NSNumber)?.intValue == 2, "\(validate.stdout)")
        #expect(validate.stdout.contains("stations.3.meanResponse") && !validate.stdout.contains("p95Response"),
                "\(validate.stdout)")
    }

    @Test("train --teacher adds rows labelled by a model to the training rows only, and says how many")
    func distillation() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let data = files.directory.appendingPathComponent("small.csv").path
        let teacher = files.directory.appendingPathComponent("teacher.json").path
        let student = files.directory.appendingPathComponent("student.json").path
        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--points", "40"])
        #expect(sweep.status == 0, "\(sweep.summary)")
        let trainTeacher = try DuetBinary.run(["train", data, "--out", teacher, "--epochs", "3", "--width", "8"])
        #expect(trainTeacher.status == 0, "\(trainTeacher.summary)")

        let noSpec = try DuetBinary.run(["train", data, "--out", student, "--teacher", teacher])
        #expect(noSpec.status != 0 && noSpec.stderr.contains("--teacher needs --teacher-spec"), "\(noSpec.stderr)")
        let noTeacher = try DuetBinary.run(["train", data, "--out", student, "--teacher-spec", "examples/small-sweep.yaml"])
        #expect(noTeacher.status != 0 && noTeacher.stderr.contains("--teacher-spec needs --teacher"), "\(noTeacher.stderr)")

        let plain = try DuetBinary.run(["train", data, "--out", student, "--epochs", "2", "--width", "8", "--json"])
        let distilled = try DuetBinary.run(["train", data, "--out", student, "--epochs", "2", "--width", "8", "--json",
                                            "--teacher", teacher, "--teacher-spec", "examples/small-sweep.yaml",
                                            "--teacher-points", "100"])
        #expect(plain.status == 0 && distilled.status == 0, "\(plain.summary)\n\(distilled.summary)")
        func configurations(_ run: CLIRun) throws -> [String: Int] {
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return try #require(summary["configurations"] as? [String: Int])
        }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: student)))
                                    as? [String: Any])
        let info = try #require((document["metrics"] as? [String: Any])?["info"] as? [String: Double])
        // Of 100 points drawn, the few unstable ones are left out (and counted in the message).
        let rows = Int(try #require(info["teacherRows"]))
        #expect((90...100).contains(rows), "\(rows) teacher rows")
        #expect(distilled.stderr.contains("teacher rows: \(rows) configurations from examples/small-sweep.yaml"),
                "\(distilled.stderr)")
        let before = try configurations(plain), after = try configurations(distilled)
        #expect(after["train"] == (before["train"] ?? 0) + rows)
        #expect(after["validation"] == before["validation"] && after["test"] == before["test"])
    }

    @Test("train --ensemble 3 writes three networks; predict, plan and evaluate give bands from their spread")
    func ensemble() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let data = files.directory.appendingPathComponent("small.csv").path
        let model = files.directory.appendingPathComponent("ensemble.json").path
        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", data, "--points", "40"])
        #expect(sweep.status == 0, "\(sweep.summary)")

        let refused = try DuetBinary.run(["train", data, "--out", model, "--ensemble", "0"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--ensemble must be at least 1, got 0"), "\(refused.stderr)")

        // A validation split of 12 rows: fewer than 9 give no finite 90% band.
        let train = try DuetBinary.run(["train", data, "--out", model, "--epochs", "3", "--width", "8", "--seed", "5",
                                        "--ensemble", "3", "--validation", "0.3", "--json"])
        #expect(train.status == 0, "\(train.summary)")
        #expect(train.stderr.contains("an ensemble of 3 networks") && train.stderr.contains("network 3 of 3, epoch"),
                "\(train.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any])
        #expect(summary["ensemble"] as? Int == 3)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model)))
                                    as? [String: Any])
        #expect(document["formatVersion"] as? Int == 4)
        let members = try #require(document["ensemble"] as? [[String: Any]])
        #expect(members.compactMap { $0["seed"] as? Int } == [6, 7])
        let bands = try #require(document["errorBands"] as? [String: Any])
        #expect((bands["spreadFloors"] as? [String: Double])?["meanResponse"] ?? 0 > 0)

        let predict = try DuetBinary.run(["predict", model, "examples/serverless.yaml", "--json"])
        #expect(predict.status == 0, "\(predict.summary)")
        let predicted = try #require(try JSONSerialization.jsonObject(with: Data(predict.stdout.utf8)) as? [String: Any])
        let response = try #require(predicted["meanResponse"] as? [String: Any])
        let mean = try #require(response["mean"] as? Double)
        let band = try #require(response["band"] as? [String: Any])
        let low = try #require(band["low"] as? Double), high = try #require(band["high"] as? Double)
        #expect(low < mean && mean < high, "\(low) < \(mean) < \(high)")
        // Bands are symmetric in log units.
        #expect(abs(log(mean / low) - log(high / mean)) < 1e-6 * log(high / mean))

        let plan = try DuetBinary.run(["plan", model, "--base", "examples/serverless.yaml",
                                       "--vary", "stations.2.servers=1..4", "--top", "2", "--json"])
        #expect(plan.status == 0, "\(plan.summary)")
        let planned = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        for row in try #require(planned["best"] as? [[String: Any]]) {
            let rowBands = try #require(row["bands"] as? [String: Any])
            #expect(rowBands["meanResponse"] is [Double], "\(row)")
        }

        let evaluate = try DuetBinary.run(["evaluate", model, data, "--json"])
        #expect(evaluate.status == 0, "\(evaluate.summary)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        let target = try #require((report["targets"] as? [String: Any])?["meanResponse"] as? [String: Any])
        #expect((0...1).contains(target["bandCoverage"] as? Double ?? -1))
        #expect((target["bandHalfWidth"] as? Double ?? 0) > 0)

        // The benchmark of a model file names its networks and times every configuration of the data.
        let bench = try DuetBinary.run(["bench", "predict", model, data, "--calls", "50", "--bulk-rows", "300",
                                        "--threads", "1", "--json"])
        #expect(bench.status == 0, "\(bench.summary)")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any])
        #expect(figures["members"] as? Int == 3)
        #expect(figures["configurations"] as? Int == report["rows"] as? Int)
        #expect(figures["bulkRows"] as? Int == 300)
        #expect(figures["jsonRows"] as? Int == 1_000)
        #expect(figures["oneRowWeights"] as? String == "float", "a model trained in floats is read in floats")
        for key in ["oneRowMicroseconds", "oneRowWithSpreadMicroseconds", "bulkRowsPerSecond", "oneJSONRequestMicroseconds",
                    "jsonRowsPerSecond"] {
            #expect((figures[key] as? Double ?? 0) > 0, "\(key)")
        }
        try adaptivePoints(ensemble: model, data: data, files: files)
        try keptMembers(ensemble: model, data: data, files: files)
    }

    /// `duet train --members DIR`: the same ensemble as `ensemble()`'s, each network kept
    /// in DIR; a rerun trains only the network whose file is gone, and the model is the
    /// same; a kept network of other settings or an unreadable one is refused by name.
    func keptMembers(ensemble model: String, data: String, files: TemporaryFiles) throws {
        let directory = files.directory.appendingPathComponent("members").path
        let arguments = ["train", data, "--epochs", "3", "--width", "8", "--seed", "5", "--ensemble", "3",
                         "--validation", "0.3", "--members", directory]
        func networks(_ path: String) throws -> [String] {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                                        as? [String: Any])
            let first = try #require(document["layers"] as? [[String: Any]])
            let others = try #require(document["ensemble"] as? [[String: Any]])
            return try ([first] + others.map { try #require($0["layers"] as? [[String: Any]]) }).map { layers in
                String(decoding: try JSONSerialization.data(withJSONObject: layers, options: .sortedKeys), as: UTF8.self)
            }
        }
        let kept = files.directory.appendingPathComponent("kept.json").path
        let first = try DuetBinary.run(arguments + ["--out", kept])
        #expect(first.status == 0, "\(first.summary)")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == ["member-seed-5.json", "member-seed-6.json", "member-seed-7.json"], "\(names)")
        // Keeping the networks changes nothing in the model.
        #expect(try networks(kept) == networks(model))

        try FileManager.default.removeItem(atPath: directory + "/member-seed-6.json")
        let resumed = files.directory.appendingPathComponent("resumed.json").path
        let rerun = try DuetBinary.run(arguments + ["--out", resumed])
        #expect(rerun.status == 0, "\(rerun.summary)")
        #expect(rerun.stderr.contains("network 1 of 3, seed 5: kept in") && rerun.stderr.contains("network 3 of 3, seed 7: kept in"),
                "\(rerun.stderr)")
        #expect(rerun.stderr.contains("network 2 of 3, epoch") && !rerun.stderr.contains("network 1 of 3, epoch"),
                "\(rerun.stderr)")
        #expect(try networks(resumed) == networks(model))

        // Every network kept: the model is only assembled, here with float16 weights.
        let half = files.directory.appendingPathComponent("half.json").path
        let assembled = try DuetBinary.run(arguments + ["--out", half, "--weight-precision", "float16"])
        #expect(assembled.status == 0, "\(assembled.summary)")
        #expect(!assembled.stderr.contains(", epoch"), "\(assembled.stderr)")
        let halfDocument = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: half)))
                                        as? [String: Any])
        #expect(halfDocument["formatVersion"] as? Int == 5)
        let predicted = try DuetBinary.run(["predict", half, "examples/serverless.yaml"])
        #expect(predicted.status == 0 && predicted.stdout.contains("meanResponse"), "\(predicted.summary)")

        let wider = try DuetBinary.run(arguments.map { $0 == "8" ? "9" : $0 } + ["--out", resumed])
        #expect(wider.status != 0)
        #expect(wider.stderr.contains("member-seed-5.json was trained on a job that differs from this run in the "
                                      + "training settings"), "\(wider.stderr)")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: directory + "/member-seed-7.json"))
        let broken = try DuetBinary.run(arguments + ["--out", resumed])
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("member-seed-7.json: not a kept ensemble network"), "\(broken.stderr)")
    }

    /// `duet sweep --adaptive`: of the design's next points, the chosen ones are
    /// simulated exactly as the continued sweep simulates them (same configuration and
    /// seed, so the same row), in process and on a local cluster alike, and a single
    /// network is refused.
    func adaptivePoints(ensemble model: String, data: String, files: TemporaryFiles) throws {
        let adaptive = files.directory.appendingPathComponent("adaptive.csv").path
        let run = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--points", "40", "--adaptive", model,
                                      "--add", "4", "--pool", "12", "--out", adaptive, "--threads", "1", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        #expect(run.stderr.contains("adaptive: 4 of points 40..<52 chosen"), "\(run.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let how = try #require(summary["adaptive"] as? [String: Any])
        let listed = try #require(how["chosen"] as? [Int])
        #expect(summary["points"] as? Int == 4 && listed.count == 4 && listed.allSatisfy { (40..<52).contains($0) })
        #expect(how["first"] as? Int == 40 && how["pool"] as? Int == 12)
        // The plain sweep continued to 52 points, from a copy of its first 40.
        let continued = files.directory.appendingPathComponent("continued.csv").path
        try FileManager.default.copyItem(atPath: data, toPath: continued)
        try FileManager.default.copyItem(atPath: data + ".spec.json", toPath: continued + ".spec.json")
        let plain = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--points", "52", "--out", continued])
        #expect(plain.status == 0, "\(plain.summary)")
        let chosen = try String(contentsOfFile: adaptive, encoding: .utf8).split(separator: "\n").dropFirst()
        let all = try String(contentsOfFile: continued, encoding: .utf8).split(separator: "\n").dropFirst()
        let byPoint = Dictionary(uniqueKeysWithValues: all.map { (Int($0.prefix { $0 != "," })!, $0) })
        #expect(chosen.count == 4)
        for row in chosen {
            let point = try #require(Int(row.prefix { $0 != "," }))
            #expect(listed.contains(point))
            #expect(byPoint[point] == row, "point \(point)")
        }
        // On a local cluster (sweep-chosen-point tasks): the same file.
        let onCluster = files.directory.appendingPathComponent("adaptive-local.csv").path
        let local = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--points", "40", "--adaptive", model,
                                        "--add", "4", "--pool", "12", "--out", onCluster, "--local", "2"])
        #expect(local.status == 0, "\(local.summary)")
        #expect(try String(contentsOfFile: onCluster, encoding: .utf8) == String(contentsOfFile: adaptive, encoding: .utf8))
        // Run again: nothing left to simulate, the same file.
        let again = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--points", "40", "--adaptive", model,
                                        "--add", "4", "--pool", "12", "--out", adaptive])
        #expect(again.status == 0 && again.stderr.contains("resuming: 4 of 4 points already done"), "\(again.summary)")

        let single = files.directory.appendingPathComponent("single.json").path
        #expect(try DuetBinary.run(["train", data, "--out", single, "--epochs", "2", "--width", "8"]).status == 0)
        let refused = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--adaptive", single, "--add", "4",
                                          "--out", files.directory.appendingPathComponent("x.csv").path])
        #expect(refused.status != 0 && refused.stderr.contains("adaptive points need an ensemble"), "\(refused.stderr)")
        let stray = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--add", "4",
                                        "--out", files.directory.appendingPathComponent("y.csv").path])
        #expect(stray.status != 0 && stray.stderr.contains("give --adaptive ENSEMBLE.json with them"), "\(stray.stderr)")
        try adaptivePointsByCost(ensemble: model, data: data, plainChoice: listed, chosenRows: adaptive, files: files)
    }

    /// `duet sweep --adaptive --costs DATA.csv`: with every point of DATA.csv as costly
    /// (fixed runs), the choice is the disagreement's alone; with costs that grow with
    /// station 1's load, the chosen points are expected to cost less than as many points
    /// of the pool on average; rows of another design are refused by row and column.
    func adaptivePointsByCost(ensemble model: String, data: String, plainChoice: [Int], chosenRows: String,
                              files: TemporaryFiles) throws {
        func choose(costs: String) throws -> (run: CLIRun, how: [String: Any]) {
            let out = files.directory.appendingPathComponent("adaptive-\(UUID().uuidString).csv").path
            let run = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--points", "40", "--adaptive", model,
                                          "--add", "4", "--pool", "12", "--costs", costs, "--out", out,
                                          "--threads", "1", "--json"])
            #expect(run.status == 0, "\(run.summary)")
            let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return (run, try #require(summary?["adaptive"] as? [String: Any]))
        }
        let equal = try choose(costs: data)
        #expect(equal.run.stderr.contains("per expected job (costs learnt from \(data))"), "\(equal.run.stderr)")
        #expect(equal.how["costs"] as? String == data)
        #expect(equal.how["chosen"] as? [Int] == plainChoice)

        // The same rows, their jobs made to grow steeply with station 1's load.
        let lines = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        let load = try #require(header.firstIndex(of: "stations.1.load"))
        let jobs = try #require(header.firstIndex(of: "jobs"))
        func rewritten(_ change: (inout [String], Int) -> Void) throws -> String {
            var rows = [lines[0]]
            for (number, line) in lines.dropFirst().enumerated() {
                var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                change(&cells, number + 1)
                rows.append(cells.joined(separator: ","))
            }
            let path = files.directory.appendingPathComponent("costs-\(UUID().uuidString).csv").path
            try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let steep = try rewritten { cells, _ in cells[jobs] = String(Int(exp(12 * (Double(cells[load]) ?? 0)))) }
        let cheap = try choose(costs: steep).how
        let chosenJobs = try #require(cheap["chosenExpectedJobs"] as? Double)
        let poolJobs = try #require(cheap["poolExpectedJobs"] as? Double)
        #expect(chosenJobs > 0 && chosenJobs < poolJobs, "chosen \(chosenJobs), pool \(poolJobs)")
        #expect((cheap["chosen"] as? [Int])?.allSatisfy { (40..<52).contains($0) } == true)

        // Costs from rows past the spec's design.points (the adaptive rows, points 40 to 51) too.
        let grown = files.directory.appendingPathComponent("grown.csv").path
        let chosenLines = try String(contentsOfFile: chosenRows, encoding: .utf8).split(separator: "\n").dropFirst()
        try ((lines + chosenLines.map(String.init)).joined(separator: "\n") + "\n")
            .write(toFile: grown, atomically: true, encoding: .utf8)
        #expect(try choose(costs: grown).how["chosen"] as? [Int] != nil)

        // A row whose seed is not the one this spec's design gives its point.
        let foreign = try rewritten { cells, number in if number == 2 { cells[header.firstIndex(of: "seed")!] = "12345" } }
        let refused = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--points", "40", "--adaptive", model,
                                          "--add", "4", "--pool", "12", "--costs", foreign,
                                          "--out", files.directory.appendingPathComponent("z.csv").path])
        #expect(refused.status != 0, "\(refused.summary)")
        #expect(refused.stderr.contains("row 2") && refused.stderr.contains("column seed")
                    && refused.stderr.contains("the costs must come from this spec's own sweep"), "\(refused.stderr)")
    }

    @Test("scripts/adaptive-rounds.sh: the start's points, then each round's chosen ones from its own pool; a rerun gives the same file")
    func adaptiveRoundsScript() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let binary = try #require(DuetBinary.url)
        let out = files.directory.appendingPathComponent("rounds.csv").path
        let environment = ["DUET": binary.path, "THREADS": "1"]
        let script = DuetBinary.packageRoot.appendingPathComponent("scripts/adaptive-rounds.sh").path
        func run(_ arguments: [String]) throws -> CLIRun {
            try runProcess(URL(fileURLWithPath: "/bin/bash"), [script] + arguments, environment: environment)
        }
        let first = try run(["examples/small-sweep.yaml", "40", "2", "4", "12", out])
        #expect(first.status == 0, "\(first.summary)")
        #expect(first.stderr.contains("adaptive-rounds: round 2: points 52..63"), "\(first.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let points = text.split(separator: "\n").dropFirst().map { Int($0.prefix { $0 != "," }) ?? -1 }
        #expect(points.count == 48, "the 40 of the start and 4 a round")
        #expect(Array(points.prefix(40)) == Array(0..<40))
        #expect(points[40..<44].allSatisfy { (40..<52).contains($0) } && points[44..<48].allSatisfy { (52..<64).contains($0) },
                "\(points.suffix(8))")
        let again = try run(["examples/small-sweep.yaml", "40", "2", "4", "12", out])
        #expect(again.status == 0 && again.stderr.contains("resuming: 4 of 4 points already done"), "\(again.summary)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == text)
        let bad = try run(["examples/small-sweep.yaml", "40", "2", "13", "12", out])
        #expect(bad.status == 64 && bad.stderr.contains("POOL (12) must be at least ADD (13)"), "\(bad.summary)")
    }

    /// Without a model file, predict, evaluate and plan use the model $DUET_MODEL names
    /// (set for the child process only), exactly as if it were named; a $DUET_MODEL that
    /// names no file stops them, saying so.
    func shippedModelLookup(model: String, data: String) throws {
        let environment = ["DUET_MODEL": model]
        let named = try DuetBinary.run(["predict", model, "examples/serverless.yaml", "--json"])
        let shipped = try DuetBinary.run(["predict", "examples/serverless.yaml", "--json"], environment: environment)
        #expect(shipped.status == 0, "\(shipped.summary)")
        #expect(shipped.stdout == named.stdout)
        #expect(shipped.stderr.contains("note: using the shipped model \(model)"), "\(shipped.stderr)")

        let evaluateNamed = try DuetBinary.run(["evaluate", model, data, "--json"])
        let evaluateShipped = try DuetBinary.run(["evaluate", data, "--json"], environment: environment)
        #expect(evaluateShipped.status == 0, "\(evaluateShipped.summary)")
        #expect(evaluateShipped.stdout == evaluateNamed.stdout)

        let plan = ["--base", "examples/serverless.yaml", "--vary", "stations.2.servers=1..4", "--json"]
        let planNamed = try DuetBinary.run(["plan", model] + plan)
        let planShipped = try DuetBinary.run(["plan"] + plan, environment: environment)
        #expect(planShipped.status == 0, "\(planShipped.summary)")
        #expect(planShipped.stdout == planNamed.stdout)

        let missing = try DuetBinary.run(["predict", "examples/serverless.yaml"],
                                         environment: ["DUET_MODEL": "/nonexistent/duet-model.json"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("DUET_MODEL names the model file /nonexistent/duet-model.json, which does not exist"),
                "\(missing.stderr)")
    }

    /// More feasible configurations than `plan` keeps in memory (4 x top + 1000): the
    /// count is still every one of them, and an objective nobody meets exits 2.
    func planCounts(model: String) throws {
        let grid = ["--vary", "stations.2.servers=1..200", "--vary", "stations.2.maxBatch=1..8"]
        let json = try DuetBinary.run(["plan", model, "--base", "examples/serverless.yaml", "--top", "1", "--json"] + grid)
        #expect(json.status == 0, "\(json.summary)")
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let feasible = try #require(counts["feasible"] as? Int)
        let infeasible = try #require(counts["infeasible"] as? Int)
        #expect(counts["searched"] as? Int == 1600)
        #expect(feasible + infeasible == 1600)
        #expect(feasible > 4 * 1 + 1000, "enough to overflow the kept candidates, or this test shows nothing")
        #expect(counts["shown"] as? Int == 1)

        let text = try DuetBinary.run(["plan", model, "--base", "examples/serverless.yaml", "--top", "1"] + grid)
        #expect(text.status == 0, "\(text.summary)")
        #expect(text.stdout.contains("searched 1600 configurations: \(infeasible) unstable or unreachable, "
                                     + "\(feasible) meet no objective (all kept); showing the cheapest 1"),
                "\(text.stdout)")

        let none = try DuetBinary.run(["plan", model, "--base", "examples/serverless.yaml", "--slo", "meanResponse<0",
                                       "--vary", "stations.2.servers=1..4"])
        #expect(none.status == 2, "\(none.summary)")
        #expect(none.stdout.contains("0 meet meanResponse<0"), "\(none.stdout)")
        #expect(none.stderr.contains("no configuration meets meanResponse<0"), "\(none.stderr)")
        let noneJSON = try DuetBinary.run(["plan", model, "--base", "examples/serverless.yaml", "--slo", "meanResponse<0",
                                           "--vary", "stations.2.servers=1..4", "--json"])
        #expect(noneJSON.status == 2, "\(noneJSON.summary)")
        let empty = try #require(try JSONSerialization.jsonObject(with: Data(noneJSON.stdout.utf8)) as? [String: Any])
        #expect(empty["feasible"] as? Int == 0)
        #expect((empty["best"] as? [Any])?.isEmpty == true)
    }

    @Test("duet run writes the dataset, the search, the model, the summary and the report")
    func pipeline() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let out = files.directory.appendingPathComponent("run").path
        let run = try DuetBinary.run(["run", "examples/small.yaml", "--out", out])
        #expect(run.status == 0, "\(run.summary)")
        for file in ["dataset.csv", "search/trials.csv", "search/trials.json", "best-model.json", "summary.json",
                     "report.html"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "missing \(file)")
        }
        let summary = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        #expect((summary["phases"] as? [String: Any])?.count == 3)
        #expect(((summary["test"] as? [String: Any])?["meanResponse"] as? [String: Any])?["mape"] is Double)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg"))
        // duet report renders the page again from the report.json the run wrote.
        let again0 = files.directory.appendingPathComponent("again.html").path
        let rendered = try DuetBinary.run(["report", out + "/report.json", "--out", again0])
        #expect(rendered.status == 0, "\(rendered.summary)")
        let page = try String(contentsOfFile: again0, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("Duet small pipeline"))

        // Running it again resumes: nothing is simulated or trained anew. With --json, stdout
        // is the summary.json that run wrote, and the text goes to stderr.
        let again = try DuetBinary.run(["run", "examples/small.yaml", "--out", out, "--json"])
        #expect(again.status == 0, "\(again.summary)")
        #expect(again.stderr.contains("0 simulated now") || again.stderr.contains("already"), "\(again.summary)")
        let printed = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? NSDictionary,
                                   "\(again.summary)")
        let written = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? NSDictionary)
        #expect(printed == written)
    }

    @Test("duet run --local 2: one coordinator and one journal for the sweep and the search; a rerun resumes")
    func pipelineOnLocalWorkers() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let out = files.directory.appendingPathComponent("run").path
        let run = try DuetBinary.run(["run", "examples/small.yaml", "--out", out, "--local", "2"])
        #expect(run.status == 0, "\(run.summary)")
        #expect(run.stderr.contains("started a local coordinator and 2 workers for the run"), "\(run.summary)")
        for file in ["dataset.csv", "search/trials.json", "best-model.json", "summary.json", "report.html", "run.journal"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "missing \(file)")
        }
        // The journal holds the whole run: the sweep's points and every rung of the search.
        // Status lists the latest 16 finished runs by default, which the search's rungs (a
        // run of one task each) may fill: --finished lists them all.
        let status = try DuetBinary.run(["status", "--journal", out + "/run.journal", "--json", "--finished", "1000"])
        #expect(status.status == 0, "\(status.summary)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let runs = object["runs"] as? [[String: Any]] ?? []
        let kinds = Set(runs.compactMap { $0["kind"] as? String })
        #expect(kinds == ["sweep-point", "train-trial"], "\(runs)")
        #expect(runs.allSatisfy { $0["phase"] as? String == "completed" }, "\(runs)")
        // Every run is listed: the sweep's 40 points and one result per rung are all of the journal's results.
        let results = (object["counters"] as? [String: Any])?["results"] as? Int
        #expect(results == runs.reduce(0) { $0 + ($1["done"] as? Int ?? 0) }, "\(String(describing: results)), \(runs)")
        #expect(runs.first { $0["kind"] as? String == "sweep-point" }?["done"] as? Int == 40, "\(runs)")
        let fewer = try DuetBinary.run(["status", "--journal", out + "/run.journal", "--json", "--finished", "2"])
        let listed = (try JSONSerialization.jsonObject(with: Data(fewer.stdout.utf8)) as? [String: Any])?["runs"] as? [Any]
        #expect(listed?.count == 2, "\(fewer.summary)")
        let refused = try DuetBinary.run(["status", "--finished", "5"])
        #expect(refused.status == 64 && refused.stderr.contains("--finished applies only with --journal"), "\(refused.summary)")

        let again = try DuetBinary.run(["run", "examples/small.yaml", "--out", out, "--local", "2"])
        #expect(again.status == 0, "\(again.summary)")
        #expect(again.stdout.contains("0 simulated now") || again.stderr.contains("0 simulated now"), "\(again.summary)")
        #expect(again.stderr.contains("resuming: 8 trials recorded"), "\(again.summary)")
    }

    @Test("duet run with adaptive: on one local journal, each round simulates its own chosen points; held-out points judge the model; a rerun resumes")
    func adaptivePipeline() throws {
        let files = try TemporaryFiles()
        defer { files.cleanUp() }
        let root = FileManager.default.currentDirectoryPath
        let pipeline = files.directory.appendingPathComponent("adaptive.yaml").path
        func write(_ adaptive: String) throws {
            try Data("""
                title: adaptive test
                sweep: \(root)/examples/small-sweep.yaml
                search: \(root)/examples/small-search.yaml
                adaptive: \(adaptive)
                """.utf8).write(to: URL(fileURLWithPath: pipeline))
        }
        // Two rounds choosing as many points of one spec: on one journal, the second must
        // not be taken for the first (a run is known again by its kind, spec and task count).
        try write("{ start: 24, rounds: 2, add: 6, pool: 12, ensemble: 2 }\nheldOut: { points: 8 }")
        let out = files.directory.appendingPathComponent("run").path
        let run = try DuetBinary.run(["run", pipeline, "--out", out, "--local", "2"])
        #expect(run.status == 0, "\(run.summary)")
        #expect(run.stderr.contains("adaptive: 6 of points 24..<36 chosen"), "\(run.summary)")
        #expect(run.stderr.contains("adaptive: 6 of points 36..<48 chosen"), "\(run.summary)")
        func points(_ path: String) throws -> [Int] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
                .map { try #require(Int($0.prefix { $0 != "," })) }
        }
        let dataset = try points(out + "/dataset.csv")
        #expect(dataset.count == 36 && Set(dataset).count == 36, "\(dataset)")
        #expect(Array(dataset.prefix(24)) == Array(0..<24))
        #expect(try points(out + "/adaptive/round1.csv").allSatisfy { (24..<36).contains($0) })
        #expect(try points(out + "/adaptive/round2.csv").allSatisfy { (36..<48).contains($0) })
        #expect(FileManager.default.fileExists(atPath: out + "/adaptive/round2.model.json"))
        #expect(FileManager.default.fileExists(atPath: out + "/best-model.json"))

        // The held-out points: the sweep's space with design seed 2, other configurations
        // than the sweep's first 8, and the best model judged on them as `duet evaluate` judges it.
        let heldOutRows = try String(contentsOfFile: out + "/heldout.csv", encoding: .utf8).split(separator: "\n")
        let sweepRows = try String(contentsOfFile: out + "/dataset.csv", encoding: .utf8).split(separator: "\n")
        #expect(heldOutRows.count == 9 && heldOutRows[0] == sweepRows[0])
        #expect(Set(heldOutRows.dropFirst().map { $0.drop { $0 != "," } })
                    .isDisjoint(with: sweepRows.dropFirst().prefix(8).map { $0.drop { $0 != "," } }))
        let summary = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let heldOut = try #require(summary["heldOut"] as? [String: Any], "\(summary)")
        #expect(heldOut["points"] as? Int == 8 && heldOut["seed"] as? Int == 2, "\(heldOut)")
        #expect((summary["phases"] as? [String: Any])?["held-out points"] is Double, "\(summary)")
        let evaluated = try DuetBinary.run(["evaluate", out + "/best-model.json", out + "/heldout.csv", "--json"])
        let direct = try #require(try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        func meanResponseMAPE(_ object: [String: Any]) -> Double? {
            ((object["targets"] as? [String: Any])?["meanResponse"] as? [String: Any])?["mape"] as? Double
        }
        #expect(meanResponseMAPE(heldOut) != nil && meanResponseMAPE(heldOut) == meanResponseMAPE(direct), "\(heldOut)")
        // The report's held-out table shows the same predictions' errors.
        let report = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as? [String: Any])
        let reported = ((report["heldOut"] as? [String: Any])?["targets"] as? [[String: Any]])?
            .first { $0["name"] as? String == "meanResponse" }
        let reportedMAPE = (reported?["surrogateErrors"] as? [String: Any])?["mape"] as? Double
        #expect(abs((reportedMAPE ?? .nan) - (meanResponseMAPE(heldOut) ?? .nan)) < 1e-9, "\(String(describing: reported))")
        #expect(run.stdout.contains("held-out points (") || run.stderr.contains("held-out points ("), "\(run.summary)")
        // Each part is a run of its own on the cluster, named by its part.
        let status = try DuetBinary.run(["status", "--journal", out + "/run.journal", "--json", "--finished", "1000"])
        let runs = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["runs"]
            as? [[String: Any]] ?? []
        let labels = Set(runs.compactMap { $0["label"] as? String })
        #expect(labels.isSuperset(of: ["small-sweep start", "small-sweep round 1", "small-sweep round 2",
                                       "small-sweep held-out"]), "\(labels)")

        // Run again: every part is complete, the ensembles choose the same points, the same dataset.
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/dataset.csv"))
        let again = try DuetBinary.run(["run", pipeline, "--out", out, "--local", "2"])
        #expect(again.status == 0, "\(again.summary)")
        #expect(again.stderr.contains("resuming: 6 of 6 points already done"), "\(again.summary)")
        #expect(again.stderr.contains("resuming: 8 of 8 points already done"), "\(again.summary)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/dataset.csv")) == before)

        // A whole sweep's dataset is not written over.
        let whole = files.directory.appendingPathComponent("whole").path
        #expect(try DuetBinary.run(["run", "examples/small.yaml", "--out", whole]).status == 0)
        let refused = try DuetBinary.run(["run", pipeline, "--out", whole])
        #expect(refused.status != 0 && refused.stderr.contains("is a whole sweep's dataset"), "\(refused.summary)")

        // Bad sections are named by their key.
        for (section, message) in [("{ start: 24, rounds: 2, add: 6, pool: 4 }", "adaptive.pool: must be at least add (6)"),
                                   ("{ start: 24, rounds: 2, add: 6, ensemble: 1 }", "adaptive.ensemble"),
                                   ("{ start: 24, rounds: 2 }", "adaptive.add: required key is missing"),
                                   ("{ start: 24, rounds: 2, add: 6, size: 3 }", "adaptive.size"),
                                   ("{ start: 24, rounds: 2, add: 6 }\nheldOut: { points: 8, seed: 1 }",
                                    "heldOut.seed: 1 is the sweep's own design seed")] {
            try write(section)
            let bad = try DuetBinary.run(["run", pipeline, "--out", files.directory.appendingPathComponent("bad").path])
            #expect(bad.status != 0 && bad.stderr.contains(message), "\(section): \(bad.summary)")
        }
    }
}
