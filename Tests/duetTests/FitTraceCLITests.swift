// `duet fit-trace` through the built binary: JSON on a hand-made trace, the
// configuration it writes, errors, and the Azure trace.

import Foundation
import Testing

@Suite("duet fit-trace")
struct FitTraceCLITests {
    /// Jobs at 0, 0, 1, 1, 1, 3, 6 s: batches of 2, 3, 1, 1 at 0, 1, 3, 6.
    static let small = "TIMESTAMP,tokens\n0,10\n0,20\n1,30\n1,40\n1,50\n3,60\n6,70\n"

    @Test("--json on a hand-made trace: every figure by hand")
    func json() throws {
        let scratch = try TemporaryFiles()
        defer { scratch.cleanUp() }
        let trace = try scratch.write("small.csv", Self.small)
        let run = try DuetBinary.run(["fit-trace", trace, "--work", "tokens", "--work-scale", "0.1", "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        func number(_ value: Any?) -> Double { (value as? NSNumber)?.doubleValue ?? .nan }
        #expect(abs(number(object["jobRate"]) - 7.0 / 6) < 1e-12)
        #expect(abs(number(object["batchRate"]) - 4.0 / 6) < 1e-12)
        // Gaps 1, 2, 3: mean 2, second moment 14/3, scv 14/12 - 1.
        #expect(abs(number(object["arrivalScv"]) - (14.0 / 12 - 1)) < 1e-12)
        let batch = try #require(object["batch"] as? [String: Any])
        // Sizes 2, 3, 1, 1: mean 7/4, second moment 15/4.
        #expect(abs(number(batch["mean"]) - 1.75) < 1e-12)
        #expect(abs(number(batch["scv"]) - (3.75 / (1.75 * 1.75) - 1)) < 1e-12)
        let work = try #require(object["work"] as? [String: Any])
        // Multipliers 1 ... 7: mean 4, variance 4, scv 1/4.
        #expect(abs(number(work["mean"]) - 4) < 1e-12)
        #expect(abs(number(work["scv"]) - 0.25) < 1e-12)
        #expect(number(work["min"]) == 1 && number(work["max"]) == 7)
        let onOff = try #require(object["onOff"] as? [String: Any])
        // scv 1/6 < 1: no on/off process is that regular, so always on.
        #expect(number(onOff["onFraction"]) == 1)
        #expect(onOff["method"] as? String == "poisson")
    }

    @Test("--out writes arrival and batch sections that simulate once stations are added")
    func outFile() throws {
        let scratch = try TemporaryFiles()
        defer { scratch.cleanUp() }
        let trace = try scratch.write("small.csv", Self.small)
        let out = scratch.directory.appendingPathComponent("fitted.yaml").path
        let run = try DuetBinary.run(["fit-trace", trace, "--out", out])
        #expect(run.status == 0, "\(run.summary)")
        let yaml = try String(contentsOfFile: out, encoding: .utf8)
        #expect(yaml.contains("# Fitted by `duet fit-trace` from \(trace)"))
        #expect(yaml.contains("#   onOff: { onFraction: 1, meanOn:"))
        let config = try scratch.write("tandem.yaml", yaml + """
            stations:
              - service: { mean: 0.1 }
              - service: { mean: 0.1 }
            run: { jobs: 2000, replications: 2 }
            """)
        let simulate = try DuetBinary.run(["simulate", config, "--json"])
        #expect(simulate.status == 0, "\(simulate.summary)")
    }

    @Test("A trace without TIMESTAMP: the error lists the columns and names --time")
    func missingTimeColumn() throws {
        let scratch = try TemporaryFiles()
        defer { scratch.cleanUp() }
        let trace = try scratch.write("t.csv", "when,size\n0,1\n")
        let run = try DuetBinary.run(["fit-trace", trace])
        #expect(run.status != 0)
        #expect(run.stderr.contains("column TIMESTAMP: no such column for the arrival time in the header; "
                                    + "the columns are \"when\", \"size\"; name the time column with --time"),
                "\(run.summary)")
        let named = try DuetBinary.run(["fit-trace", trace, "--time", "when"])
        #expect(named.status == 0, "\(named.summary)")
    }

    @Test("The Azure trace: 8819 jobs over 3435.948056 s", .enabled(if: azureTraceIsThere, "the Azure trace is not in data/azure-llm-2023 of this checkout"))
    func azure() throws {
        let path = azureTracePath
        let run = try DuetBinary.run(["fit-trace", path, "--batch-window", "0.1", "--work", "GeneratedTokens",
                                      "--json"])
        #expect(run.status == 0, "\(run.summary)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let jobRate = try #require((object["jobRate"] as? NSNumber)?.doubleValue)
        #expect(abs(jobRate - 8819 / 3435.948056) < 1e-9)
        #expect((object["jobs"] as? NSNumber)?.intValue == 8819)
    }
}

/// The Azure code trace that ships in the repository (`data/azure-llm-2023/`), found
/// from this file's place in the checkout; the tests that need it are skipped,
/// saying so, where a partial copy of the repository lacks it.
let azureTracePath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("data/azure-llm-2023/AzureLLMInferenceTrace_code.csv").path
let azureTraceIsThere = FileManager.default.fileExists(atPath: azureTracePath)
