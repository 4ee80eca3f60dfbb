// A documented input domain: the ranges one model is meant to cover, written down in
// docs/domain.md, in the dimensionless terms of feature version 3 (times in units of
// the mean gap between batches, as `CanonicalForm.domainCells` names them).
//
// A model file that names a documented domain (`ModelFile.domain`) is judged against
// it instead of against the ranges its training split happened to reach: a
// configuration inside the documented ranges gets no warning. The ranges are one
// table (`ranges`); docs/domain.md describes the same table, and a test checks that
// it names every key of it.

import Foundation
import Simulation

public struct DocumentedDomain: Sendable, Equatable {
    /// The name a model file records (`ModelFile.domain`).
    public var name: String
    /// The ranges, by `CanonicalForm.domainNames` name. Arrival keys are judged by
    /// kind: renewal arrivals by `arrival.scv`; on/off arrivals by their on fraction and
    /// mean on period (their scv follows from those two).
    public let ranges: InputDomain
    /// The chain length the domain describes.
    public let stations: Int
    /// `ranges` laid out for the fast path of `violations(_:)`: renewal arrivals judged
    /// by their scv, on/off arrivals by their on fraction and mean on period.
    private let renewalCheck: AlignedDomain
    private let onOffCheck: AlignedDomain

    public init(name: String, ranges: InputDomain, stations: Int = 2) {
        self.name = name
        self.ranges = ranges
        self.stations = stations
        renewalCheck = AlignedDomain(ranges, stations: stations, leavingOut: Self.onOffKeys, relativeSlack: CanonicalForm.domainSlack)
        onOffCheck = AlignedDomain(ranges, stations: stations, leavingOut: Self.renewalKeys, relativeSlack: CanonicalForm.domainSlack)
    }

    /// The arrival keys that judge only on/off arrivals, and only renewal ones.
    static let onOffKeys: Set<String> = ["arrival.onFraction", "arrival.meanOn*arrival.rate"]
    static let renewalKeys: Set<String> = ["arrival.scv"]

    /// The domain of the shipped two-station model (docs/domain.md, "duet-tandem-v1").
    public static let tandemV1: DocumentedDomain = {
        var columns: [String: InputDomain.Range] = [
            "arrival.scv": .numeric(min: 0, max: 16),
            "arrival.onFraction": .numeric(min: 0.1, max: 1),
            "arrival.meanOn*arrival.rate": .numeric(min: 1, max: 100),
            "batch.dist": .categorical(["deterministic", "empirical", "geometric", "uniform"]),
            "batch.mean": .numeric(min: 1, max: 64),
            "batch.scv": .numeric(min: 0, max: 1),
        ]
        for k in 1...2 {
            let station: [String: InputDomain.Range] = [
                "load": .numeric(min: 0.001, max: 0.95),
                "servers": .numeric(min: 1, max: 64),
                "service.scv": .numeric(min: 0, max: 10),
                "setup*arrival.rate": .numeric(min: 0, max: 0.1),
                "maxBatch": .numeric(min: 1, max: 64),
                "timeout*arrival.rate": .numeric(min: 0, max: 10),
                "coldStart.mean*arrival.rate": .numeric(min: 0, max: 30),
                "coldStart.scv": .numeric(min: 0, max: 4),
                "keepAlive*arrival.rate": .numeric(min: 0.1, max: .infinity),
            ]
            for (key, range) in station { columns["stations.\(k).\(key)"] = range }
        }
        return DocumentedDomain(name: "duet-tandem-v1", ranges: InputDomain(columns: columns))
    }()

    /// Every documented domain this build knows, by name.
    public static let known: [String: DocumentedDomain] = [tandemV1.name: tandemV1]

    /// The values of a configuration's canonical twin that this domain judges: those of
    /// `CanonicalForm.domainValues` (parameters without effect already left out),
    /// without the keys of the other arrival kind.
    public func judgedValues(_ form: CanonicalForm, batchDist: String? = nil) -> [String: ConfigValue] {
        var values = form.domainValues(batchDist: batchDist)
        for key in form.config.onOff == nil ? Self.onOffKeys : Self.renewalKeys { values[key] = nil }
        return values
    }

    /// One message per judged key outside the domain, naming the key, its value and the
    /// documented range (`CanonicalForm.domainSlack` absorbs the rounding of the division by the time
    /// unit). A configuration inside is accepted without building its values by name.
    public func violations(_ config: TandemConfig) -> [String] { violations(CanonicalForm(config)) }

    /// As `violations(_:)`, for a configuration's canonical form already built.
    public func violations(_ form: CanonicalForm) -> [String] {
        if (form.config.onOff == nil ? renewalCheck : onOffCheck).admits(form) { return [] }
        return violations(values: judgedValues(form))
    }

    /// As `violations(_:)`, for values already judged (`judgedValues`).
    public func violations(values: [String: ConfigValue]) -> [String] {
        ranges.violations(values, relativeSlack: CanonicalForm.domainSlack, rangeName: "the documented domain \(name) (docs/domain.md)")
    }
}

extension DocumentedDomain {
    /// Why the rows `indices` of `dataset` cannot claim to cover this domain, or [] when
    /// they can: together they must reach each end of every numeric range (within a
    /// tenth of its width; an infinite end must be reached exactly) and every category
    /// but `empirical` (a batch family a sweep cannot draw; the check judges it by its
    /// mean and scv, which the other families span). Rows outside the domain do not
    /// stand in the way (`rowsOutside` counts them): a sweep sets each station's load
    /// from the configuration as written, and the canonical twin's load can lie a
    /// little higher (station 1's maxBatch capped at the largest batch spreads setup
    /// over fewer jobs), so a sweep over the domain has a few rows just past its edge.
    public func coverageProblems(of dataset: SurrogateDataset, indices: [Int]) -> [String] {
        if dataset.stations != stations {
            return ["the domain describes chains of \(stations) stations, the dataset chains of \(dataset.stations)"]
        }
        var problems: [String] = []
        var reached = InputDomain()
        for i in indices {
            let example = dataset.examples[i]
            for (key, value) in judgedValues(CanonicalForm(example.config), batchDist: example.inputs["batch.dist"]) {
                if case .name(let category) = value { reached.include(key, category: category) } else { reached.include(key, value.double) }
            }
        }
        for (key, range) in ranges.columns.sorted(by: { $0.key < $1.key }) {
            switch (range, reached.columns[key]) {
            case (.numeric(let lo, let hi), .numeric(let low, let high)):
                let slack = hi.isFinite ? 0.1 * (hi - lo) : 0
                if low > lo + slack || (hi.isFinite ? high < hi - slack : high != hi) {
                    problems.append("\(key): the rows reach [\(low), \(high)] of the documented [\(lo), \(hi)]")
                }
            case (.categorical(let values), .categorical(let seen)):
                let missing = values.filter { $0 != "empirical" && !seen.contains($0) }
                if !missing.isEmpty { problems.append("\(key): no row has \(missing.joined(separator: ", "))") }
            default:
                problems.append("\(key): no row judges it")
            }
        }
        return problems
    }

    /// How many of the rows `indices` lie outside this domain, and what is outside in
    /// the first five (`point P: message; ...`).
    public func rowsOutside(of dataset: SurrogateDataset, indices: [Int]) -> (count: Int, examples: [String]) {
        var count = 0
        var examples: [String] = []
        for i in indices {
            let example = dataset.examples[i]
            let messages = violations(values: judgedValues(CanonicalForm(example.config), batchDist: example.inputs["batch.dist"]))
            guard !messages.isEmpty else { continue }
            count += 1
            if examples.count < 5 { examples.append("point \(example.point): " + messages.joined(separator: "; ")) }
        }
        return (count, examples)
    }
}
