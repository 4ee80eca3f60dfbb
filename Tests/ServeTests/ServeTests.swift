// `duet serve`'s routes on a live server in this process (loopback, a free port):
// predictions (one and a list) against the library's, plans against `PlanSearch`,
// 400s that name the key, 413, 401, the metrics they leave, and the bind rules.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Search
import ServiceLifecycle
import Simulation
import Surrogate
import Testing

@testable import Serve

/// A model of the current feature version with random weights and error bands: its training range
/// is one point (`arrival.scv` 1), so a configuration with another scv is outside it.
private func model() throws -> SurrogateModel {
    let names = SurrogateFeatures.names
    let architecture = NetworkArchitecture(inputs: names.count, hidden: [8], outputs: SurrogateTargets.names.count,
                                           activation: .silu)
    var trained = InputDomain()
    trained.include("arrival.scv", 1)
    var file = ModelFile(
        network: Network(architecture: architecture, seed: 3),
        features: FeatureScaler(names: names, means: names.map { _ in 0 }, stds: names.map { _ in 1 }),
        targets: TargetTransform(targets: SurrogateTargets.names.map { .init(name: $0, log: true, mean: 0, std: 1) }),
        inputDomain: trained, settings: TrainingSettings(), metrics: ["info": ["featureVersion": Double(SurrogateFeatures.version)], "test": ["meanResponse.mape": 4.5]],
        datasetSHA256: String(repeating: "0", count: 64), created: CreationInfo(createdAt: "2026-01-01T00:00:00Z"))
    file.errorBands = nil
    return try SurrogateModel(file: file)
}

/// examples/serverless.yaml as JSON; `scv` sets the arrival scv (1: inside the model's domain).
private func configJSON(scv: Double = 1, cloudServers: Int = 16) -> String {
    """
    {"arrival": {"rate": 0.5, "scv": \(scv)}, "batch": {"dist": "geometric", "mean": 4},
     "stations": [{"name": "edge", "servers": 2, "service": {"mean": 0.3, "scv": 1.0}},
                  {"name": "cloud", "servers": \(cloudServers), "service": {"mean": 0.05, "scv": 0.5}, "setup": 0.1,
                   "maxBatch": 8, "timeout": 0.25, "coldStart": {"mean": 1.0, "scv": 1.0}, "keepAlive": 600}]}
    """
}

private func makeService(token: String? = nil, bodyLimit: Int = 1 << 20) throws -> PredictionService {
    PredictionService(model: try model(), modelName: "test-model.json", options: ServeOptions(token: token, bodyLimit: bodyLimit))
}

/// One answer: status, headers, body.
private struct Answer {
    var status: Int
    var headers: [String: String]
    var body: String
}

/// A client of one running server.
private struct Client: Sendable {
    let base: String

    func execute(uri: String, method: String, headers: [String: String] = [:], body: String? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: base + uri)!)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
        return Answer(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
    }
}

/// Runs `service` on 127.0.0.1 (a free port) for the length of `test`, then shuts it
/// down gracefully (as SIGTERM does).
private func withServer(_ service: PredictionService, _ test: @Sendable (Client) async throws -> Void) async throws {
    var logger = Logger(label: "serve-tests")
    logger.logLevel = .critical
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = ServeApplication.make(service: service, host: "127.0.0.1", port: 0, logger: logger) { continuation.yield($0) }
    let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            try await test(Client(base: "http://127.0.0.1:\(port)"))
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

private func object(_ body: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
}

private func mean(_ prediction: [String: Any], _ metric: String) -> Double? {
    (prediction[metric] as? [String: Any])?["mean"] as? Double
}

@Suite("duet serve")
struct ServeTests {
    @Test("POST /v1/predict answers one configuration as the library predicts it")
    func predictOne() async throws {
        let service = try makeService()
        let expected = Dictionary(uniqueKeysWithValues: zip(service.model.targetNames,
                                                            service.model.predict(try ConfigLoader.parse(configJSON()))))
        try await withServer(service) { client in
            let response = try await client.execute(uri: "/v1/predict", method: "POST", body: configJSON())
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json")
            let prediction = try object(response.body)
            // The JSON text is the shortest decimal of each Double: equal to 1e-12 relative.
            for name in ["meanResponse", "p95Response"] {
                let value = try #require(mean(prediction, name))
                #expect(abs(value - expected[name]!) <= 1e-12 * abs(expected[name]!), "\(name)")
            }
            let stations = try #require(prediction["stations"] as? [[String: Any]])
            #expect(stations.map { $0["name"] as? String } == ["edge", "cloud"])
            let cloud = try #require(mean(stations[1], "instanceSecondsPerJob"))
            let expectedCloud = expected["stations.2.instanceSecondsPerJob"]!
            #expect(abs(cloud - expectedCloud) <= 1e-12 * expectedCloud)
            #expect(prediction["predicted"] as? Bool == true)
            #expect((prediction["warnings"] as? [String])?.isEmpty == true)
        }
    }

    @Test("A model composed along chains answers a chain of any length with its means, station by station")
    func composedModel() throws {
        var file = try model().file
        file.metrics["info"]?["perStation"] = 2     // views of a station and the one before it
        file.metrics["info"]?["minStations"] = 1
        let service = PredictionService(model: try SurrogateModel(file: file), modelName: "composed.json",
                                        options: ServeOptions())
        let chain = """
            {"arrival": {"rate": 0.5, "scv": 1}, "stations": [
              {"servers": 2, "service": {"mean": 0.3}}, {"servers": 2, "service": {"mean": 0.4}},
              {"servers": 1, "service": {"mean": 0.5}}]}
            """
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(try service.predict(body: chain).utf8))
                                  as? [String: Any])
        let stations = try #require(answer["stations"] as? [[String: Any]])
        #expect(stations.count == 3)
        #expect(answer["p95Response"] == nil, "a composed chain has no percentiles")
        func mean(_ object: [String: Any]?) -> Double? { (object?["meanResponse"] as? [String: Any])?["mean"] as? Double }
        let total = try #require(mean(answer))
        let sum = stations.compactMap { mean($0) }.reduce(0, +)
        #expect(abs(total - sum) <= 1e-9 * sum, "the chain's mean response is the sum of its stations'")
        let csv = #expect(throws: ServeError.self) {
            try service.predictCSV(body: Array("arrival.rate,stations.1.servers\n1,2\n".utf8))
        }
        #expect(csv?.message.contains("send the configurations as JSON") == true, "\(String(describing: csv))")
    }

    @Test("POST /v1/predict answers a list in order, warning outside the domain")
    func predictList() async throws {
        let service = try makeService()
        let configs = [configJSON(cloudServers: 4), configJSON(scv: 3, cloudServers: 32)]
        try await withServer(service) { client in
            let response = try await client.execute(uri: "/v1/predict", method: "POST",
                                                    body: "[" + configs.joined(separator: ",") + "]")
            #expect(response.status == 200)
            let list = try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]])
            #expect(list.count == 2)
            for (prediction, text) in zip(list, configs) {
                let expected = service.model.predict(try ConfigLoader.parse(text))[0]
                let value = try #require(mean(prediction, service.model.targetNames[0]))
                // A list runs through the bulk path (sgemm), one configuration through the
                // hand loop: equal to float rounding, not bit for bit.
                #expect(abs(value - expected) <= 1e-5 * abs(expected))
            }
            #expect((list[0]["warnings"] as? [String])?.isEmpty == true)
            let warnings = try #require(list[1]["warnings"] as? [String])
            #expect(warnings.contains { $0.contains("arrival.scv") })
        }
        let metrics = service.metrics.text()
        #expect(metrics.contains("duet_serve_predictions_total 2"))
        #expect(metrics.contains("duet_serve_out_of_domain_predictions_total 1"))
    }

    @Test("a bad configuration gets 400 naming the key, and the server keeps answering",
          arguments: [
              ("{\"arrival\": {\"rate\": -1}, \"stations\": []}", "arrival.rate"),
              (configJSON().replacingOccurrences(of: "\"servers\": 2", with: "\"servers\": \"two\""), "stations.1.servers"),
              (configJSON().replacingOccurrences(of: "\"maxBatch\"", with: "\"maxBatchSize\""), "stations.2.maxBatchSize"),
              ("[" + configJSON() + ", {\"arrival\": {\"rate\": 1}}]", "2"),
              ("{\"arrival\": {\"trace\": \"/etc/passwd\"}, \"stations\": []}", "arrival.trace"),
              ("{\"arrival\": ", ""),
              (String(repeating: "[", count: 100_000), ""),
          ])
    func badRequest(body: String, path: String) async throws {
        try await withServer(try makeService()) { client in
            let response = try await client.execute(uri: "/v1/predict", method: "POST", body: body)
            #expect(response.status == 400)
            let error = try #require(try object(response.body)["error"] as? [String: Any])
            #expect(error["status"] as? Int == 400)
            let reported = try #require(error["path"] as? String)
            #expect(path.isEmpty ? reported.isEmpty : reported.hasPrefix(path), "path \(reported), message \(error["message"] ?? "")")
            #expect((error["message"] as? String)?.isEmpty == false)
            let next = try await client.execute(uri: "/v1/predict", method: "POST", body: configJSON())
            #expect(next.status == 200)
        }
    }

    @Test("POST /v1/predict with text/csv: rows of dataset columns answered as CSV rows, in order")
    func predictCSV() async throws {
        let service = try makeService()
        let configs = try [configJSON(cloudServers: 4), configJSON(scv: 3, cloudServers: 32)].map { try ConfigLoader.parse($0) }
        // The body as a sweep writes dataset rows: its input columns, by name.
        let header = ConfigColumns.names(of: configs[0])
        let body = ([header] + configs.map { ConfigColumns.cells(of: $0) }).map { $0.joined(separator: ",") }
            .joined(separator: "\n") + "\n"
        try await withServer(service) { client in
            let response = try await client.execute(uri: "/v1/predict", method: "POST",
                                                    headers: ["Content-Type": "text/csv"], body: body)
            #expect(response.status == 200, "\(response.body)")
            #expect(response.headers["content-type"]?.hasPrefix("text/csv") == true)
            let lines = response.body.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            #expect(lines.first.map { $0.map(String.init) } == ["row"] + service.model.targetNames + ["outOfDomain"])
            #expect(lines.count == 3)
            for (index, config) in configs.enumerated() {
                let cells = lines[index + 1]
                #expect(cells.first == Substring(String(index + 1)))
                let expected = service.model.predict(config)
                for (t, value) in expected.enumerated() {
                    let got = try #require(Double(String(cells[t + 1])))
                    // The bulk path (sgemm) against the single-row loop: float rounding apart.
                    #expect(abs(got - value) <= 1e-5 * abs(value), "row \(index + 1), \(service.model.targetNames[t])")
                }
            }
            // The second configuration's arrival scv lies outside the model's training range.
            #expect(lines[1].last == "0" && lines[2].last.map { Int(String($0))! > 0 } == true)
            // A bad cell: 400 naming the row and column; the server keeps answering.
            let servers = try #require(header.firstIndex(of: "stations.1.servers"))
            var cells = ConfigColumns.cells(of: configs[0])
            cells[servers] = "two"
            let bad = [header, cells].map { $0.joined(separator: ",") }.joined(separator: "\n")
            let refused = try await client.execute(uri: "/v1/predict", method: "POST",
                                                   headers: ["Content-Type": "text/csv"], body: bad)
            #expect(refused.status == 400)
            let error = try #require(try object(refused.body)["error"] as? [String: Any])
            #expect(error["path"] as? String == "1.stations.1.servers", "\(error)")
            let empty = try await client.execute(uri: "/v1/predict", method: "POST",
                                                 headers: ["Content-Type": "text/csv"], body: header.joined(separator: ","))
            #expect(empty.status == 400)
            let next = try await client.execute(uri: "/v1/predict", method: "POST",
                                                headers: ["Content-Type": "text/csv"], body: body)
            #expect(next.status == 200)
        }
        #expect(service.metrics.text().contains("duet_serve_predictions_total 4"))
    }

    @Test("a body over the limit gets 413")
    func tooLarge() async throws {
        let service = try makeService(bodyLimit: 2048)
        try await withServer(service) { client in
            let body = "[" + Array(repeating: configJSON(), count: 10).joined(separator: ",") + "]"
            #expect(body.utf8.count > 2048)
            let response = try await client.execute(uri: "/v1/predict", method: "POST", body: body)
            #expect(response.status == 413)
            #expect((try object(response.body)["error"] as? [String: Any])?["status"] as? Int == 413)
        }
    }

    @Test("with a token, every route but /healthz needs it")
    func bearerToken() async throws {
        try await withServer(try makeService(token: "s3cret")) { client in
            #expect(try await client.execute(uri: "/v1/model", method: "GET").status == 401)
            #expect(try await client.execute(uri: "/v1/model", method: "GET", headers: ["Authorization": "Bearer wrong"]).status
                        == 401)
            let denied = try await client.execute(uri: "/v1/predict", method: "POST", body: configJSON())
            #expect(denied.status == 401)
            #expect(denied.headers["www-authenticate"] == "Bearer")
            #expect(try await client.execute(uri: "/v1/model", method: "GET", headers: ["Authorization": "Bearer s3cret"]).status == 200)
            #expect(try await client.execute(uri: "/healthz", method: "GET").status == 200)
        }
    }

    @Test("/metrics counts the requests made, by route and status")
    func metricsCount() async throws {
        try await withServer(try makeService()) { client in
            for _ in 0..<3 { _ = try await client.execute(uri: "/v1/predict", method: "POST", body: configJSON()) }
            _ = try await client.execute(uri: "/v1/predict", method: "POST", body: "{}")
            _ = try await client.execute(uri: "/healthz", method: "GET")
            _ = try await client.execute(uri: "/nowhere", method: "GET")
            let response = try await client.execute(uri: "/metrics", method: "GET")
            #expect(response.status == 200)
            let text = response.body
            #expect(text.contains(#"duet_serve_requests_total{route="/v1/predict",status="200"} 3"#), "\(text)")
            #expect(text.contains(#"duet_serve_requests_total{route="/v1/predict",status="400"} 1"#))
            #expect(text.contains(#"duet_serve_requests_total{route="/healthz",status="200"} 1"#))
            // Hummingbird names the route of an unmatched path itself.
            #expect(text.contains(#"status="404"} 1"#))
            #expect(text.contains(#"duet_serve_request_errors_total{route="/v1/predict"} 1"#))
            #expect(text.contains(#"duet_serve_request_duration_seconds_count{route="/v1/predict"} 4"#))
            #expect(text.contains("duet_serve_predictions_total 3"))
        }
    }

    @Test("/healthz and /v1/model")
    func healthAndModel() async throws {
        try await withServer(try makeService()) { client in
            let health = try await client.execute(uri: "/healthz", method: "GET")
            #expect(health.status == 200)
            #expect(try object(health.body)["status"] as? String == "ok")
            let model = try object(try await client.execute(uri: "/v1/model", method: "GET").body)
            #expect(model["model"] as? String == "test-model.json")
            #expect(model["targets"] as? [String] == SurrogateTargets.names)
            #expect(model["featureVersion"] as? Int == SurrogateFeatures.version)
            #expect(((model["metrics"] as? [String: Any])?["test"] as? [String: Double])?["meanResponse.mape"] == 4.5)
            let training = (model["domain"] as? [String: Any])?["training"] as? [String: [Double]]
            #expect(training?["arrival.scv"] == [1, 1])
        }
    }

    @Test("POST /v1/plan lists what PlanSearch lists, and names a bad axis or objective")
    func plan() async throws {
        let service = try makeService()
        let base = try ConfigLoader.parse(configJSON())
        let axis = PlanGrid.Axis(argument: "stations.2.servers=1..24")!
        let objective = ServiceLevelObjective(text: "meanResponse<=1e9")!
        let expected = PlanSearch(model: service.model, grid: try PlanGrid(base: base, axes: [axis]), objectives: [objective], top: 3)
        try await withServer(service) { client in
            let request = #"{"base": \#(configJSON()), "slo": ["meanResponse<=1e9"], "vary": ["stations.2.servers=1..24"], "top": 3}"#
            let response = try await client.execute(uri: "/v1/plan", method: "POST", body: request)
            #expect(response.status == 200)
            let plan = try object(response.body)
            #expect(plan["searched"] as? Int == 24)
            #expect(plan["feasible"] as? Int == expected.feasible)
            let best = try #require(plan["best"] as? [[String: Any]])
            #expect(best.map { $0["stations.2.servers"] as? String } == expected.best.map { $0.values[0] })

            for (body, path) in [
                (#"{"base": \#(configJSON()), "vary": ["stations.9.servers=1..4"]}"#, "vary.1"),
                (#"{"base": \#(configJSON()), "slo": ["latency<=1"], "vary": ["stations.2.servers=1..4"]}"#, "slo.1"),
                (#"{"base": \#(configJSON()), "slo": ["meanResponse"], "vary": ["stations.2.servers=1..4"]}"#, "slo.1"),
                (#"{"base": \#(configJSON())}"#, "vary"),
                (#"{"base": \#(configJSON()), "vary": []}"#, "vary"),
                (#"{"vary": ["stations.2.servers=1..4"]}"#, "base"),
                (#"{"base": \#(configJSON()), "vary": ["stations.2.servers=1..4"], "top": 0}"#, "top"),
            ] {
                let refused = try await client.execute(uri: "/v1/plan", method: "POST", body: body)
                #expect(refused.status == 400)
                #expect((try object(refused.body)["error"] as? [String: Any])?["path"] as? String == path, "\(body)")
            }
        }
    }

    @Test("--bind: loopback addresses, and the forms it reads", arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080, true), ("localhost:1", "localhost", 1, true), ("[::1]:9", "::1", 9, true),
        (":8080", "127.0.0.1", 8080, true), ("0.0.0.0:8080", "0.0.0.0", 8080, false), ("10.1.2.3:80", "10.1.2.3", 80, false),
        ("[::]:80", "::", 80, false), ("127.0.0.1.example.com:80", "127.0.0.1.example.com", 80, false),
    ])
    func bind(text: String, host: String, port: Int, loopback: Bool) throws {
        let bind = try #require(ServeBind(text))
        #expect(bind.host == host)
        #expect(bind.port == port)
        #expect(bind.isLoopback == loopback)
    }

    @Test("--bind refuses what is not HOST:PORT", arguments: ["8080", "host:", "host:99999", "host:http"])
    func badBind(text: String) {
        #expect(ServeBind(text) == nil)
    }
}
