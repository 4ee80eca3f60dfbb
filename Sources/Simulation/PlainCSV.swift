// Plain CSV text, split in place: what Duet writes and what scripts send (no quotes,
// carriage returns or bytes outside ASCII). A CSV request of many rows is mostly
// reading, so its rows are read as byte ranges and its numbers parsed from the bytes,
// with no text made of them; other text takes CSV.swift's reader (`DatasetTable`).

import Foundation

/// Lines of plain CSV text, cells split at commas and lines at newlines, a blank line
/// as one empty cell (as CSV.swift reads it).
struct PlainCSV {
    let bytes: UnsafeBufferPointer<UInt8>

    /// Nil unless `bytes` is plain: a first line that is not blank, and no quote,
    /// carriage return or byte outside ASCII.
    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let first = bytes.first, first != Self.newline,
              !bytes.contains(where: { $0 == Self.quote || $0 == Self.carriageReturn || $0 >= 0x80 })
        else { return nil }
        self.bytes = bytes
    }

    static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"),
               carriageReturn = UInt8(ascii: "\r")

    /// Calls `body` with each line, in order. A row is valid only during its call.
    func forEachLine(_ body: (PlainCSVRow) throws -> Void) rethrows {
        var bounds: [Range<Int>] = []
        var start = 0
        for index in 0...bytes.count {
            let byte = index < bytes.count ? bytes[index] : Self.newline
            guard byte == Self.comma || byte == Self.newline else { continue }
            // The end of the text closes a last line that has no newline, nothing else.
            if index == bytes.count, start == index, bounds.isEmpty { break }
            bounds.append(start..<index)
            start = index + 1
            if byte == Self.newline {
                try body(PlainCSVRow(bytes: bytes, bounds: bounds))
                bounds.removeAll(keepingCapacity: true)
            }
        }
    }
}

/// One line of `PlainCSV`: its cells as ranges of the text's bytes.
struct PlainCSVRow: ConfigCells {
    let bytes: UnsafeBufferPointer<UInt8>
    let bounds: [Range<Int>]

    var count: Int { bounds.count }

    func text(at position: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[bounds[position]]), as: UTF8.self)
    }

    func isEmpty(at position: Int) -> Bool { bounds[position].isEmpty }

    /// `strtod` straight from the bytes, which `Double(String)` also is underneath (C
    /// locale): a number when it takes the whole cell. A cell that starts with a space
    /// (which `strtod` skips and `Double(String)` refuses) or ends the text (where
    /// `strtod` would read past it) is read as text.
    func number(at position: Int) -> Double? {
        let cell = bounds[position]
        guard !cell.isEmpty, cell.upperBound < bytes.count, !Self.isSpace(bytes[cell.lowerBound]),
              Self.pointIsDecimal, let base = bytes.baseAddress
        else { return Double(text(at: position)) }
        // The cell is followed by a comma or newline in the text, where any number ends.
        return base.advanced(by: cell.lowerBound).withMemoryRebound(to: CChar.self, capacity: cell.count) { start in
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(start, &end)
            return end.map { UnsafePointer($0) - start } == cell.count ? value : nil
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    /// `strtod` reads the process's locale; Duet never sets one, so this is C's ".".
    private static let pointIsDecimal: Bool = {
        guard let conventions = localeconv(), let point = conventions.pointee.decimal_point else { return false }
        return String(cString: point) == "."
    }()
}
