// docs/spec-files.md against the parsers: every key a sweep spec, a search spec or a
// pipeline file accepts has a row in the reference, under its file's section, and so
// does every hyperparameter a search space may set (with its aliases).

import Foundation
import Searches
import Testing

@testable import Search
@testable import duet

@Suite("docs/spec-files.md lists every key the parsers accept")
struct SpecFilesDocTests {
    /// The text of docs/spec-files.md between the heading that starts with `from` and the next "## ".
    static func section(_ from: String) throws -> String {
        let text = try String(contentsOf: DuetBinary.packageRoot.appendingPathComponent("docs/spec-files.md"), encoding: .utf8)
        let start = try #require(text.range(of: "\n## " + from), "no section \(from)")
        let rest = text[start.upperBound...]
        return String(rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)])
    }

    /// The keys in the first cell of the section's table rows: "| `a`, `b` | ..." gives a and b.
    static func documentedKeys(_ section: String) -> Set<String> {
        var keys: Set<String> = []
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cell = line.dropFirst(2).prefix { $0 != "|" }
            for match in cell.matches(of: /`([A-Za-z.]+)`/) { keys.insert(String(match.1)) }
        }
        return keys
    }

    @Test("sweep spec: base, vary, design.*, run.*")
    func sweepKeys() throws {
        let documented = Self.documentedKeys(try Self.section("Sweep spec"))
        let accepted = ["base", "vary"] + SweepSpec.designKeys.map { "design." + $0 } + SweepSpec.runKeys.map { "run." + $0 }
        #expect(Set(SweepSpec.topKeys).isSubset(of: Set(accepted.map { String($0.prefix { $0 != "." }) })))
        for key in accepted { #expect(documented.contains(key), "docs/spec-files.md has no row for \(key)") }
    }

    @Test("search spec: space, budget.*, algorithm.*, seed, split.*, and every hyperparameter")
    func searchKeys() throws {
        let section = try Self.section("Search spec")
        let documented = Self.documentedKeys(section)
        let accepted = ["space", "seed"] + SearchSpec.budgetKeys.map { "budget." + $0 }
            + SearchSpec.algorithmKeys.map { "algorithm." + $0 } + SearchSpec.splitKeys.map { "split." + $0 }
        #expect(Set(SearchSpec.topKeys).isSubset(of: Set(accepted.map { String($0.prefix { $0 != "." }) })))
        for key in accepted { #expect(documented.contains(key), "docs/spec-files.md has no row for \(key)") }
        for name in TrainerSearchSpace.vocabulary.allNames {
            #expect(documented.contains(name), "docs/spec-files.md has no row for the hyperparameter \(name)")
        }
        for name in TrainerSearchSpace.vocabulary.reserved.keys {
            #expect(section.contains("`\(name)`"), "docs/spec-files.md does not say that \(name) is refused in space")
        }
    }

    @Test("pipeline file: title, sweep, search, adaptive, heldOut")
    func pipelineKeys() throws {
        let documented = Self.documentedKeys(try Self.section("Pipeline file"))
        for key in PipelineSpec.keys { #expect(documented.contains(key), "docs/spec-files.md has no row for \(key)") }
    }
}
