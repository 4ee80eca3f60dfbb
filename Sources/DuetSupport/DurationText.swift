// A duration as people read it on a terminal: the one format of progress lines, ETAs
// and status tables (sweeps, searches, `duet status`).

/// `42s`, `14m 22s`, `3h 05m`; `?` when not finite.
public func durationText(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let total = Int(seconds.rounded())
    func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    if total < 60 { return "\(total)s" }
    if total < 3600 { return "\(total / 60)m \(twoDigits(total % 60))s" }
    return "\(total / 3600)h \(twoDigits(total / 60 % 60))m"
}
