// Plain CSV text, split in place: what Duet writes and what scripts send (no carriage
// returns or bytes outside ASCII; quotes only around whole cells, as Duet's writer
// quotes a reason that holds a comma). A CSV request of many rows, or a dataset of a
// hundred thousand, is mostly reading, so rows are read as byte ranges and numbers
// parsed from the bytes, with no text made of them; other text takes CSV.swift's
// reader (`DatasetTable`), which goes character by character and is tens of times slower.

import Foundation

/// Lines of plain CSV text, cells split at commas and lines at newlines, a blank line
/// as one empty cell (as CSV.swift reads it). A cell that starts with a quote runs to
/// the next quote that is not doubled, commas and newlines included, and its text is
/// what lies between, each doubled quote read as one (RFC 4180, as CSV.swift reads it).
struct PlainCSV {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Whether any cell is quoted (else cells are found by commas and newlines alone).
    private let hasQuotes: Bool

    /// Nil unless `bytes` is plain: a first line that is not blank, no carriage return
    /// or byte outside ASCII, and every quote either opens a cell, closes it (before a
    /// comma, a newline or the end) or is doubled inside it.
    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let first = bytes.first, first != Self.newline,
              !bytes.contains(where: { $0 == Self.carriageReturn || $0 >= 0x80 })
        else { return nil }
        hasQuotes = bytes.contains(Self.quote)
        if hasQuotes, !Self.quotesEncloseCells(bytes) { return nil }
        self.bytes = bytes
    }

    static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"),
               carriageReturn = UInt8(ascii: "\r")

    /// Whether every quote of `bytes` opens a cell, closes one or is doubled inside one.
    private static func quotesEncloseCells(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        var atCellStart = true
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == quote else {
                atCellStart = byte == comma || byte == newline
                index += 1
                continue
            }
            guard atCellStart, let (close, _) = closingQuote(bytes, openedAt: index) else { return false }
            index = close + 1
            guard index == bytes.count || bytes[index] == comma || bytes[index] == newline else { return false }
            atCellStart = false  // the separator, read next, starts the next cell
        }
        return true
    }

    /// The position of the quote that closes the cell opened at `open` (nil when none
    /// does), and whether a doubled quote lies between.
    private static func closingQuote(_ bytes: UnsafeBufferPointer<UInt8>, openedAt open: Int)
        -> (position: Int, doubled: Bool)?
    {
        var index = open + 1
        var doubled = false
        while index < bytes.count {
            if bytes[index] == quote {
                guard index + 1 < bytes.count, bytes[index + 1] == quote else { return (index, doubled) }
                doubled = true
                index += 2
            } else {
                index += 1
            }
        }
        return nil
    }

    /// Calls `body` with each line, in order. A row is valid only during its call.
    func forEachLine(_ body: (PlainCSVRow) throws -> Void) rethrows {
        var bounds: [Range<Int>] = []
        var escaped: [Int] = []
        var index = 0
        while true {
            // One cell from `index`; afterwards `index` is at its comma, newline or the end.
            if hasQuotes, index < bytes.count, bytes[index] == Self.quote {
                // Well formed (`init`): the closing quote is there.
                let (close, doubled) = Self.closingQuote(bytes, openedAt: index)!
                if doubled { escaped.append(bounds.count) }
                bounds.append((index + 1)..<close)
                index = close + 1
            } else {
                let start = index
                while index < bytes.count, bytes[index] != Self.comma, bytes[index] != Self.newline { index += 1 }
                bounds.append(start..<index)
            }
            if index < bytes.count, bytes[index] == Self.comma {
                index += 1
                continue
            }
            try body(PlainCSVRow(bytes: bytes, bounds: bounds, escaped: escaped))
            bounds.removeAll(keepingCapacity: true)
            escaped.removeAll(keepingCapacity: true)
            // The end of the text closes a last line that has no newline; a final
            // newline closes the last line, and no empty line follows it.
            index += 1
            if index >= bytes.count { return }
        }
    }
}

/// One line of `PlainCSV`: its cells as ranges of the text's bytes (a quoted cell's
/// range lies between its quotes).
struct PlainCSVRow: ConfigCells {
    let bytes: UnsafeBufferPointer<UInt8>
    let bounds: [Range<Int>]
    /// The cells (positions) that hold doubled quotes, to be read as one each.
    let escaped: [Int]

    var count: Int { bounds.count }

    func text(at position: Int) -> String {
        let cell = UnsafeBufferPointer(rebasing: bytes[bounds[position]])
        guard escaped.contains(position) else { return String(decoding: cell, as: UTF8.self) }
        var unescaped: [UInt8] = []
        var index = 0
        while index < cell.count {
            unescaped.append(cell[index])
            index += cell[index] == PlainCSV.quote ? 2 : 1
        }
        return String(decoding: unescaped, as: UTF8.self)
    }

    func isEmpty(at position: Int) -> Bool { bounds[position].isEmpty }

    /// `strtod` straight from the bytes, which `Double(String)` also is underneath (C
    /// locale): a number when it takes the whole cell. A cell that starts with a space
    /// (which `strtod` skips and `Double(String)` refuses), ends the text (where
    /// `strtod` would read past it) or holds quotes is read as text.
    func number(at position: Int) -> Double? {
        let cell = bounds[position]
        guard !cell.isEmpty, cell.upperBound < bytes.count, !Self.isSpace(bytes[cell.lowerBound]),
              escaped.isEmpty, Self.pointIsDecimal, let base = bytes.baseAddress
        else { return Double(text(at: position)) }
        // The cell is followed by a comma, a newline or its closing quote in the text,
        // where any number ends.
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
