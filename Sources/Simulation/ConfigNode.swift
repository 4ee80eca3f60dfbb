// A small, path-aware reader for YAML (and JSON) documents.
//
// `ConfigNode` turns a Yams document into plain Sendable values that remember
// where they came from: the dotted, 1-based key path (`stations.2.service.mean`)
// and the line. Its typed getters throw `ConfigError`s that name that path, so
// every reader built on it (configurations, sweep specs, search specs) gets the
// same precise messages for free. It knows nothing about the tandem model.

import DuetSupport
import Foundation
import Yams

/// A problem in a configuration document: where it is and what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Dotted, 1-based key path (`stations.2.service.mean`); empty when the problem
    /// concerns the whole document or file.
    public var path: String
    public var message: String
    /// The line in the YAML text, when the document provided one.
    public var line: Int?

    public init(path: String, message: String, line: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
    }

    /// `path: message`, followed by ` (line N)` when the line is known.
    public var description: String {
        var text = path.isEmpty ? message : "\(path): \(message)"
        if let line { text += " (line \(line))" }
        return text
    }
}

extension ConfigError: LocalizedError {
    // So `error.localizedDescription` (and tools that print it) show the full text.
    public var errorDescription: String? { description }
}

/// A bound that a number read from a document must respect.
public enum NumberRule: Sendable, Hashable, CustomStringConvertible {
    case greaterThan(Double)
    case atLeast(Double)
    case lessThan(Double)
    case atMost(Double)

    public func admits(_ value: Double) -> Bool {
        switch self {
        case .greaterThan(let bound): return value > bound
        case .atLeast(let bound): return value >= bound
        case .lessThan(let bound): return value < bound
        case .atMost(let bound): return value <= bound
        }
    }

    /// `> 0`, `>= 1`, ...
    public var description: String {
        switch self {
        case .greaterThan(let bound): return "> \(ConfigNode.format(bound))"
        case .atLeast(let bound): return ">= \(ConfigNode.format(bound))"
        case .lessThan(let bound): return "< \(ConfigNode.format(bound))"
        case .atMost(let bound): return "<= \(ConfigNode.format(bound))"
        }
    }
}

/// One value of a parsed document, with its key path and line.
public struct ConfigNode: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case null, scalar, mapping, sequence
    }

    /// One `key: value` pair of a mapping, in document order.
    struct Entry: Sendable, Equatable {
        let key: String
        let keyLine: Int?
        let value: ConfigNode
    }

    enum Content: Sendable, Equatable {
        case null
        /// `plain` is false for quoted, block and `!!str` scalars: text the author
        /// marked as a string, which is therefore never read as a number.
        case scalar(String, plain: Bool)
        case mapping([Entry])
        case sequence([ConfigNode])
        /// A number parsed already (a JSON number): read by `double` as it is, and
        /// everywhere else as the plain scalar of its shortest text (`content`).
        case number(Double)
    }

    /// Dotted, 1-based key path; empty for the document root. Written out only when
    /// asked for (an error names it): a node keeps its parent's path and its own key,
    /// so reading a document builds no path per value.
    public var path: String { NodePath.text(parentPath, key) }
    /// 1-based line in the source text, when known.
    public let line: Int?
    private let stored: Content
    /// The parent's path, and this node's key (or 1-based index) under it; nil when
    /// `parentPath` is the whole path.
    private let parentPath: String
    private let key: String?

    /// The value as text: a parsed number as the plain scalar its shortest text is.
    var content: Content {
        if case .number(let value) = stored { return .scalar(value.description, plain: true) }
        return stored
    }

    init(path: String, line: Int?, content: Content) {
        self.init(parentPath: path, key: nil, line: line, content: content)
    }

    /// A node at `key` under the node whose path is `parentPath`.
    init(parentPath: String, key: String?, line: Int?, content: Content) {
        self.parentPath = parentPath
        self.key = key
        self.line = line
        self.stored = content
    }

    /// Equal as written: a parsed number equals the scalar of its shortest text.
    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool {
        lhs.path == rhs.path && lhs.line == rhs.line && lhs.content == rhs.content
    }

    // MARK: Parsing

    /// Parses the first YAML document of `yaml` (JSON is valid YAML). `source` names
    /// the text in syntax errors, e.g. the file name; it defaults to "configuration".
    /// An empty document gives a null root.
    public static func parse(yaml: String, source: String? = nil) throws -> ConfigNode {
        let name = source ?? "configuration"
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, source: name)
        }
        guard let root else { return ConfigNode(path: "", line: nil, content: .null) }
        return try convert(root, parentPath: "", key: nil)
    }

    private static func convert(_ node: Yams.Node, parentPath: String, key: String?) throws -> ConfigNode {
        let line = node.mark?.line
        func made(_ content: Content) -> ConfigNode {
            ConfigNode(parentPath: parentPath, key: key, line: line, content: content)
        }
        switch node {
        case .scalar(let scalar):
            let explicitString = scalar.tag.rawValue == Tag.Name.str.rawValue
            let plain = (scalar.style == .plain || scalar.style == .any) && !explicitString
            if plain && nullWords.contains(scalar.string) { return made(.null) }
            return made(.scalar(scalar.string, plain: plain))
        case .mapping(let mapping):
            let path = NodePath.text(parentPath, key)
            var entries: [Entry] = []
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    throw ConfigError(path: path, message: "keys must be names, got \(describe(keyNode))",
                                      line: keyNode.mark?.line)
                }
                let key = keyScalar.string
                let value = try convert(valueNode, parentPath: path, key: key)
                entries.append(Entry(key: key, keyLine: keyScalar.mark?.line, value: value))
            }
            return made(.mapping(entries))
        case .sequence(let sequence):
            let path = NodePath.text(parentPath, key)
            let items = try sequence.enumerated().map { index, item in
                try convert(item, parentPath: path, key: String(index + 1))
            }
            return made(.sequence(items))
        case .alias:
            // Yams resolves aliases while composing; this is only a safety net.
            throw ConfigError(path: NodePath.text(parentPath, key), message: "YAML aliases are not supported here", line: line)
        }
    }

    private static func describe(_ node: Yams.Node) -> String {
        switch node {
        case .scalar(let scalar): return "\"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private static func syntaxError(_ error: YamlError, source: String) -> ConfigError {
        func located(_ problem: String, _ mark: Mark, _ context: YamlError.Context?, _ yaml: String) -> ConfigError {
            var message = "\(source) is not valid YAML: \(problem) at line \(mark.line), column \(mark.column)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            message += "\n" + mark.snippet(from: yaml)
            return ConfigError(path: "", message: message)
        }
        switch error {
        case let .scanner(context, problem, mark, yaml),
             let .parser(context, problem, mark, yaml),
             let .composer(context, problem, mark, yaml):
            return located(problem, mark, context, yaml)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            let noun = duplicates.count == 1 ? "key" : "keys"
            return ConfigError(
                path: "",
                message: "\(source) is not valid: \(noun) \(keys) given more than once in the same mapping",
                line: context.mark.line > 0 ? context.mark.line : nil)
        default:
            return ConfigError(path: "", message: "\(source) is not valid YAML: \(error)")
        }
    }

    /// One value written outside a document (a command-line flag's), named `path` in
    /// errors. `plain` as a YAML plain scalar: may be read as a number; quoted text
    /// is a string only.
    public static func scalar(_ text: String, path: String, plain: Bool = true) -> ConfigNode {
        if plain && nullWords.contains(text) { return ConfigNode(path: path, line: nil, content: .null) }
        return ConfigNode(path: path, line: nil, content: .scalar(text, plain: plain))
    }

    static func join(_ path: String, _ component: String) -> String {
        // Concatenated, not interpolated: a request body's every node is named so.
        path.isEmpty ? component : path + "." + component
    }

    private static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]

    // MARK: Inspection

    public var kind: Kind {
        switch stored {
        case .null: return .null
        case .scalar, .number: return .scalar
        case .mapping: return .mapping
        case .sequence: return .sequence
        }
    }

    public var isNull: Bool { kind == .null }

    /// The text of a scalar, nil for anything else.
    public var text: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    /// An error about this value, located at its path and line.
    public func error(_ message: String) -> ConfigError {
        ConfigError(path: path, message: message, line: line)
    }

    /// What the author wrote, for "got ..." in messages.
    var shown: String {
        switch stored {
        case .null: return "no value"
        case .scalar(let text, _): return "\"\(text)\""
        case .number(let value): return "\"\(value.description)\""  // its text, as `content` gives it
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    private func mismatch(_ expected: String) -> ConfigError {
        let place = path.isEmpty ? " at the top level" : ""
        if case .scalar(let text, plain: false) = content, ConfigNode.parseNumber(text) != nil {
            // A quoted number: say why it was not taken as one.
            return error("expected \(expected)\(place), got the string \"\(text)\"; write it without quotes")
        }
        return error("expected \(expected)\(place), got \(shown)")
    }

    // MARK: Typed values

    /// A number. Infinity (`.inf`, `inf`, `infinity`, any case, optionally signed,
    /// quoted too since JSON has no infinity) is accepted only with `allowInfinity`.
    public func double(_ rules: NumberRule..., allowInfinity: Bool = false) throws -> Double {
        try double(rules: rules, allowInfinity: allowInfinity)
    }

    public func double(rules: [NumberRule], allowInfinity: Bool = false) throws -> Double {
        if case .number(let number) = stored, !number.isNaN {
            // What reading its shortest text gives, without writing and parsing it
            // (NaN, which JSON cannot hold, goes the text's way: not a number).
            if !number.isFinite && !allowInfinity { throw error("must be a finite number, got \(number.description)") }
            try check(number, rules)
            return number
        }
        guard case .scalar(let text, let plain) = content else { throw mismatch("a number") }
        let value: Double
        if let infinity = ConfigNode.parseInfinity(text) {
            guard allowInfinity else { throw error("must be a finite number, got \(text)") }
            value = infinity
        } else if plain, let number = ConfigNode.parseNumber(text) {
            guard number.isFinite else { throw error("must be a finite number, got \(text)") }
            value = number
        } else {
            throw mismatch("a number")
        }
        try check(value, rules)
        return value
    }

    /// A whole number; `1e6` and `1_000_000` are fine, `2.5` is not.
    public func int(_ rules: NumberRule...) throws -> Int {
        try int(rules: rules)
    }

    public func int(rules: [NumberRule]) throws -> Int {
        guard case .scalar(let text, true) = content else { throw mismatch("a whole number") }
        let digits = ConfigNode.withoutUnderscores(text)
        let value: Int
        if let exact = Int(digits) {
            value = exact
        } else if let number = ConfigNode.parseNumber(text) {
            guard number == number.rounded(), let whole = Int(exactly: number) else {
                if number == number.rounded() {
                    throw error("must be a whole number of at most \(Int.max), got \(text)")
                }
                throw error("expected a whole number, got \(ConfigNode.format(number))")
            }
            value = whole
        } else {
            throw mismatch("a whole number")
        }
        try check(Double(value), rules)
        return value
    }

    /// A whole number in 0 ... 2^64-1 (seeds and the like).
    public func uint64() throws -> UInt64 {
        guard case .scalar(let text, true) = content else { throw mismatch("a non-negative whole number") }
        let digits = ConfigNode.withoutUnderscores(text)
        if let exact = UInt64(digits) { return exact }
        guard let number = ConfigNode.parseNumber(text) else { throw mismatch("a non-negative whole number") }
        if number == number.rounded(), let whole = UInt64(exactly: number) { return whole }
        if number < 0 { throw error("expected a non-negative whole number, got \(ConfigNode.format(number))") }
        if number == number.rounded() { throw error("must be at most \(UInt64.max), got \(text)") }
        throw error("expected a whole number, got \(ConfigNode.format(number))")
    }

    /// Any scalar's text. With `allowed`, the text must be one of those words
    /// (exactly); a near miss gets a did-you-mean.
    public func string(oneOf allowed: [String]? = nil) throws -> String {
        guard case .scalar(let text, _) = content else { throw mismatch("a string") }
        if let allowed, !allowed.contains(text) {
            throw error(ConfigNode.unknown("value \"\(text)\"", text, among: allowed))
        }
        return text
    }

    /// `true`/`false` (also `yes`/`no`, `on`/`off`, any case).
    public func bool() throws -> Bool {
        guard case .scalar(let text, true) = content else { throw mismatch("true or false") }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw mismatch("true or false")
        }
    }

    /// This value as a mapping. With `allowedKeys`, any other key is an error with a
    /// did-you-mean suggestion.
    public func mapping(allowedKeys: [String]? = nil) throws -> ConfigMapping {
        guard case .mapping(let entries) = content else { throw mismatch("a mapping") }
        let mapping = ConfigMapping(parentPath: parentPath, key: key, line: line, entries: entries)
        if let allowedKeys { try mapping.checkKeys(allowedKeys) }
        return mapping
    }

    /// The items of a list, each with its 1-based path.
    public func sequence() throws -> [ConfigNode] {
        guard case .sequence(let items) = content else { throw mismatch("a list") }
        return items
    }

    private func check(_ value: Double, _ rules: [NumberRule]) throws {
        guard rules.allSatisfy({ $0.admits(value) }) else {
            let bounds = rules.map(\.description).joined(separator: " and ")
            throw error("must be \(bounds), got \(ConfigNode.format(value))")
        }
    }

    // MARK: Helpers shared by readers

    /// A number as people write it: `-1`, not `-1.0`; `0.25`; `infinity`.
    public static func format(_ value: Double) -> String { numberText(value) }

    /// The closest of `candidates` to `word`, if one is close enough to be a likely
    /// typo: the same up to case, `_` and `-` first, then a unique prefix, then the
    /// smallest edit distance (transpositions count once) within about a third of
    /// the word's length.
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        func squash(_ text: String) -> String {
            String(text.lowercased().filter { $0 != "_" && $0 != "-" })
        }
        let target = squash(word)
        if let same = candidates.first(where: { squash($0) == target }) { return same }
        if target.count >= 3 {
            let prefixed = candidates.filter { squash($0).hasPrefix(target) }
            if prefixed.count == 1 { return prefixed[0] }
        }
        let limit = max(1, min(3, target.count / 3))
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(target, squash(candidate))
            // A distance equal to the word's length is a rewrite, not a typo.
            if distance <= limit, distance < target.count, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// `"<what>; did you mean X?"` or `"<what>; expected one of: a, b, c"`.
    static func unknown(_ what: String, _ word: String, among allowed: [String]) -> String {
        if let guess = suggestion(for: word, among: allowed) {
            return "unknown \(what); did you mean \(guess)?"
        }
        return "unknown \(what); expected one of: \(allowed.joined(separator: ", "))"
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and
    /// adjacent transpositions each cost 1.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = min(best, table[i - 2][j - 2] + 1)
                }
                table[i][j] = best
            }
        }
        return table[a.count][b.count]
    }

    /// A decimal number (`0.5`, `-1`, `1e-3`, `1_000`), nil otherwise. Hex, NaN and
    /// infinity words are not numbers here.
    static func parseNumber(_ text: String) -> Double? {
        // A byte scan, not a Character one: this runs for every number of every
        // configuration `duet serve` reads.
        var hasDigit = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): hasDigit = true
            case UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "e"),
                 UInt8(ascii: "E"): break
            default: return nil
            }
        }
        guard hasDigit else { return nil }
        return Double(withoutUnderscores(text))
    }

    /// `1_000` as `1000` (YAML's digit separators); the text itself when it has none.
    static func withoutUnderscores(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "_")) else { return text }
        return String(decoding: text.utf8.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
    }

    /// `.inf`, `inf`, `infinity` in any case with an optional sign, nil otherwise.
    static func parseInfinity(_ text: String) -> Double? {
        // Only a word starting with a sign, a point or an i can be one (no lowercasing
        // of every number read).
        guard let first = text.utf8.first,
              [UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "i"), UInt8(ascii: "I")].contains(first)
        else { return nil }
        var word = Substring(text.lowercased())
        var sign = 1.0
        if let first = word.first, first == "+" || first == "-" {
            if first == "-" { sign = -1 }
            word = word.dropFirst()
        }
        return ["inf", ".inf", "infinity"].contains(word) ? sign * .infinity : nil
    }
}

/// A mapping of a document, with getters that read its keys as typed values and
/// report problems at `path.key`.
///
/// Each getter comes in three forms: `double("k")` requires the key,
/// `double("k", default: 1)` falls back when the key is absent or null, and
/// `doubleIfPresent("k")` returns nil then.
public struct ConfigMapping: Sendable, Equatable {
    /// Dotted, 1-based key path of the mapping itself; empty for the root (written
    /// out when asked for, as `ConfigNode.path`).
    public var path: String { NodePath.text(parentPath, key) }
    public let line: Int?
    let entries: [ConfigNode.Entry]
    private let parentPath: String
    private let key: String?

    init(parentPath: String, key: String?, line: Int?, entries: [ConfigNode.Entry]) {
        self.parentPath = parentPath
        self.key = key
        self.line = line
        self.entries = entries
    }

    /// Equal keys, lines and values at the same path, however the path is kept.
    public static func == (lhs: ConfigMapping, rhs: ConfigMapping) -> Bool {
        lhs.path == rhs.path && lhs.line == rhs.line && lhs.entries == rhs.entries
    }

    /// The keys in document order.
    public var keys: [String] { entries.map(\.key) }

    /// Whether the key is written at all (even with a null value).
    public func contains(_ key: String) -> Bool {
        entries.contains { $0.key == key }
    }

    /// The value of `key`; nil when absent or null (null means "use the default").
    public subscript(key: String) -> ConfigNode? {
        guard let node = entries.first(where: { $0.key == key })?.value, !node.isNull else { return nil }
        return node
    }

    /// The value of `key`, which must be written (a null value is returned as is,
    /// so the typed getters can say "got no value").
    public func require(_ key: String) throws -> ConfigNode {
        guard let node = entries.first(where: { $0.key == key })?.value else {
            // The line of the enclosing mapping helps, except for the root, where it
            // would only point at the first line.
            throw ConfigError(path: childPath(key), message: "required key is missing",
                              line: path.isEmpty ? nil : line)
        }
        return node
    }

    /// Throws for the first key (in document order) not in `allowed`.
    public func checkKeys(_ allowed: [String]) throws {
        for entry in entries where !allowed.contains(entry.key) {
            throw ConfigError(path: childPath(entry.key),
                              message: ConfigNode.unknown("key", entry.key, among: allowed),
                              line: entry.keyLine)
        }
    }

    /// The path of one of this mapping's keys.
    public func childPath(_ key: String) -> String { ConfigNode.join(path, key) }

    /// An error about the mapping itself.
    public func error(_ message: String) -> ConfigError {
        ConfigError(path: path, message: message, line: line)
    }

    /// An error about one key: at its value's line when written, else at the mapping's.
    public func error(_ key: String, _ message: String) -> ConfigError {
        let node = entries.first(where: { $0.key == key })?.value
        return ConfigError(path: childPath(key), message: message, line: node?.line ?? line)
    }

    // MARK: Double

    public func double(_ key: String, _ rules: NumberRule..., allowInfinity: Bool = false) throws -> Double {
        try require(key).double(rules: rules, allowInfinity: allowInfinity)
    }

    public func double(_ key: String, default value: Double, _ rules: NumberRule...,
                       allowInfinity: Bool = false) throws -> Double {
        try self[key]?.double(rules: rules, allowInfinity: allowInfinity) ?? value
    }

    public func doubleIfPresent(_ key: String, _ rules: NumberRule..., allowInfinity: Bool = false) throws -> Double? {
        try self[key]?.double(rules: rules, allowInfinity: allowInfinity)
    }

    // MARK: Int

    public func int(_ key: String, _ rules: NumberRule...) throws -> Int {
        try require(key).int(rules: rules)
    }

    public func int(_ key: String, default value: Int, _ rules: NumberRule...) throws -> Int {
        try self[key]?.int(rules: rules) ?? value
    }

    public func intIfPresent(_ key: String, _ rules: NumberRule...) throws -> Int? {
        try self[key]?.int(rules: rules)
    }

    // MARK: UInt64

    public func uint64(_ key: String) throws -> UInt64 {
        try require(key).uint64()
    }

    public func uint64(_ key: String, default value: UInt64) throws -> UInt64 {
        try self[key]?.uint64() ?? value
    }

    public func uint64IfPresent(_ key: String) throws -> UInt64? {
        try self[key]?.uint64()
    }

    // MARK: String

    public func string(_ key: String, oneOf allowed: [String]? = nil) throws -> String {
        try require(key).string(oneOf: allowed)
    }

    public func string(_ key: String, default value: String, oneOf allowed: [String]? = nil) throws -> String {
        try self[key]?.string(oneOf: allowed) ?? value
    }

    public func stringIfPresent(_ key: String, oneOf allowed: [String]? = nil) throws -> String? {
        try self[key]?.string(oneOf: allowed)
    }

    // MARK: Bool

    public func bool(_ key: String) throws -> Bool {
        try require(key).bool()
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        try self[key]?.bool() ?? value
    }

    public func boolIfPresent(_ key: String) throws -> Bool? {
        try self[key]?.bool()
    }

    // MARK: Mapping

    public func mapping(_ key: String, allowedKeys: [String]? = nil) throws -> ConfigMapping {
        try require(key).mapping(allowedKeys: allowedKeys)
    }

    /// The mapping under `key`, or an empty one at that path when absent or null, so
    /// that its defaults apply and its required keys are reported with full paths.
    public func mappingOrEmpty(_ key: String, allowedKeys: [String]? = nil) throws -> ConfigMapping {
        try self[key]?.mapping(allowedKeys: allowedKeys)
            ?? ConfigMapping(parentPath: path, key: key, line: nil, entries: [])
    }

    public func mappingIfPresent(_ key: String, allowedKeys: [String]? = nil) throws -> ConfigMapping? {
        try self[key]?.mapping(allowedKeys: allowedKeys)
    }

    // MARK: Sequence

    public func sequence(_ key: String) throws -> [ConfigNode] {
        try require(key).sequence()
    }

    public func sequenceIfPresent(_ key: String) throws -> [ConfigNode]? {
        try self[key]?.sequence()
    }
}

/// A node's path kept as its parent's and its own key, written out on demand.
enum NodePath {
    static func text(_ parentPath: String, _ key: String?) -> String {
        guard let key else { return parentPath }
        return ConfigNode.join(parentPath, key)
    }
}
