// `duet serve` as a process: the bind rule, answering on a free loopback port, and
// SIGTERM finishing the request in flight before the process exits 0.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite("duet serve CLI", .serialized)
struct ServeCLITests {
    /// A small model of the repository (feature version 2), enough to answer.
    static let model = "Fuzz/corpus/model/small-model.json"

    @Test("a non-loopback --bind without --token-file is refused, naming the flag")
    func tokenRequired() throws {
        let run = try DuetBinary.run(["serve", Self.model, "--bind", "0.0.0.0:0"])
        #expect(run.status == 64, "\(run.summary)")
        #expect(run.stderr.contains("--token-file"), "\(run.summary)")
    }

    @Test("answers on the port it prints; SIGTERM lets the request in flight finish, then exits 0")
    func gracefulStop() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("duet-serve-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let server = try DuetProcess(["serve", Self.model, "--bind", "127.0.0.1:0"], in: scratch, name: "serve")
        defer { server.kill9() }
        var port: Int?
        let started = eventually(60) {
            port = server.stderr.split(separator: "\n").lazy.compactMap { line -> Int? in
                guard let range = line.range(of: "listening on http://127.0.0.1:") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }.first
            return port != nil || !server.process.isRunning
        }
        let bound = try #require(started ? port : nil, "duet serve did not say where it listens\n\(server.summary)")
        let base = "http://127.0.0.1:\(bound)"

        let (health, healthResponse) = try await URLSession.shared.data(from: URL(string: "\(base)/healthz")!)
        #expect((healthResponse as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: health, as: UTF8.self).contains("ok"))

        // A plan of 40,000 combinations takes a while; SIGTERM comes while it runs.
        var request = URLRequest(url: URL(string: "\(base)/v1/plan")!)
        request.httpMethod = "POST"
        request.httpBody = Data("""
            {"base": {"arrival": {"rate": 1}, "batch": {"dist": "geometric", "mean": 4},
                      "stations": [{"servers": 2, "service": {"mean": 0.25}}, {"servers": 4, "service": {"mean": 0.25}}]},
             "vary": ["stations.2.servers=1..200", "stations.2.maxBatch=1..200"], "top": 3}
            """.utf8)
        request.timeoutInterval = 300
        let inFlight = Task { try await URLSession.shared.data(for: request) }
        try await Task.sleep(for: .milliseconds(300))
        server.signal(SIGTERM)
        let (body, response) = try await inFlight.value
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")
        #expect(String(decoding: body, as: UTF8.self).contains("\"searched\":40000"))
        let status = server.wait(timeout: 60)
        #expect(status == 0, "\(server.summary)")
        #expect(server.stderr.contains("duet serve: stopped"), "\(server.summary)")
    }
}
