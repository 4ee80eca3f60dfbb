// Sweep specs: a base configuration, the inputs to vary and their ranges, a design
// and per-point run settings (docs in examples/quickstart-sweep.yaml).
//
//     base: examples/serverless.yaml        # or an inline configuration
//     vary:
//       arrival.scv: { loguniform: [0.25, 4] }
//       stations.1.load: { uniform: [0.1, 0.9] }
//       stations.2.servers: { int: [1, 16] }
//       batch.dist: { choice: [geometric, deterministic] }
//     design: { method: sobol, points: 4000, seed: 1 }
//     run: { precision: 0.01, replications: 4 }
//
// Each `vary` key is one dimension of the design, in document order. Errors name the
// dotted path in the spec, as ConfigNode's readers do everywhere.

import DuetSupport
import Foundation
import Simulation

/// An input of the model that a sweep can vary: a sweepable field of the
/// configuration table (`ConfigSchema`), and for a station field, which station.
public struct SweepTarget: Sendable, Hashable, CustomStringConvertible {
    public let field: ConfigField
    /// 0-based (paths say `stations.1`); nil for a configuration-wide field.
    public let station: Int?

    public init(_ field: ConfigField, station: Int? = nil) {
        precondition(field.sweepable && (field.scope == .station) == (station != nil))
        self.field = field
        self.station = station
    }

    public static let arrivalRate = SweepTarget(ConfigSchema.arrivalRate)
    public static let arrivalScv = SweepTarget(ConfigSchema.arrivalScv)
    /// `arrival.onOff.onFraction`, `arrival.onOff.meanOn`: on/off arrivals (a base
    /// with renewal arrivals needs both varied, as it has no on/off values to keep).
    public static let arrivalOnFraction = SweepTarget(ConfigSchema.arrivalOnFraction)
    public static let arrivalMeanOn = SweepTarget(ConfigSchema.arrivalMeanOn)
    public static let batchMean = SweepTarget(ConfigSchema.batchMean)
    public static let batchDist = SweepTarget(ConfigSchema.batchDist)

    /// Station `station`'s (0-based) field.
    public static func station(_ station: Int, _ field: ConfigField) -> SweepTarget {
        SweepTarget(field, station: station)
    }

    /// The configuration-wide fields a sweep can vary, in table order.
    public static let configFields = ConfigSchema.configFields.filter(\.sweepable)
    /// The station keys a sweep can vary, as written after `stations.K.`, in table order.
    public static let stationFields = ConfigSchema.stationFields.filter(\.sweepable)

    /// Every path a sweep over `stations` stations accepts, in table order.
    public static func allPaths(stations: Int) -> [String] {
        configFields.map(\.key) + (0..<stations).flatMap { k in stationFields.map { $0.path(station: k) } }
    }

    /// The target of a dotted, 1-based path (`stations.2.servers`) in a configuration
    /// of `stations` stations; an error naming the key otherwise.
    public static func parse(_ path: String, stations: Int) -> Result<SweepTarget, PathError> {
        if let field = configFields.first(where: { $0.key == path }) { return .success(SweepTarget(field)) }
        if let (number, key) = splitStationPath(path) {
            guard (1...max(1, stations)).contains(number) else {
                let have = stations == 1 ? "1 station (station 1)"
                    : stations == 2 ? "2 stations (stations 1 and 2)" : "\(stations) stations (stations 1 to \(stations))"
                return .failure(PathError("no such station: the base configuration has \(have)"))
            }
            let fieldKeys = stationFields.map(\.key)
            guard let field = stationFields.first(where: { $0.key == key }) else {
                if let guess = ConfigNode.suggestion(for: key, among: fieldKeys) {
                    return .failure(PathError("unknown station key \"\(key)\"; did you mean stations.\(number).\(guess)?"))
                }
                return .failure(PathError("unknown station key \"\(key)\"; a sweep can vary \(fieldKeys.joined(separator: ", "))"))
            }
            return .success(SweepTarget(field, station: number - 1))
        }
        if let guess = ConfigNode.suggestion(for: path, among: allPaths(stations: stations)) {
            return .failure(PathError("unknown key path; did you mean \(guess)?"))
        }
        return .failure(PathError(
            "unknown key path; a sweep can vary \(configFields.map(\.key).joined(separator: ", ")) "
                + "and stations.K.(\(stationFields.map(\.key).joined(separator: "|")))"))
    }

    /// Why a path is not a sweep target.
    public struct PathError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The dotted, 1-based path: `stations.2.maxBatch`.
    public var description: String { field.path(station: station) }

    enum ValueKind { case real, whole, name }

    var kind: ValueKind {
        switch field.kind {
        case .name, .label: return .name
        case .whole: return .whole
        case .real: return .real
        }
    }

    /// What a value must satisfy (the table's rule, as in ConfigLoader).
    var rules: [NumberRule] { field.rules }

    var allowsInfinity: Bool { field.allowsInfinity }

    /// The names a `.name` target may take: batch-size distributions a sweep can
    /// choose (empirical needs values and weights).
    var choices: [String] {
        guard case .name(let names) = field.kind else { return [] }
        return names.filter { $0 != "empirical" }
    }
}

/// A value drawn for one input: a number, or a name (`batch.dist`).
public enum SweepValue: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case name(String)

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .number(let value): return ConfigColumns.format(value)
        case .name(let name): return name
        }
    }
}

/// How one input is spread over [0, 1) of its design dimension.
public enum SweepRange: Sendable, Hashable, CustomStringConvertible, Codable {
    /// Uniform on [low, high].
    case uniform(Double, Double)
    /// Log-uniform on [low, high], low > 0.
    case loguniform(Double, Double)
    /// Each whole number in low ... high (inclusive) equally likely.
    case int(Int, Int)
    /// A whole number in low ... high (inclusive, low >= 1) with probability
    /// proportional to log((k + 1) / k): log-uniform on [low, high + 1), rounded down.
    case logint(Int, Int)
    /// One of the values, equally likely.
    case choice([SweepValue])
    /// The range's low end exactly for a `share` of the design, the range for the rest
    /// (`lowShare` in a spec): a boundary value that is a regime of its own, such as a
    /// batching timeout of 0 (no waiting at all), which a continuous range never draws.
    indirect case lowShare(Double, SweepRange)

    public static let kinds = ["uniform", "loguniform", "int", "logint", "choice"]

    /// The value at design coordinate `u` in [0, 1); monotone in `u` (for choice,
    /// in list order).
    public func value(at u: Double) -> SweepValue {
        switch self {
        case .uniform(let low, let high):
            return .number(min(high, low + u * (high - low)))
        case .loguniform(let low, let high):
            return .number(min(high, max(low, exp(log(low) + u * (log(high) - log(low))))))
        // In Double throughout: `high - low + 1` and `high + 1` overflow an Int for the
        // widest ranges (int [0, 2^63-1]), and the values are Doubles anyway.
        case .int(let low, let high):
            let span = Double(high) - Double(low) + 1
            return .number(min(Double(high), Double(low) + (u * span).rounded(.down)))
        case .logint(let low, let high):
            let x = exp(log(Double(low)) + u * (log(Double(high) + 1) - log(Double(low))))
            return .number(min(Double(high), max(Double(low), x.rounded(.down))))
        case .choice(let values):
            return values[min(values.count - 1, Int((u * Double(values.count)).rounded(.down)))]
        case .lowShare(let share, let range):
            // The first `share` of the axis is the low end; the rest is the range
            // stretched over it, so the value stays monotone in u.
            return u < share ? range.value(at: 0) : range.value(at: (u - share) / (1 - share))
        }
    }

    /// As written in a spec: `loguniform [0.25, 4]`.
    public var description: String {
        func number(_ x: Double) -> String { ConfigColumns.format(x) }
        switch self {
        case .uniform(let a, let b): return "uniform [\(number(a)), \(number(b))]"
        case .loguniform(let a, let b): return "loguniform [\(number(a)), \(number(b))]"
        case .int(let a, let b): return "int [\(a), \(b)]"
        case .logint(let a, let b): return "logint [\(a), \(b)]"
        case .choice(let values): return "choice [\(values.map(\.description).joined(separator: ", "))]"
        case .lowShare(let share, let range): return "\(range), lowShare \(number(share))"
        }
    }
}

/// One varied input: what, and over which range.
public struct SweepParameter: Sendable, Hashable {
    public var target: SweepTarget
    public var range: SweepRange

    public init(target: SweepTarget, range: SweepRange) {
        self.target = target
        self.range = range
    }
}

/// `design:` of a spec.
public struct SweepDesignSettings: Sendable, Hashable, Codable {
    public var method: DesignMethod
    public var points: Int
    public var seed: UInt64

    public init(method: DesignMethod = .sobol, points: Int, seed: UInt64 = 1) {
        self.method = method
        self.points = points
        self.seed = seed
    }
}

/// `run:` of a spec: how each point is simulated. The defaults aim at precise
/// labels: 95% half-width of meanResponse within 1% of the mean, 4 replications.
public struct SweepRunSettings: Sendable, Hashable, Codable {
    /// Jobs per replication (with `precision`, the first try).
    public var jobs: Int
    /// Relative 95% half-width target of meanResponse; nil runs exactly `jobs`.
    public var precision: Double?
    public var replications: Int
    public var warmup: Double
    /// Cap on jobs per replication when chasing the precision target.
    public var maxJobs: Int
    /// `RunSettings.controlVariates` for every point (true or nil, so that specs
    /// without it keep their blob and fingerprint).
    public var controlVariates: Bool?

    public init(jobs: Int = 20_000, precision: Double? = 0.01, replications: Int = 4, warmup: Double = 0.1,
                maxJobs: Int = 2_000_000, controlVariates: Bool? = nil) {
        self.jobs = jobs
        self.precision = precision
        self.replications = replications
        self.warmup = warmup
        self.maxJobs = maxJobs
        self.controlVariates = controlVariates
    }

    /// The run settings of one point: single-threaded (points run in parallel).
    public func settings(seed: UInt64) -> RunSettings {
        RunSettings(jobs: jobs, replications: replications, warmup: warmup, seed: seed, precision: precision,
                    maxJobs: maxJobs, threads: 1, controlVariates: controlVariates)
    }
}

/// One point of a sweep: its inputs and the configuration they make.
public struct SweepPoint: Sendable {
    /// The design index (the dataset's `point`).
    public var index: Int
    /// The value of each varied input, in `SweepSpec.parameters` order.
    public var values: [SweepValue]
    /// The configuration to simulate (its `run.seed` is the point's seed).
    public var config: TandemConfig
    /// Why the point cannot be simulated (a derived service mean <= 0, an offered
    /// load >= 1); nil when it can.
    public var problem: String?
}

/// A parsed, validated sweep spec.
public struct SweepSpec: Sendable {
    public var base: TandemConfig
    /// The varied inputs, one design dimension each, in document order.
    public var parameters: [SweepParameter]
    public var design: SweepDesignSettings
    public var run: SweepRunSettings

    public init(base: TandemConfig, parameters: [SweepParameter], design: SweepDesignSettings,
                run: SweepRunSettings = SweepRunSettings()) {
        self.base = base
        self.parameters = parameters
        self.design = design
        self.run = run
    }

    static let topKeys = ["base", "vary", "design", "run"]
    static let designKeys = ["method", "points", "seed"]
    static let runKeys = ["jobs", "precision", "replications", "warmup", "maxJobs", "controlVariates"]

    // MARK: Reading

    /// Reads a spec file; a string `base` is read relative to the spec's folder.
    /// `needsDesign: false` reads a grid (`duet validate`), whose combinations make
    /// the points: `design` may then be left out.
    public static func load(path: String, needsDesign: Bool = true) throws -> SweepSpec {
        let text = try TextFile.read(path, what: "sweep spec")
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, source: path, directory: directory, needsDesign: needsDesign)
    }

    /// Parses a spec. `directory` resolves a string `base` (default: the current one).
    public static func parse(_ text: String, source: String? = nil, directory: String? = nil, needsDesign: Bool = true)
        throws -> SweepSpec
    {
        let root = try ConfigNode.parse(yaml: text, source: source ?? "sweep spec")
        if root.isNull { throw ConfigError(path: "", message: "the sweep spec is empty; it needs base, vary and design") }
        let top = try root.mapping(allowedKeys: topKeys)
        let base = try baseConfig(top.require("base"), directory: directory)
        let parameters = try varied(top.mapping("vary"), base: base)
        let design = !needsDesign && !top.contains("design")
            ? SweepDesignSettings(method: .random, points: 1, seed: 1)
            : try designSettings(top.mapping("design", allowedKeys: designKeys), dimensions: parameters.count)
        let run = try runSettings(top)
        return SweepSpec(base: base, parameters: parameters, design: design, run: run)
    }

    private static func baseConfig(_ node: ConfigNode, directory: String?) throws -> TandemConfig {
        if node.kind == .scalar {
            let name = try node.string()
            let path = name.hasPrefix("/") || directory == nil || directory!.isEmpty
                ? name : (directory! as NSString).appendingPathComponent(name)
            let text: String
            do {
                text = try TextFile.read(path, what: "base configuration")
            } catch let error as ConfigError {
                throw node.error(error.message)
            }
            do {
                // The file's own run section is read (and checked) but not used:
                // per-point run settings come from the spec's run section.
                return try ConfigLoader.config(from: ConfigNode.parse(yaml: text, source: path),
                                               baseDirectory: (path as NSString).deletingLastPathComponent)
            } catch let error as ConfigError {
                // The inner error has the line in the base file.
                throw ConfigError(path: node.path, message: "in \(path): \(error)")
            }
        }
        let mapping = try node.mapping()
        if mapping.contains("run") {
            throw mapping.error("run", "per-point run settings go in the spec's top-level run section")
        }
        return try ConfigLoader.config(from: node, baseDirectory: directory)
    }

    private static func varied(_ vary: ConfigMapping, base: TandemConfig) throws -> [SweepParameter] {
        guard !vary.keys.isEmpty else { throw vary.error("needs at least one key path to vary") }
        var parameters: [SweepParameter] = []
        for key in vary.keys {
            let node = try vary.require(key)
            let target = try self.target(key, node: node, stations: base.stations.count)
            if let twin = parameters.first(where: { $0.target == target }) {
                throw node.error("\(twin.target) is varied twice")
            }
            parameters.append(SweepParameter(target: target, range: try range(node, target: target)))
        }
        if let (key, message) = combinationProblem(parameters, base: base) { throw vary.error(key, message) }
        return parameters
    }

    /// Why these varied inputs cannot make points of `base` together: the key to
    /// blame and the reason; nil when they can. (`duet plan --vary` checks its grid
    /// with it too.)
    public static func combinationProblem(_ parameters: [SweepParameter], base: TandemConfig)
        -> (key: String, message: String)?
    {
        // A trace replay fixes the arrivals and batches: only the stations vary (every
        // point replays the same trace; its dataset columns describe it alike).
        // Its rate multiplier is the one arrival key of a trace, and of a trace only.
        let multiplier = SweepTarget(ConfigSchema.arrivalRateMultiplier)
        if base.trace != nil, let arrivalKey = parameters.first(where: { $0.target.station == nil && $0.target != multiplier }) {
            return (arrivalKey.target.description, "the base replays a trace (arrival.trace), which sets the "
                + "arrivals and batches; a sweep over a trace varies the stations and arrival.rateMultiplier only")
        }
        let holds = SweepTarget(ConfigSchema.arrivalHoldMultiplier)
        if base.mmpp != nil, let arrivalKey = parameters.first(where: {
            $0.target.station == nil && ![.batchMean, .batchDist, multiplier, holds].contains($0.target)
        }) {
            return (arrivalKey.target.description, "the base has Markov-modulated arrivals (arrival.mmpp), whose "
                + "sources set the rate and burstiness; vary the stations, the batch sizes, arrival.rateMultiplier "
                + "and arrival.holdMultiplier")
        }
        if base.mmpp == nil, parameters.contains(where: { $0.target == holds }) {
            return (holds.description, "only used with arrival.mmpp (it lengthens the sources' holds); the base "
                + "has no Markov-modulated arrivals")
        }
        if base.trace == nil, base.mmpp == nil, parameters.contains(where: { $0.target == multiplier }) {
            return (multiplier.description, "only used with arrival.trace or arrival.mmpp (it speeds up their "
                + "traffic); the base has renewal arrivals, whose arrival.rate can be varied instead")
        }
        // Combinations that cannot work.
        for parameter in parameters {
            guard parameter.target.field == ConfigSchema.load, let index = parameter.target.station else { continue }
            let serviceMean = SweepTarget.station(index, ConfigSchema.serviceMean)
            if parameters.contains(where: { $0.target == serviceMean }) {
                return (parameter.target.description,
                    "\(serviceMean) is varied too, but the load sets the service mean; vary one of them")
            }
        }
        let onOffTargets: [SweepTarget] = [.arrivalOnFraction, .arrivalMeanOn]
        let variedOnOff = onOffTargets.filter { target in parameters.contains { $0.target == target } }
        if base.onOff != nil || !variedOnOff.isEmpty {
            // As in a configuration file: the on/off periods set the inter-arrival scv.
            if parameters.contains(where: { $0.target == .arrivalScv }) {
                let source = base.onOff != nil ? "the base has arrival.onOff" : "\(variedOnOff[0]) is varied"
                return ("arrival.scv", "not allowed with on/off arrivals (\(source)), whose on and off "
                    + "periods set the inter-arrival variability")
            }
        }
        if base.onOff == nil, !variedOnOff.isEmpty {
            if variedOnOff.count == 1 {
                let other = onOffTargets.first { $0 != variedOnOff[0] }!
                return (variedOnOff[0].description, "the base has renewal arrivals, so there is no "
                    + "\(other) to keep; give the base arrival.onOff or vary \(other) too")
            }
            if base.interArrival.scv != 1 {
                return (variedOnOff[0].description, "the varied on/off arrivals replace the base's "
                    + "arrival.scv (\(format(base.interArrival.scv))); remove it from the base")
            }
        }
        if case .empirical = base.batch, parameters.contains(where: { $0.target == .batchMean }),
           !parameters.contains(where: { $0.target == .batchDist })
        {
            return ("batch.mean", "the base batch.dist is empirical, whose mean follows from its values; "
                + "vary batch.dist too or give the base another dist")
        }
        return nil
    }

    private static func target(_ key: String, node: ConfigNode, stations: Int) throws -> SweepTarget {
        switch SweepTarget.parse(key, stations: stations) {
        case .success(let target): return target
        case .failure(let error): throw node.error(error.description)
        }
    }

    static func range(_ node: ConfigNode, target: some RangeTarget) throws -> SweepRange {
        guard node.kind == .mapping else {
            throw node.error("expected a range: one of uniform, loguniform, int, logint or choice, "
                                 + "as in { uniform: [low, high] }")
        }
        let mapping = try node.mapping(allowedKeys: SweepRange.kinds + ["lowShare"])
        let kinds = mapping.keys.filter { $0 != "lowShare" }
        guard kinds.count == 1, let kind = kinds.first else {
            let given = kinds.isEmpty ? "none" : kinds.joined(separator: " and ")
            throw node.error("give exactly one of uniform, loguniform, int, logint or choice, got \(given)")
        }
        let range = try plainRange(kind, mapping.require(kind), target: target)
        guard let share = try mapping.doubleIfPresent("lowShare", .greaterThan(0), .lessThan(1)) else {
            return range
        }
        if case .choice = range {
            throw mapping.error("lowShare", "lowShare goes with uniform, loguniform, int or logint; "
                                    + "a choice weights a value by listing it more than once")
        }
        return .lowShare(share, range)
    }

    /// The range of one kind (`uniform`, ..., `choice`) from the node under that key.
    private static func plainRange(_ kind: String, _ valueNode: ConfigNode,
                                   target: some RangeTarget) throws -> SweepRange {
        switch (kind, target.kind) {
        case ("choice", _):
            return try choice(valueNode, target: target)
        case (_, .name):
            throw valueNode.error("\(target) is a name; use choice: [\(target.names.joined(separator: ", "))]")
        case ("uniform", .whole), ("loguniform", .whole):
            throw valueNode.error("\(target) is a whole number; use int, logint or choice")
        default:
            break
        }
        let ends = try valueNode.sequence()
        guard ends.count == 2 else {
            throw valueNode.error("expected [low, high], got \(ends.count) value\(ends.count == 1 ? "" : "s")")
        }
        switch kind {
        case "uniform", "loguniform":
            let rules = kind == "loguniform" ? Self.tightened(target.rules, .greaterThan(0)) : target.rules
            let low = try ends[0].double(rules: rules)
            let high = try ends[1].double(rules: rules)
            guard low < high else {
                throw valueNode.error("expected low < high, got [\(format(low)), \(format(high))]")
            }
            return kind == "uniform" ? .uniform(low, high) : .loguniform(low, high)
        default:  // int, logint
            let rules = kind == "logint" ? Self.tightened(target.rules, .atLeast(1)) : target.rules
            let low = try ends[0].int(rules: rules)
            let high = try ends[1].int(rules: rules)
            guard low <= high else { throw valueNode.error("expected low <= high, got [\(low), \(high)]") }
            return kind == "int" ? .int(low, high) : .logint(low, high)
        }
    }

    private static func choice(_ node: ConfigNode, target: some RangeTarget) throws -> SweepRange {
        let items = try node.sequence()
        guard !items.isEmpty else { throw node.error("expected a list of at least one value") }
        return .choice(try items.map { try choiceValue($0, target: target) })
    }

    /// One value of a choice, checked as the target's values are.
    static func choiceValue(_ item: ConfigNode, target: some RangeTarget) throws -> SweepValue {
        switch target.kind {
        case .name: return .name(try item.string(oneOf: target.names))
        case .whole: return .number(Double(try item.int(rules: target.rules)))
        case .real: return .number(try item.double(rules: target.rules, allowInfinity: target.allowsInfinity))
        }
    }

    private static func designSettings(_ design: ConfigMapping, dimensions: Int) throws -> SweepDesignSettings {
        let methodName = try design.string("method", default: DesignMethod.sobol.rawValue,
                                           oneOf: DesignMethod.allCases.map(\.rawValue))
        let method = DesignMethod(rawValue: methodName)!
        let points = try design.int("points", .atLeast(1))
        if method == .sobol {
            if points > SobolSequence.maxPoints {
                throw design.error("points", "a Sobol design has at most \(SobolSequence.maxPoints) points, got \(points)")
            }
            if dimensions > SobolSequence.maxDimensions {
                throw design.error("method", "a Sobol design has at most \(SobolSequence.maxDimensions) dimensions, "
                                       + "but vary has \(dimensions) keys")
            }
        }
        return SweepDesignSettings(method: method, points: points, seed: try design.uint64("seed", default: 1))
    }

    private static func runSettings(_ top: ConfigMapping) throws -> SweepRunSettings {
        let run = try top.mappingOrEmpty("run")
        if run.contains("seed") {
            throw run.error("seed", "each point's seed is derived from design.seed and the point index; set design.seed")
        }
        if run.contains("threads") {
            throw run.error("threads", "each point runs on one thread; set the sweep's threads with duet sweep --threads")
        }
        try run.checkKeys(runKeys)
        let defaults = SweepRunSettings()
        let jobs = try run.int("jobs", default: defaults.jobs, .atLeast(1))
        let replications = try run.int("replications", default: defaults.replications, .atLeast(1))
        let warmup = try run.double("warmup", default: defaults.warmup, .atLeast(0), .lessThan(1))
        var precision = defaults.precision
        if let node = run["precision"] {
            // `precision: off` (or false) runs exactly `jobs` jobs per replication.
            if let text = node.text, ["off", "false", "no"].contains(text.lowercased()) {
                precision = nil
            } else {
                precision = try node.double(.greaterThan(0), .lessThan(1))
            }
        }
        if precision != nil, replications < 2 {
            throw run.error("replications", "a precision target needs at least 2 replications to estimate a "
                                + "half-width, got \(replications); or set precision: off")
        }
        let maxJobs = try run.int("maxJobs", default: max(defaults.maxJobs, jobs))
        guard maxJobs >= jobs else { throw run.error("maxJobs", "must be >= run.jobs (\(jobs)), got \(maxJobs)") }
        let controlVariates = try run.bool("controlVariates", default: false) ? true : nil
        return SweepRunSettings(jobs: jobs, precision: precision, replications: replications, warmup: warmup,
                                maxJobs: maxJobs, controlVariates: controlVariates)
    }

    // MARK: Points

    /// The design of this spec; `points` overrides `design.points`.
    public func makeDesign(points: Int? = nil) throws -> Design {
        try Design(method: design.method, dimensions: parameters.count, points: points ?? design.points,
                   seed: design.seed)
    }

    /// `count` configurations of this spec's space that its own sweep never simulates,
    /// for a teacher model to label (`duet train --teacher`): the design continued
    /// past its `design.points` (a Sobol or random design gives the same first points
    /// at every count), or for a Latin hypercube, which does not extend, a random
    /// design of a seed derived from its own. Points that cannot be realised or are
    /// unstable are left out and counted, so fewer than `count` may come back.
    public func configurationsBeyondDesign(count: Int) throws -> (configs: [TandemConfig], leftOut: Int) {
        precondition(count >= 0, "configurationsBeyondDesign: negative count \(count)")
        guard count > 0 else { return ([], 0) }
        let first = design.method == .lhs ? 0 : design.points
        let extended = design.method == .lhs
            ? try Design(method: .random, dimensions: parameters.count, points: count,
                         seed: design.seed ^ 0x7465_6163_6865_72)  // "teacher"
            : try makeDesign(points: design.points + count)
        var configs: [TandemConfig] = []
        configs.reserveCapacity(count)
        for index in first..<(first + count) {
            let point = point(index, of: extended)
            if point.problem == nil { configs.append(point.config) }
        }
        return (configs, count - configs.count)
    }

    /// The simulation seed of point `index`: a function of the design seed and the
    /// index only, so a row does not depend on which worker ran it or when.
    public static func pointSeed(designSeed: UInt64, index: Int) -> UInt64 {
        var random = RandomStream(seed: designSeed, substream: 0x7365_6564, UInt64(index))  // "seed"
        return random.next()
    }

    /// Point `index` of `design`.
    public func point(_ index: Int, of design: Design) -> SweepPoint {
        point(index, coordinates: design.point(index))
    }

    /// The point with these design coordinates (one per parameter, in [0, 1)).
    ///
    /// Values apply to the base in order, each made what the simulator realises, so
    /// that the dataset's input columns say what was simulated: an scv in (0, 1)
    /// becomes 1/k for the Erlang-k that MODEL.md draws (k = round(1/scv)), and
    /// `batch.mean` is rounded to what the point's `batch.dist` supports (a whole
    /// number for deterministic, a whole or half number for uniform). Then each
    /// `stations.K.load` sets that station's service mean to
    /// `load x servers / jobRate - setup / maxBatch`, so that
    /// `TandemConfig.offeredLoads` equals it. `SweepPoint.values` are as drawn.
    public func point(_ index: Int, coordinates: [Double]) -> SweepPoint {
        precondition(coordinates.count == parameters.count)
        var config = base
        config.run = run.settings(seed: Self.pointSeed(designSeed: design.seed, index: index))
        var batchDist = base.batch.distName
        var batchMean = base.batch.mean
        var batchChanged = false
        var onOff = base.onOff ?? OnOffSpec(onFraction: 1, meanOn: 1)
        var onOffChanged = false
        var loads: [(station: Int, load: Double)] = []
        var values: [SweepValue] = []
        for (parameter, u) in zip(parameters, coordinates) {
            let value = parameter.range.value(at: u)
            values.append(value)
            let x = value.number ?? .nan
            // The fields whose values combine with others (the batch size's dist and
            // mean, the on/off pair) or set another (a load sets the service mean) are
            // applied after the loop; every other field is set as drawn, made realisable.
            let target = parameter.target, field = target.field
            switch field {
            case ConfigSchema.arrivalOnFraction: onOff.onFraction = x; onOffChanged = true
            case ConfigSchema.arrivalMeanOn: onOff.meanOn = x; onOffChanged = true
            case ConfigSchema.batchMean: batchMean = x; batchChanged = true
            case ConfigSchema.batchDist:
                if case .name(let name) = value { batchDist = name }
                batchChanged = true
            case ConfigSchema.load: loads.append((target.station!, x))
            default:
                let drawn: ConfigValue = field.kind == .whole
                    ? .whole(Self.whole(x)) : .real(field.isScv ? Self.realisable(scv: x) : x)
                field.setValue(drawn, in: &config, station: target.station)
            }
        }
        if batchChanged { config.batch = Self.batch(dist: batchDist, mean: batchMean) }
        if onOffChanged {
            config.onOff = onOff
            config.interArrival.scv = 1  // not used by on/off arrivals; 1 as the loader leaves it
        }

        var problem: String?
        for (k, load) in loads {
            let station = config.stations[k]
            let servers = Double(station.servers)
            let setupShare = station.setup / Double(station.maxBatch)
            let mean = load * servers / config.jobRate - setupShare
            config.stations[k].service.mean = mean
            if !(mean > 0), problem == nil {
                let setupLoad = config.jobRate * setupShare / servers
                problem = "stations.\(k + 1).load \(Self.rounded(load)) cannot be reached: setup alone "
                    + "(\(Self.rounded(station.setup)) s per invocation of up to \(station.maxBatch) jobs) "
                    + "gives an offered load of \(Self.rounded(setupLoad))"
            }
        }
        if problem == nil {
            do {
                try ConfigLoader.checkStability(config)
            } catch {
                problem = "\(error)"
            }
        }
        return SweepPoint(index: index, values: values, config: config, problem: problem)
    }

    /// The scv a simulation really has: 1/k with k = round(1/scv) in (0, 1), as is
    /// elsewhere.
    static func realisable(scv: Double) -> Double {
        guard scv > 0, scv < 1 else { return scv }
        return 1 / Double(MomentSampler.erlangStages(scv: scv))
    }

    /// A whole number drawn as a Double as an Int: a range up to 2^63-1 reaches 2^63
    /// as a Double, and a real range (batch.mean) may go up to 1e300, where `Int(_:)`
    /// would trap; those become the largest Int.
    static func whole(_ x: Double) -> Int {
        Int(exactly: x.rounded(.down)) ?? (x > 0 ? .max : .min)
    }

    /// A batch-size spec with the mean rounded to what the distribution supports.
    static func batch(dist: String, mean: Double) -> BatchSizeSpec {
        switch dist {
        case "deterministic": return .deterministic(max(1, whole(mean.rounded())))
        case "uniform": return .uniform(mean: max(1, (2 * mean).rounded() / 2))
        default: return .geometric(mean: max(1, mean))
        }
    }

    // MARK: Fingerprint

    /// The header of this sweep's dataset: the input columns of the base's stations.
    public var datasetHeader: [String] { DatasetFile.header(stations: base.stations.count) }

    /// The spec's content, section by section, in a canonical text form: what
    /// decides the rows of a dataset. The point count is not part of it (it is
    /// stored separately, since extending a Sobol or random design keeps its
    /// earlier points).
    public var canonicalSections: [(name: String, text: String)] {
        var sections: [(String, String)] = []
        var baseText = zip(ConfigColumns.names(of: base), ConfigColumns.cells(of: base)).map { "\($0)=\($1)" }
        if case .empirical(let values, let weights) = base.batch {
            baseText.append("batch.values=\(values.map(String.init).joined(separator: " "))")
            baseText.append("batch.weights=\(weights.map(ConfigColumns.format).joined(separator: " "))")
        }
        if let mmpp = base.mmpp {
            // Two-level sources read as before; a source of more levels adds its jump rows.
            baseText.append("mmpp=" + mmpp.sources.map { source in
                ((source.rates + source.meanHolds) + (source.next ?? []).joined()).map(ConfigColumns.format)
                    .joined(separator: " ")
            }.joined(separator: "; "))
            // The sources above are as simulated, with both multipliers applied.
            if base.rateMultiplier != 1 { baseText.append("rateMultiplier=\(ConfigColumns.format(base.rateMultiplier))") }
            if base.holdMultiplier != 1 { baseText.append("holdMultiplier=\(ConfigColumns.format(base.holdMultiplier))") }
        }
        if let trace = base.trace {
            // The trace's settings and content: another trace is another dataset.
            let settings = trace.settings
            baseText.append("trace=\(String(trace.contentHash, radix: 16)) time=\(settings.timeColumn) "
                            + "timeUnit=\(settings.timeUnit.rawValue) work=\(settings.workColumn ?? "-") "
                            + "workScale=\(ConfigColumns.format(settings.workScale)) "
                            + "batchWindow=\(ConfigColumns.format(settings.batchWindow))")
        }
        sections.append(("base", baseText.joined(separator: ", ")))
        for parameter in parameters {
            sections.append(("vary.\(parameter.target)", parameter.range.description))
        }
        sections.append(("design", "method=\(design.method.rawValue), seed=\(design.seed)"))
        let precision = run.precision.map(ConfigColumns.format) ?? "off"
        sections.append(("run", "jobs=\(run.jobs), precision=\(precision), replications=\(run.replications), "
                             + "warmup=\(ConfigColumns.format(run.warmup)), maxJobs=\(run.maxJobs)"
                             + (run.controlVariates == true ? ", controlVariates=true" : "")))
        // The dataset's columns too: a file from a build with other metrics differs.
        sections.append(("columns", SHA256Hasher.hex(datasetHeader.joined(separator: ","))))
        return sections
    }

    /// SHA-256 of the canonical sections (in order), as hex.
    public var fingerprint: String {
        SHA256Hasher.hex(canonicalSections.map { "\($0.name): \($0.text)\n" }.joined())
    }

    // MARK: Helpers

    static func format(_ value: Double) -> String { ConfigNode.format(value) }

    /// `rules` with a stronger lower bound: weaker lower bounds give way to it, so
    /// messages say "must be > 0", not "must be >= 0 and > 0".
    static func tightened(_ rules: [NumberRule], _ bound: NumberRule) -> [NumberRule] {
        func lower(_ rule: NumberRule) -> Double? {
            switch rule {
            case .atLeast(let b): return b
            case .greaterThan(let b): return b.nextUp
            default: return nil
            }
        }
        guard let new = lower(bound) else { return rules + [bound] }
        if rules.contains(where: { (lower($0) ?? -.infinity) >= new }) { return rules }
        return [bound] + rules.filter { lower($0) == nil }
    }

    /// 4 significant digits, for messages.
    static func rounded(_ value: Double) -> String {
        guard value.isFinite, value != 0 else { return format(value) }
        let scale = pow(10, 3 - floor(log10(abs(value))))
        return format((value * scale).rounded() / scale)
    }
}
