import Foundation
import Simulation
import Testing

@testable import Surrogate

/// A small model with random (not trained) weights and every field filled in.
func sampleModel(activation: Activation = .silu, seed: UInt64 = 4) -> ModelFile {
    let architecture = NetworkArchitecture(inputs: 5, hidden: [16, 12], outputs: 3, activation: activation)
    let features = FeatureScaler(names: ["arrival.rate", "batch.mean", "stations.1.servers", "dist.geometric", "dist.uniform"],
                                 means: [0.5, 4, 8, 0.5, 0.5], stds: [0.2, 2, 3, 0.5, 0.5])
    let targets = TargetTransform(targets: [
        .init(name: "meanResponse", log: true, mean: 0.3, std: 1.2),
        .init(name: "p95Response", log: true, mean: 1.1, std: 1.4),
        .init(name: "stations.1.utilization", log: false, mean: 0.5, std: 0.2),
    ])
    var domain = InputDomain()
    for v in [0.1, 0.9] { domain.include("arrival.rate", v) }
    domain.include("stations.1.keepAlive", .infinity)
    domain.include("stations.1.keepAlive", 10)
    for d in ["uniform", "geometric", "uniform"] { domain.include("batch.dist", category: d) }
    var settings = TrainingSettings()
    settings.activation = activation
    return ModelFile(
        network: Network(architecture: architecture, seed: seed), features: features, targets: targets, inputDomain: domain,
        settings: settings, summary: TrainingSummary(epochs: 12, bestEpoch: 9, bestMeanValidationMAPE: 3.25, stopReason: .earlyStopped, seconds: 1.5),
        metrics: ["validation": ["meanResponse.mape": 2.5], "test": ["meanResponse.mape": 2.75]],
        datasetSHA256: String(repeating: "ab", count: 32),
        created: CreationInfo(date: Date(timeIntervalSince1970: 1_750_000_000), toolVersion: "0.1.0", command: ["duet", "train"]))
}

func temporaryFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("duet-surrogate-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
}

@Suite("Model files")
struct ModelFileTests {
    @Test func floatsSurviveJSONExactly() throws {
        // JSONEncoder writes the shortest decimal that reads back as the same Float;
        // check that claim on 100,000 random bit patterns and the awkward cases.
        var random = RandomStream(seed: 1, substream: 77)
        var values: [Float] = [0, -0.0, 1, -1, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0.1, 1.0 / 3, 16_777_217, .ulpOfOne]
        while values.count < 100_000 {
            let v = Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))
            if v.isFinite { values.append(v) }
        }
        let data = try JSONEncoder().encode(values)
        let back = try JSONDecoder().decode([Float].self, from: data)
        #expect(back.count == values.count)
        let mismatches = zip(values, back).filter { $0.bitPattern != $1.bitPattern }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(3))")
    }

    @Test(arguments: Activation.allCases)
    func roundTripIsBitExact(_ activation: Activation) throws {
        let model = sampleModel(activation: activation)
        let url = temporaryFile("roundtrip-\(activation).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.write(to: url)
        let loaded = try ModelFile.load(from: url)
        #expect(loaded == model)
        #expect(loaded.network.isBitIdentical(to: model.network))
        // Predictions agree bit for bit, one row and many.
        let before = Predictor(model: model), after = try Predictor(contentsOf: url)
        let rows = randomMatrix(rows: 300, cols: 5, seed: 8, scale: 2)
        for r in 0..<20 {
            let x = rows.row(r).map(Double.init)
            #expect(before.predict(x).map(\.bitPattern) == after.predict(x).map(\.bitPattern))
        }
        #expect(before.predictBatch(rows, threads: 1).storage.map(\.bitPattern) == after.predictBatch(rows, threads: 1).storage.map(\.bitPattern))
        // Saving again gives the same bytes.
        #expect(try loaded.encoded() == model.encoded())
    }

    @Test func documentCarriesItsTags() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: sampleModel().encoded()) as? [String: Any])
        #expect(json["formatVersion"] as? Int == 2)
        #expect(json["kind"] as? String == "duet-surrogate")
        let domain = try #require(json["inputDomain"] as? [String: [String: Any]])
        #expect(domain["batch.dist"]?["values"] as? [String] == ["geometric", "uniform"])
        #expect(domain["stations.1.keepAlive"]?["max"] as? String == "inf")
        #expect(domain["arrival.rate"]?["min"] as? Double == 0.1)
    }

    /// Writes `text` to a file, loads it, and returns the error.
    func loadError(_ data: Data, _ name: String) throws -> ModelFileError {
        let url = temporaryFile(name)
        defer { try? FileManager.default.removeItem(at: url) }
        try data.write(to: url)
        let error = try #require(throws: ModelFileError.self) { try ModelFile.load(from: url) }
        #expect(error.file == url.path)
        #expect(error.description.hasPrefix("model file \(url.path): "))
        return error
    }

    /// The sample model's JSON with `edit` applied.
    func edited(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var json = try #require(try JSONSerialization.jsonObject(with: sampleModel().encoded()) as? [String: Any])
        edit(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    @Test func truncatedFileIsRefused() throws {
        let data = try sampleModel().encoded()
        let error = try loadError(data.prefix(data.count / 2), "truncated.json")
        #expect(error.reason == .invalidJSON)
        #expect(error.detail.contains("not valid JSON"))
    }

    @Test func otherKindIsRefused() throws {
        let error = try loadError(try edited { $0["kind"] = "duet-dataset" }, "kind.json")
        #expect(error.reason == .wrongKind)
        #expect(error.detail == "not a Duet surrogate model: kind \"duet-dataset\", expected \"duet-surrogate\"")
        let missing = try loadError(Data(#"{"hello": 1}"#.utf8), "nokind.json")
        #expect(missing.reason == .wrongKind)
        #expect(missing.detail.contains("no \"kind\" string"))
        let array = try loadError(Data("[1, 2]".utf8), "array.json")
        #expect(array.detail == "not a Duet surrogate model: the document is not a JSON object")
    }

    @Test func otherVersionIsRefused() throws {
        let error = try loadError(try edited { $0["formatVersion"] = 6 }, "version.json")
        #expect(error.reason == .unsupportedVersion)
        #expect(error.detail == "format version 6; this build of duet reads format versions 1 to 5")
    }

    @Test func wrongShapesAreRefused() throws {
        let short = try loadError(try edited { json in
            var layers = json["layers"] as! [[String: Any]]
            layers[1]["weights"] = (layers[1]["weights"] as! [Any]).dropLast().map { $0 }
            json["layers"] = layers
        }, "shape.json")
        #expect(short.reason == .invalidContent)
        #expect(short.detail == "layers[1].weights has 191 values, expected 16 x 12 = 192")

        let bias = try loadError(try edited { json in
            var layers = json["layers"] as! [[String: Any]]
            layers[2]["biases"] = [0.5]
            json["layers"] = layers
        }, "bias.json")
        #expect(bias.detail == "layers[2].biases has 1 values, expected 3")

        let layers = try loadError(try edited { json in json["layers"] = (json["layers"] as! [Any]).dropLast().map { $0 } }, "layers.json")
        #expect(layers.detail == "layers has 2 entries; the architecture (5 -> 16 -> 12 -> 3) needs 3")

        let features = try loadError(try edited { json in json["features"] = (json["features"] as! [Any]).dropLast().map { $0 } }, "features.json")
        #expect(features.detail == "features lists 4 columns; the network takes 5 inputs")

        let missing = try loadError(try edited { json in json["architecture"] = ["inputs": 5, "outputs": 3, "activation": "silu"] }, "missing.json")
        #expect(missing.detail == "missing key architecture.hidden")

        let type = try loadError(try edited { json in
            var layers = json["layers"] as! [[String: Any]]
            var weights = layers[0]["weights"] as! [Any]
            weights[3] = "oops"
            layers[0]["weights"] = weights
            json["layers"] = layers
        }, "type.json")
        #expect(type.detail.hasPrefix("at layers[0].weights[3]: expected Float"))
    }

    @Test func hugeLayerSizesAreRefused() throws {
        // inputs x outputs does not fit an Int: an error, not an overflow trap.
        let huge = 1 << 62
        let error = try loadError(try edited { json in
            var architecture = json["architecture"] as! [String: Any]
            architecture["inputs"] = huge
            json["architecture"] = architecture
            var layers = json["layers"] as! [[String: Any]]
            layers[0]["inputs"] = huge
            json["layers"] = layers
        }, "huge.json")
        #expect(error.reason == .invalidContent)
        #expect(error.detail == "layers[0].weights has 80 values, expected \(huge) x 16 = more than \(Int.max)")
    }

    @Test func unreadableFileIsNamed() throws {
        let url = temporaryFile("does-not-exist.json")
        let error = try #require(throws: ModelFileError.self) { try ModelFile.load(from: url) }
        #expect(error.reason == .unreadable)
        #expect(error.description.contains(url.path))
    }

    @Test func inputDomainReportsExtrapolation() {
        let domain = sampleModel().inputDomain
        #expect(domain.violations(numeric: ["arrival.rate": 0.5, "stations.1.keepAlive": 1e9], categorical: ["batch.dist": "uniform"]).isEmpty)
        #expect(domain.violations(numeric: ["arrival.rate": 1.5], categorical: ["batch.dist": "empirical"]) == [
            "arrival.rate = 1.5 is outside the training range [0.1, 0.9]",
            "batch.dist = empirical was not seen in training (seen: geometric, uniform)",
        ])
    }
}

@Suite("Prediction")
struct PredictionTests {
    @Test(arguments: Activation.allCases)
    func singleRowAndBatchAgree(_ activation: Activation) {
        // Different summation orders (hand loop vs sgemm blocks): agreement to 1e-5
        // relative, a few Float ulps through three layers and an exp.
        let predictor = Predictor(model: sampleModel(activation: activation))
        let rows = randomMatrix(rows: 1500, cols: 5, seed: 31, scale: 3)  // spans several 512-row blocks
        let serial = predictor.predictBatch(rows, threads: 1)
        let parallel = predictor.predictBatch(rows, threads: 2)
        var values = [Double](repeating: 0, count: 3)
        for r in 0..<rows.rows {
            predictor.predict(rows.row(r).map(Double.init), into: &values)
            for j in 0..<3 {
                #expect(abs(values[j] - Double(serial[r, j])) <= 1e-5 * max(1, abs(values[j])))
                #expect(abs(Double(parallel[r, j]) - Double(serial[r, j])) <= 1e-6 * max(1, abs(values[j])))
            }
        }
        // Standardised paths agree with the real-valued ones.
        let z = predictor.predictBatch(standardized: randomMatrix(rows: 4, cols: 5, seed: 32), threads: 1)
        var out = [Float](repeating: 0, count: 3)
        let first = Array(randomMatrix(rows: 4, cols: 5, seed: 32).row(0))
        first.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { predictor.predictStandardized(x, into: $0) } }
        for j in 0..<3 { #expect(abs(out[j] - z[0, j]) <= 1e-5 * max(1, abs(out[j]))) }
    }
}
