// The domain check's fast path. Nearly every configuration a server is asked about lies
// inside its model's domain, and finding that out through a dictionary of the twin's
// values by name (`CanonicalForm.domainValues`) cost `duet serve` more than the
// prediction itself. An `AlignedDomain` lays a domain's ranges along
// `ConfigColumns.values(of:)` of chains of one length, so a twin inside the domain is
// accepted in one pass over an array. A twin with some value outside goes on to
// `InputDomain.violations`, which words the messages; both judge each value by
// `InputDomain.Range.admits`, so the two paths cannot disagree.

import Simulation

struct AlignedDomain: Sendable, Equatable {
    /// Per value of `ConfigColumns.values(of:)`: the range that judges it, or nil.
    let ranges: [InputDomain.Range?]
    /// The domain check's columns of chains of this length (names aligned with
    /// `ranges`, and each station's parameters that may have no effect).
    let columns: CanonicalForm.DomainColumns
    let relativeSlack: Double

    /// `domain` along the columns of chains of `stations` stations, leaving out the keys
    /// in `leavingOut` (judged by no range).
    init(_ domain: InputDomain, stations: Int, leavingOut: Set<String> = [], relativeSlack: Double) {
        columns = CanonicalForm.domainColumns(stations: stations)
        ranges = columns.names.map { name in
            guard let name, !leavingOut.contains(name) else { return nil }
            return domain.columns[name]
        }
        self.relativeSlack = relativeSlack
    }

    /// True when every judged value of `form`'s twin passes. False means some value is
    /// outside: `InputDomain.violations` then says which (always at least one).
    func admits(_ form: CanonicalForm) -> Bool {
        let twin = form.config
        guard twin.stations.count == columns.ineffective.count else { return false }
        var i = 0
        var outside = false
        ConfigColumns.forEachValue(of: twin) { value in
            defer { i += 1 }
            guard !outside, i < ranges.count, let range = ranges[i],
                  !range.admits(value, relativeSlack: relativeSlack) else { return }
            if let name = columns.names[i], !isJudged(name, twin) { return }
            outside = true
        }
        return !outside && i == ranges.count
    }

    /// The columns follow from the chain length, which `ranges` has too.
    static func == (a: AlignedDomain, b: AlignedDomain) -> Bool {
        a.ranges == b.ranges && a.columns.names == b.columns.names && a.relativeSlack == b.relativeSlack
    }

    /// Whether column `name` is judged for `twin` (not a parameter without effect there,
    /// as `CanonicalForm.domainValues` leaves out).
    private func isJudged(_ name: String, _ twin: TandemConfig) -> Bool {
        !zip(twin.stations, columns.ineffective).contains { station, names in
            CanonicalForm.withoutEffect(station, names).contains(name)
        }
    }
}
