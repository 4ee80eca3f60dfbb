// The shipped model's lookup: a named file, then $DUET_MODEL, then the places beside
// the binary; the environment and the file system are injected.

import Foundation
import Testing

@testable import Surrogate

@Suite("Shipped model lookup")
struct ShippedModelTests {
    private func locate(named: String? = nil, environment: [String: String] = [:], executable: String,
                        existing: Set<String>) throws -> String {
        try ShippedModel.locate(named: named, environment: environment, executable: executable,
                                fileExists: { existing.contains($0) })
    }

    @Test("a named model wins; then $DUET_MODEL; then the places beside the binary, in order")
    func order() throws {
        let everywhere: Set<String> = ["/env/m.json", "/opt/duet/bin/duet-tandem-v1.json",
                                       "/opt/duet/share/duet/duet-tandem-v1.json", "/opt/duet/models/duet-tandem-v1.json"]
        #expect(try locate(named: "mine.json", environment: ["DUET_MODEL": "/env/m.json"],
                           executable: "/opt/duet/bin/duet", existing: everywhere) == "mine.json")
        #expect(try locate(environment: ["DUET_MODEL": "/env/m.json"], executable: "/opt/duet/bin/duet",
                           existing: everywhere) == "/env/m.json")
        #expect(try locate(executable: "/opt/duet/bin/duet", existing: everywhere) == "/opt/duet/bin/duet-tandem-v1.json")
        #expect(try locate(executable: "/opt/duet/bin/duet", existing: ["/opt/duet/share/duet/duet-tandem-v1.json"])
                == "/opt/duet/share/duet/duet-tandem-v1.json")
        // A binary built in a checkout finds the repository's models/.
        #expect(try locate(executable: "/src/duet/.build/x86_64-unknown-linux-gnu/release/duet",
                           existing: ["/src/duet/models/duet-tandem-v1.json"]) == "/src/duet/models/duet-tandem-v1.json")
    }

    @Test("no model anywhere, or $DUET_MODEL naming a missing file, is an error saying where it looked")
    func errors() {
        #expect(throws: ShippedModelError.missingEnvironmentModel("/gone.json")) {
            try locate(environment: ["DUET_MODEL": "/gone.json"], executable: "/opt/duet/bin/duet",
                       existing: ["/opt/duet/bin/duet-tandem-v1.json"])
        }
        do {
            _ = try locate(executable: "/opt/duet/bin/duet", existing: [])
            Issue.record("found a model where there is none")
        } catch let error as ShippedModelError {
            let text = error.description
            #expect(text.contains("DUET_MODEL") && text.contains("/opt/duet/share/duet/duet-tandem-v1.json")
                    && text.contains("/models/duet-tandem-v1.json"), "\(text)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
