// Every document the repository points a reader to exists: the docs/NAME.md that help
// texts, comments and documents name, and the relative links of the Markdown files
// (a help text once sent users to a docs/surrogate.md that was never written).

import Foundation
import Testing

@Suite("references to documents")
struct DocReferencesTests {
    static let root = DuetBinary.packageRoot

    /// Files under `directory` (relative to the root) whose names end with `suffix`.
    static func files(under directory: String, endingWith suffix: String) -> [String] {
        let base = root.appendingPathComponent(directory)
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(suffix) }.map { directory + "/" + $0 }
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent(path).standardizedFileURL.path)
    }

    static let markdown = ["README.md", "CHANGELOG.md"] + ["docs", "examples", "deploy", "data"].flatMap {
        files(under: $0, endingWith: ".md")
    }

    @Test("every docs/NAME.md named in the sources, scripts and documents exists")
    func namedDocuments() throws {
        let named = try Regex(#"docs/[A-Za-z0-9_-]+\.md"#)
        let scanned = Self.markdown + Self.files(under: "Sources", endingWith: ".swift")
            + Self.files(under: "scripts", endingWith: "") + Self.files(under: "examples", endingWith: ".yaml")
        #expect(scanned.count > 100, "\(scanned.count) files scanned")
        var checked = 0
        for path in scanned {
            guard let text = try? Self.text(path) else { continue }  // binary files among scripts/
            for match in text.matches(of: named) {
                checked += 1
                let target = String(text[match.range])
                #expect(Self.exists(target), "\(path) names \(target), which does not exist")
            }
        }
        #expect(checked > 50, "only \(checked) references found: the scan misses them")
    }

    @Test("every relative link of a Markdown file leads to a file or directory")
    func markdownLinks() throws {
        let link = try Regex(#"\]\(([^)#\s]+)(#[^)]*)?\)"#)
        var checked = 0
        for path in Self.markdown {
            let text = try Self.text(path)
            let directory = (path as NSString).deletingLastPathComponent
            for match in text.matches(of: link) {
                guard let captured = match.output[1].substring else { continue }
                let target = String(captured)
                guard
                      !target.contains("://"), !target.hasPrefix("mailto:") else { continue }
                checked += 1
                let resolved = directory.isEmpty ? target : directory + "/" + target
                #expect(Self.exists(resolved), "\(path) links to \(target), which does not exist")
            }
        }
        #expect(checked > 20, "only \(checked) links found: the scan misses them")
    }
}
