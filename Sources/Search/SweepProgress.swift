// Pure values of the sweep runner: the in-order row sequencer and the progress
// figures. The runner (SweepRunner.swift) and the command's printer are the shells.

import DuetSupport

/// Turns completions in any order into rows in point order: `complete` returns the
/// rows that became contiguous, ready to write.
public struct RowSequencer<Row> {
    /// The next position to release.
    public private(set) var next = 0
    private var pending: [Int: Row] = [:]

    public init() {}

    /// Records position `position` (0-based, each exactly once) and returns every row
    /// from `next` on that is now complete, in order.
    public mutating func complete(_ position: Int, _ row: Row) -> [Row] {
        precondition(position >= next && pending[position] == nil, "position \(position) completed twice")
        pending[position] = row
        var ready: [Row] = []
        while let row = pending.removeValue(forKey: next) {
            ready.append(row)
            next += 1
        }
        return ready
    }

    /// Completions held back by an earlier, unfinished position.
    public var buffered: Int { pending.count }
}

/// Progress of a sweep at a moment: points done out of the total, and the rate and
/// ETA over this run (resumed points excluded). Times are seconds on any monotonic
/// clock; the caller passes `now`.
public struct SweepProgress: Sendable, Equatable {
    public var total: Int
    /// Points already in the file when the run started.
    public var alreadyDone: Int
    /// Points done, resumed ones included.
    public var done: Int
    public var started: Double

    public init(total: Int, alreadyDone: Int, started: Double) {
        self.total = total
        self.alreadyDone = alreadyDone
        self.done = alreadyDone
        self.started = started
    }

    /// Points per second simulated in this run; nil before the first point.
    public func rate(now: Double) -> Double? {
        let finished = done - alreadyDone
        let elapsed = now - started
        guard finished > 0, elapsed > 0 else { return nil }
        return Double(finished) / elapsed
    }

    /// Seconds left at the current rate; nil before the first point.
    public func eta(now: Double) -> Double? {
        rate(now: now).map { Double(total - done) / $0 }
    }

    /// `[##########----------]  1234/4000  31%  3.2 points/s  ETA 14m 22s`
    public func bar(now: Double, width: Int = 24) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = min(width, Int((fraction * Double(width)).rounded(.down)))
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
        return "\(bar) \(done)/\(total) \(percent(fraction))  \(figures(now: now))"
    }

    /// `sweep: 1234 of 4000 points (31%), 3.2 points/s, ETA 14m 22s`
    public func logLine(now: Double) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        return "sweep: \(done) of \(total) points (\(percent(fraction))), "
            + figures(now: now).replacingOccurrences(of: "  ", with: ", ")
    }

    private func figures(now: Double) -> String {
        guard let rate = rate(now: now), let eta = eta(now: now) else {
            return "elapsed \(Self.duration(now - started))"
        }
        return "\(Self.rateText(rate))  ETA \(Self.duration(eta))"
    }

    private func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded(.down)))%" }

    /// `3.2 points/s`, or `12.5 s/point` when slower than one point a second.
    public static func rateText(_ rate: Double) -> String {
        if rate >= 1 { return formatted(rate) + " points/s" }
        return formatted(1 / rate) + " s/point"
    }

    /// `42s`, `14m 22s`, `3h 05m`.
    public static func duration(_ seconds: Double) -> String { durationText(seconds) }

    static func formatted(_ value: Double) -> String {
        if value >= 100 { return String(Int(value.rounded())) }
        let tenths = (value * 10).rounded() / 10
        return tenths == tenths.rounded() ? "\(Int(tenths)).0" : "\(tenths)"
    }
}
