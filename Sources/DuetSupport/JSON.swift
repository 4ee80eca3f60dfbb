// A small ordered JSON value with its own parser and writer: the one JSON stack for
// the cluster's wire and journal and for what the tool prints.
//
// Wire headers are JSON objects that the coordinator parses tens of thousands of times
// a second; Foundation's JSONDecoder measured about 8 µs for a three-field header on
// the development machine, this parser well under 1 µs. The parser works on bytes,
// bounds its nesting depth and never traps: every problem is a `JSONError` with the
// byte offset. Objects keep their key order, so encoding is deterministic, and printed
// results keep MODEL.md's catalogue order. Two number styles, because both are stored:
// the wire and the journal write Swift's `description` (`1.0`), the printed results
// (`duet simulate --json`, `summary.json`, ...) write whole numbers as `1`.

/// A JSON value. Objects are ordered lists of members; integers that fit an `Int`
/// stay exact (`.integer`), other numbers are `.number`.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([Member])

    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSON
        public init(_ key: String, _ value: JSON) {
            self.key = key
            self.value = value
        }
    }

    /// An empty object, `{}`.
    public static let emptyObject = JSON.object([Member]())

    /// An object from (key, value) pairs, the way printed results are built.
    public static func object(_ pairs: [(String, JSON)]) -> JSON { .object(pairs.map { Member($0.0, $0.1) }) }

    /// The first member named `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// A short name of the value's kind, for error messages ("expected an integer, found a string").
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer: return "an integer"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value as a Double when it is a number of either kind.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    /// How numbers (`.number`) are written; JSON has no NaN or infinity, so both styles
    /// write a non-finite number as `null`.
    public enum NumberStyle: Sendable {
        /// Swift's `description`, the shortest text that reads back to the same Double
        /// (`0.1`, `1.0`, `1e-07`): the wire and the journal.
        case shortest
        /// Whole numbers below 10^15 without a fraction (`1`), others as `shortest`
        /// (`numberText`): what the tool prints.
        case plain
    }

    /// Compact JSON text as UTF-8 bytes, numbers `shortest`: the wire's form.
    public var bytes: [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.bytes
    }

    /// Compact JSON text, numbers `shortest`.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// JSON text in a given number style; `pretty` puts each member and item on its
    /// own line, indented by two spaces, with `": "` after keys (no final newline).
    public func text(numbers: NumberStyle, pretty: Bool = false) -> String {
        String(decoding: bytes(numbers: numbers, pretty: pretty), as: UTF8.self)
    }

    /// `text(numbers:pretty:)` as UTF-8 bytes, for writers that send bytes (an HTTP
    /// body): no `String` is made and checked on the way.
    public func bytes(numbers: NumberStyle, pretty: Bool = false) -> [UInt8] {
        var writer = JSONWriter(numbers: numbers, pretty: pretty)
        writer.value(self)
        return writer.bytes
    }

    /// Parses one JSON value filling all of `bytes` (whitespace around it allowed).
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONError) -> JSON {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses JSON text.
    public static func parse(_ text: String, maxDepth: Int = 64) throws(JSONError) -> JSON {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements.map { Member($0.0, $0.1) }) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSON: CustomStringConvertible {
    public var description: String { text }
}

/// A JSON syntax error: what was wrong and at which byte.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }
    public var description: String { "\(reason) at byte \(offset)" }
}

// MARK: - Parser

struct JSONParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var position = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSON {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected text after the JSON value") }
        return value
    }

    private func error(_ reason: String) -> JSONError { JSONError(offset: position, reason: reason) }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONError) -> JSON {
        guard position < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Self.printable(bytes[position]))'")
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("unexpected end of JSON") }
        let start = literal.utf8Start
        for i in 0..<count where bytes[position + i] != start[i] {
            throw error("invalid literal, expected \(literal)")
        }
        position += count
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSON {
        guard depth <= maxDepth else { throw error("JSON nested deeper than \(maxDepth) levels") }
        position += 1  // {
        var members: [JSON.Member] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw error("expected ':' after key \"\(key)\"")
            }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append(JSON.Member(key, value))
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of JSON in an object") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSON {
        guard depth <= maxDepth else { throw error("JSON nested deeper than \(maxDepth) levels") }
        position += 1  // [
        var items: [JSON] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of JSON in an array") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            throw error("expected ',' or ']' in an array")
        }
    }

    private mutating func parseString() throws(JSONError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let string = bytes.withUnsafeBufferPointer { buffer -> String? in
                    let text = UnsafeBufferPointer(rebasing: buffer[start..<position])
                    // ASCII (keys, names, almost every string) is valid UTF-8 as it is:
                    // `String(decoding:)` is specialised for it, where the generic
                    // `String(validating:as:)` looked its types up at run time on every call.
                    guard text.contains(where: { $0 >= 0x80 }) else { return String(decoding: text, as: UTF8.self) }
                    return String(validating: text, as: UTF8.self)
                }
                guard let string else { throw JSONError(offset: start, reason: "invalid UTF-8 in a string") }
                position += 1
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in a string") }
            position += 1
        }
        // Slow path: unescape into a buffer.
        var buffer = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let string = String(validating: buffer, as: UTF8.self) else {
                    throw JSONError(offset: start, reason: "invalid UTF-8 in a string")
                }
                return string
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { throw error("unexpected end of JSON in a string") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by \u and a low surrogate.
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate in \\u escape") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    buffer.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw error("invalid escape '\\\(Self.printable(escape))'")
                }
            default:
                if byte < 0x20 { throw error("control character in a string") }
                buffer.append(byte)
                position += 1
            }
        }
        throw error("unexpected end of JSON in a string")
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("unexpected end of JSON in \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONError) -> JSON {
        let start = position
        var negative = false
        if bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number") }
        if bytes[position] == UInt8(ascii: "0"), position + 1 < bytes.count, isDigit(bytes[position + 1]) {
            throw error("invalid number: leading zero")
        }
        // Integer part, accumulated negatively so Int.min fits.
        var value = 0
        var overflow = false
        while position < bytes.count, isDigit(bytes[position]) {
            let digit = Int(bytes[position] - UInt8(ascii: "0"))
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(digit)
            if o1 || o2 { overflow = true } else { value = next }
            position += 1
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw error("invalid number: digit expected after '.'")
            }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw error("invalid number: digit expected in exponent")
            }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if isInteger, !overflow {
            if negative { return .integer(value) }
            if value != Int.min { return .integer(-value) }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let double = Double(text) else { throw JSONError(offset: start, reason: "invalid number") }
        // 1e400 reads as infinity, which JSON cannot hold: written back it would be null.
        guard double.isFinite else { throw JSONError(offset: start, reason: "number out of range: \(text)") }
        return .number(double)
    }

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}

// MARK: - Writer

/// Appends JSON to a byte buffer, value by value: message encoders write their headers
/// field by field with it, and answers are written without building a `JSON` tree;
/// `value(_:)` writes a tree. A `pretty` writer puts each member and item on its own
/// line, indented by two spaces a level, whichever way it is fed.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    private var needsComma = false
    /// A key was just written: the value follows it on the same line.
    private var afterKey = false
    /// Containers open around the next value.
    private var depth = 0
    private let numbers: JSON.NumberStyle
    private let pretty: Bool

    public init(capacity: Int = 128, numbers: JSON.NumberStyle = .shortest, pretty: Bool = false) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.numbers = numbers
        self.pretty = pretty
    }

    public mutating func beginObject() {
        startValue()
        bytes.append(UInt8(ascii: "{"))
        depth += 1
        needsComma = false
    }

    public mutating func endObject() { close(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        startValue()
        bytes.append(UInt8(ascii: "["))
        depth += 1
        needsComma = false
    }

    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Writes `"key":`; the value written next belongs to it.
    public mutating func key(_ key: String) {
        separate()
        if pretty { newline(depth) }
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        if pretty { bytes.append(UInt8(ascii: " ")) }
        needsComma = false
        afterKey = true
    }

    public mutating func int(_ value: Int) {
        startValue()
        bytes.appendDecimal(value)
        needsComma = true
    }

    public mutating func double(_ value: Double) {
        startValue()
        // Swift's description is the shortest text that reads back to the same Double
        // ("0.1", "1.0", "1e-07"), all valid JSON; JSON has no NaN or infinity.
        if value.isFinite {
            if numbers == .plain { bytes.appendNumberText(value) } else { bytes.appendShortestText(value) }
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        startValue()
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        needsComma = true
    }

    public mutating func null() {
        startValue()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    public mutating func string(_ value: String) {
        startValue()
        writeString(value)
        needsComma = true
    }

    public mutating func value(_ value: JSON) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .integer(let number): int(number)
        case .number(let number): double(number)
        case .string(let text): string(text)
        case .array(let items):
            beginArray()
            for item in items { self.value(item) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    /// Before a value: after a key nothing, else the comma after the item before it and,
    /// when pretty and inside a container, a new line at its depth.
    @inline(__always) private mutating func startValue() {
        if afterKey {
            afterKey = false
            return
        }
        separate()
        if pretty && depth > 0 { newline(depth) }
    }

    /// Closes a container; when pretty, a non-empty one's bracket goes on a line of its own.
    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        if pretty && needsComma { newline(depth) }
        bytes.append(bracket)
        needsComma = true
    }

    private mutating func newline(_ depth: Int) {
        bytes.append(0x0A)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    @inline(__always) private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings (keys, names) need no escaping: copied whole, not byte by byte.
        let copiedWhole: Bool? = value.utf8.withContiguousStorageIfAvailable { text in
            guard !text.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
            else { return false }
            bytes.append(contentsOf: text)
            return true
        }
        if copiedWhole != true { writeEscaped(value) }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func writeEscaped(_ value: String) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default: bytes.append(byte)
            }
        }
    }
}
