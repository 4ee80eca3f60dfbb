// Configurations read from parsed JSON (`ConfigNode(json:)`, `duet serve`'s path) are
// the configurations the YAML reader makes of the same text, and are refused as it
// refuses them, naming the key.

import DuetSupport
import Testing
@testable import Simulation

@Suite("ConfigNode from JSON")
struct ConfigNodeJSONTests {
    static let serverless = """
        {"arrival": {"rate": 0.5, "scv": 1}, "batch": {"dist": "geometric", "mean": 4},
         "stations": [{"name": "edge", "servers": 2, "service": {"mean": 0.3, "scv": 1.0}, "setup": null},
                      {"name": "cloud", "servers": 16, "service": {"mean": 0.05, "scv": 0.5}, "setup": 0.1,
                       "maxBatch": 8, "timeout": 0.25, "coldStart": {"mean": 1.0, "scv": 1.0}, "keepAlive": 600}],
         "run": {"jobs": 1000, "replications": 2, "warmup": 0.1, "seed": 42}}
        """

    static func fromJSON(_ text: String) throws -> TandemConfig {
        try ConfigLoader.config(from: ConfigNode(json: JSON.parse(text)))
    }

    @Test("the same configuration as the YAML reader, numbers, names and defaults included")
    func sameAsYAML() throws {
        let viaJSON = try Self.fromJSON(Self.serverless)
        #expect(viaJSON == (try ConfigLoader.parse(Self.serverless)))
        // Hand-checked values, so that agreement is not agreement on a mistake.
        #expect(viaJSON.arrivalRate == 0.5 && viaJSON.batch == .geometric(mean: 4))
        #expect(viaJSON.stations.map(\.name) == ["edge", "cloud"] && viaJSON.stations[1].servers == 16)
        #expect(viaJSON.stations[1].service.mean == 0.05 && viaJSON.stations[1].keepAlive == 600)
        #expect(viaJSON.stations[0].setup == 0)  // null: the default
    }

    @Test("errors name the key, as the YAML reader's do", arguments: [
        (#""servers": 2"#, #""servers": "2""#, "stations.1.servers", "write it without quotes"),
        (#""servers": 2"#, #""servers": true"#, "stations.1.servers", "whole number"),
        (#""maxBatch""#, #""maxBatchSize""#, "stations.2.maxBatchSize", "unknown key"),
        (#""setup": 0.1,"#, #""setup": 0.1, "setup": 0.2,"#, "stations.2.setup", "more than once"),
    ])
    func refused(_ original: String, _ replacement: String, _ path: String, _ phrase: String) throws {
        let text = Self.serverless.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.serverless)
        do {
            _ = try Self.fromJSON(text)
            Issue.record("accepted \(replacement)")
        } catch let error as ConfigError {
            #expect(error.path == path, "\(error)")
            #expect(error.message.contains(phrase), "\(error)")
        }
    }

    @Test("a JSON number reads as its text does in YAML, values and errors alike", arguments: [
        (#""keepAlive": 600"#, #""keepAlive": 5e-324"#),
        (#""keepAlive": 600"#, #""keepAlive": 1.7976931348623157e308"#),
        (#""timeout": 0.25"#, #""timeout": -0.25"#),
        (#""timeout": 0.25"#, #""timeout": 0.1e1"#),
        (#""setup": 0.1"#, #""setup": -1e-300"#),
        (#""servers": 16"#, #""servers": 16.0"#),
        (#""servers": 16"#, #""servers": 16.5"#),
        (#""name": "cloud""#, #""name": 2.5"#),
    ])
    func numbersAsTheirText(_ original: String, _ replacement: String) throws {
        let text = Self.serverless.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.serverless)
        // YAML reads the same text (JSON is YAML) from the scalar's characters.
        let viaYAML = Result { try ConfigLoader.parse(text) }
        let viaJSON = Result { try Self.fromJSON(text) }
        switch (viaYAML, viaJSON) {
        case (.success(let yaml), .success(let json)): #expect(yaml == json)
        case (.failure(let yaml as ConfigError), .failure(let json as ConfigError)):
            #expect(yaml.path == json.path && yaml.message == json.message, "\(yaml) | \(json)")
        default: Issue.record("YAML \(viaYAML), JSON \(viaJSON)")
        }
    }

    @Test("hand-checked: the smallest subnormal keep-alive, 16.0 servers, a number as a name")
    func numbersByHand() throws {
        let tiny = try Self.fromJSON(Self.serverless.replacingOccurrences(of: #""keepAlive": 600"#, with: #""keepAlive": 5e-324"#))
        #expect(tiny.stations[1].keepAlive == .leastNonzeroMagnitude)
        let whole = try Self.fromJSON(Self.serverless.replacingOccurrences(of: #""servers": 16"#, with: #""servers": 16.0"#))
        #expect(whole.stations[1].servers == 16)
        let named = try Self.fromJSON(Self.serverless.replacingOccurrences(of: #""name": "cloud""#, with: #""name": 2.5"#))
        #expect(named.stations[1].name == "2.5")
        #expect(throws: ConfigError.self) {
            try Self.fromJSON(Self.serverless.replacingOccurrences(of: #""timeout": 0.25"#, with: #""timeout": -0.25"#))
        }
    }
}
