// A number as people write it: the one format of numbers in error messages, canonical
// spec text, the dataset's input cells and the JSON the tool prints.

/// Whole numbers without a fraction (`1`, `-3`), others as Swift's shortest text that
/// reads back to the same Double (`0.25`, `1e-07`), infinities as `infinity` (or the
/// word a format wants: the dataset CSV writes `inf`).
public func numberText(_ value: Double, infinity: String = "infinity") -> String {
    var text: [UInt8] = []
    text.appendNumberText(value, infinity: infinity)
    return String(decoding: text, as: UTF8.self)
}

extension Array where Element == UInt8 {
    /// `numberText(value, infinity:)` appended as UTF-8, without making a `String`
    /// (answers of many numbers are written so): the one home of its rule.
    public mutating func appendNumberText(_ value: Double, infinity: String = "infinity") {
        if value.isInfinite {
            if value < 0 { append(UInt8(ascii: "-")) }
            append(contentsOf: infinity.utf8)
        } else if value == value.rounded(), abs(value) < 1e15 {
            appendDecimal(Int(value))
        } else {
            appendShortestText(value)
        }
    }

    /// `value.description` appended as UTF-8: for a finite number `Double.write(to:)`
    /// hands the same digits to the stream's `_writeASCII` as bytes, so no `String` is
    /// made for them (one of more than 15 characters would be on the heap).
    public mutating func appendShortestText(_ value: Double) {
        guard value.isFinite else {
            // `write(to:)` spells NaNs apart ("-snan(0x1)"); `description` says "nan".
            append(contentsOf: value.description.utf8)
            return
        }
        var sink = ASCIISink(bytes: self)
        self = []
        value.write(to: &sink)
        self = sink.bytes
    }

    /// The decimal digits of `value` (with a leading minus when negative).
    public mutating func appendDecimal(_ value: Int) {
        if value >= 0, value < 10 {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // At most 20 digits (2^64 - 1), written from the last into a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var first = 20
            repeat {
                first -= 1
                digits[first] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            append(contentsOf: UnsafeBufferPointer(rebasing: digits[first...]))
        }
    }
}

/// Where `Double.write(to:)` writes: its digits arrive through `_writeASCII` as bytes.
private struct ASCIISink: TextOutputStream {
    var bytes: [UInt8]
    mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }
    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
}
