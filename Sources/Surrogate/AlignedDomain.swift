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
    /// Per station, the value indices of parameters that are not judged when they have
    /// no effect (as `CanonicalForm.domainValues` leaves them out).
    let ineffective: [Ineffective]
    let relativeSlack: Double

    struct Ineffective: Sendable, Equatable {
        /// keepAlive and coldStart.scv, which have no effect without cold starts.
        var withoutColdStarts: [Int]
        /// timeout, which has no effect with maxBatch 1.
        var withMaxBatchOne: [Int]
    }

    /// `domain` along the columns of chains of `stations` stations, leaving out the keys
    /// in `leavingOut` (judged by no range).
    init(_ domain: InputDomain, stations: Int, leavingOut: Set<String> = [], relativeSlack: Double) {
        let columns = CanonicalForm.domainColumns(stations: stations)
        ranges = columns.names.map { name in
            guard let name, !leavingOut.contains(name) else { return nil }
            return domain.columns[name]
        }
        let index = Dictionary(columns.names.enumerated().compactMap { i, name in name.map { ($0, i) } },
                               uniquingKeysWith: { first, _ in first })
        ineffective = columns.ineffective.map { names in
            Ineffective(withoutColdStarts: [names.keepAlive, names.coldStartScv].compactMap { index[$0] },
                        withMaxBatchOne: [names.timeout].compactMap { index[$0] })
        }
        self.relativeSlack = relativeSlack
    }

    /// True when every judged value of `form`'s twin passes. False means some value is
    /// outside: `InputDomain.violations` then says which (always at least one).
    func admits(_ form: CanonicalForm) -> Bool {
        let twin = form.config
        guard twin.stations.count == ineffective.count else { return false }
        let values = ConfigColumns.values(of: twin)
        guard values.count == ranges.count else { return false }
        for i in values.indices {
            guard let range = ranges[i], !range.admits(values[i], relativeSlack: relativeSlack) else { continue }
            if !isJudged(i, twin) { continue }
            return false
        }
        return true
    }

    /// Whether value `i` is judged for `twin` (not a parameter without effect there).
    private func isJudged(_ i: Int, _ twin: TandemConfig) -> Bool {
        for (station, unused) in zip(twin.stations, ineffective) {
            if station.coldStart.mean == 0, unused.withoutColdStarts.contains(i) { return false }
            if station.maxBatch == 1, unused.withMaxBatchOne.contains(i) { return false }
        }
        return true
    }
}
