// A number as people write it: the one format of numbers in error messages, canonical
// spec text, the dataset's input cells and the JSON the tool prints.

/// Whole numbers without a fraction (`1`, `-3`), others as Swift's shortest text that
/// reads back to the same Double (`0.25`, `1e-07`), infinities as `infinity` (or the
/// word a format wants: the dataset CSV writes `inf`).
public func numberText(_ value: Double, infinity: String = "infinity") -> String {
    if value.isInfinite { return value > 0 ? infinity : "-" + infinity }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return value.description
}
