// Reads a tandem configuration file (MODEL.md, "The user-facing contract") into a
// validated `TandemConfig`. Every check names the offending key path, so a user can
// fix a file from the message alone; docs/configuration.md lists every key.

import Foundation

public enum ConfigLoader {
    static let topKeys = ["arrival", "batch", "stations", "run"]
    static let arrivalKeys = ["rate", "scv", "onOff", "trace", "time", "timeUnit", "work", "workScale", "batchWindow",
                              "rateMultiplier", "mmpp", "holdMultiplier"]
    static let mmppSourceKeys = ["rates", "meanHolds", "next"]
    /// More sources make 2^n levels and little new: 8 is already 256.
    static let mmppSources = 1...8
    static let onOffKeys = ConfigSchema.configFields.compactMap { field in
        field.key.hasPrefix("arrival.onOff.") ? String(field.key.dropFirst("arrival.onOff.".count)) : nil
    }
    static let traceOnlyKeys = ["time", "timeUnit", "work", "workScale", "batchWindow", "rateMultiplier"]
    static let batchKeys = ["dist", "mean", "values", "weights"]
    static let batchDists: [String] = {
        if case .name(let names) = ConfigSchema.batchDist.kind { return names }
        return []
    }()
    static let runKeys = ["jobs", "replications", "warmup", "seed", "precision", "maxJobs", "threads", "controlVariates"]

    /// How many stations a workflow may chain (MODEL.md, "Workflows of N stages").
    public static let stationCounts = 1...16

    /// `run.maxJobs` when not given (raised to `run.jobs` if that is larger).
    public static let defaultMaxJobs = 20_000_000

    /// Reads and parses the configuration file at `path`; errors from the YAML
    /// syntax name the file.
    public static func load(path: String) throws -> TandemConfig {
        try config(from: ConfigNode.parse(yaml: TextFile.read(path, what: "configuration file"), source: path),
                   baseDirectory: (path as NSString).deletingLastPathComponent)
    }

    /// Parses a configuration from YAML or JSON text, fills in defaults, validates
    /// every value and checks stability. `source` names the text in syntax errors;
    /// a relative `arrival.trace` is resolved against `baseDirectory`.
    public static func parse(_ text: String, source: String? = nil, baseDirectory: String? = nil) throws
        -> TandemConfig
    {
        try config(from: ConfigNode.parse(yaml: text, source: source), baseDirectory: baseDirectory)
    }

    /// Builds a configuration from an already parsed document (for readers that
    /// embed a configuration in a larger spec: their paths carry through).
    /// A relative `arrival.trace` is resolved against `baseDirectory` (the
    /// configuration file's directory; nil or empty: the working directory).
    public static func config(from root: ConfigNode, baseDirectory: String? = nil) throws -> TandemConfig {
        if root.isNull && root.path.isEmpty {
            throw ConfigError(path: "", message: "the configuration is empty; it needs at least arrival and stations")
        }
        let top = try root.mapping(allowedKeys: topKeys)

        let arrival = try self.arrival(top, baseDirectory: baseDirectory)
        var batch = BatchSizeSpec.deterministic(1)
        if case .trace = arrival {
            if top.contains("batch") {
                throw top.error("batch", "not used with arrival.trace: the batches come from the trace "
                                    + "(rows within arrival.batchWindow of a batch's first row); leave it out")
            }
        } else {
            batch = try batchSize(top.mappingOrEmpty("batch", allowedKeys: batchKeys))
        }

        let stationsNode = try top.require("stations")
        let stationNodes = try stationsNode.sequence()
        guard stationCounts.contains(stationNodes.count) else {
            throw stationsNode.error("a workflow chains \(stationCounts.lowerBound) to \(stationCounts.upperBound) "
                                         + "stations, got \(stationNodes.count)")
        }
        let stations = try stationNodes.map(station)
        let runMapping = try top.mappingOrEmpty("run", allowedKeys: runKeys)
        let run = try runSettings(runMapping)

        let config: TandemConfig
        switch arrival {
        case .renewal(let rate, let scv, let onOff):
            config = TandemConfig(arrivalRate: rate, arrivalScv: scv, onOff: onOff, batch: batch, stations: stations,
                                  run: run)
        case .mmpp(let mmpp, let rateMultiplier, let holdMultiplier):
            var modulated = TandemConfig(mmpp: mmpp, rateMultiplier: rateMultiplier, batch: batch, stations: stations,
                                         run: run)
            if holdMultiplier != 1 { modulated.setHoldMultiplier(holdMultiplier) }
            config = modulated
        case .trace(let trace, let rateMultiplier):
            if runMapping.contains("jobs") {
                throw runMapping.error("jobs", "not used with arrival.trace: every replication replays the whole "
                                           + "trace (\(trace.jobCount) jobs) once; leave it out")
            }
            config = TandemConfig(trace: trace, rateMultiplier: rateMultiplier, stations: stations, run: run)
        }
        do {
            try checkStability(config)
        } catch var error as ConfigError {
            // Point at the station in the file.
            if let index = Int(error.path.split(separator: ".").last ?? ""), stationNodes.indices.contains(index - 1) {
                error.path = stationNodes[index - 1].path
                error.line = stationNodes[index - 1].line
            }
            throw error
        }
        return config
    }

    /// Throws when the offered load (`TandemConfig.offeredLoads`) of a station is 1
    /// or more: its queue would grow without bound. The error's path is `stations.K`.
    public static func checkStability(_ config: TandemConfig) throws {
        for (index, (station, load)) in zip(config.stations, config.offeredLoads).enumerated() where !(load < 1) {
            throw ConfigError(path: "stations.\(index + 1)",
                              message: instabilityMessage(config, station: station, load: load))
        }
    }

    // MARK: Sections

    enum Arrival {
        /// Renewal arrivals, or on/off arrivals when `onOff` is set (`scv` is then 1).
        case renewal(rate: Double, scv: Double, onOff: OnOffSpec?)
        case trace(ArrivalTrace, rateMultiplier: Double)
        /// The sources as written, how many times as fast they run and how many times
        /// as long their holds are.
        case mmpp(MMPPSpec, rateMultiplier: Double, holdMultiplier: Double)
    }

    private static func arrival(_ top: ConfigMapping, baseDirectory: String?) throws -> Arrival {
        let arrival = try top.mapping("arrival", allowedKeys: arrivalKeys)
        guard arrival.contains("trace") else {
            let modulated = arrival.contains("mmpp")
            for key in traceOnlyKeys where arrival.contains(key) {
                if key != "rateMultiplier" {
                    throw arrival.error(key, "only used with arrival.trace (replaying a trace file)")
                }
                if !modulated {
                    throw arrival.error(key, "only used with arrival.trace or arrival.mmpp (it speeds up their "
                                            + "traffic); renewal arrivals set arrival.rate instead")
                }
            }
            if modulated {
                let rateMultiplier = try read(ConfigSchema.arrivalRateMultiplier, "rateMultiplier", in: arrival)!.double
                let holdMultiplier = try read(ConfigSchema.arrivalHoldMultiplier, "holdMultiplier", in: arrival)!.double
                return .mmpp(try mmpp(arrival), rateMultiplier: rateMultiplier, holdMultiplier: holdMultiplier)
            }
            if arrival.contains("holdMultiplier") {
                throw arrival.error("holdMultiplier", "only used with arrival.mmpp (it lengthens the sources' holds)")
            }
            let rate = try read(ConfigSchema.arrivalRate, "rate", in: arrival)!.double
            if let onOff = try arrival.mappingIfPresent("onOff") {
                if onOff.contains("meanOff") {
                    throw onOff.error("meanOff", "unknown key; the mean off period follows from the others: "
                                          + "meanOn x (1 - onFraction) / onFraction")
                }
                try onOff.checkKeys(onOffKeys)
                if arrival["scv"] != nil {
                    throw arrival.error("scv", "not allowed together with arrival.onOff, whose on and off periods "
                                            + "set the inter-arrival variability; remove one of them")
                }
                let spec = OnOffSpec(onFraction: try read(ConfigSchema.arrivalOnFraction, "onFraction", in: onOff)!.double,
                                     meanOn: try read(ConfigSchema.arrivalMeanOn, "meanOn", in: onOff)!.double)
                return .renewal(rate: rate, scv: 1, onOff: spec)
            }
            let scv = try read(ConfigSchema.arrivalScv, "scv", in: arrival)!.double
            return .renewal(rate: rate, scv: scv, onOff: nil)
        }
        for key in ["rate", "scv", "onOff", "mmpp", "holdMultiplier"] where arrival.contains(key) {
            throw arrival.error(key, "not used with arrival.trace: the arrivals come from the trace; leave it out")
        }
        let name = try arrival.string("trace")
        guard !name.isEmpty else { throw arrival.error("trace", "expected a file name, got an empty string") }
        var path = name
        if !name.hasPrefix("/"), let baseDirectory, !baseDirectory.isEmpty {
            path = (baseDirectory as NSString).appendingPathComponent(name)
        }
        let units = TraceTimeUnit.allCases.map(\.rawValue)
        let settings = TraceSettings(
            path: path,
            timeColumn: try arrival.string("time", default: TraceSettings.defaultTimeColumn),
            timeUnit: TraceTimeUnit(rawValue: try arrival.string("timeUnit", default: "s", oneOf: units))!,
            workColumn: try arrival.stringIfPresent("work"),
            workScale: try arrival.double("workScale", default: 1, .greaterThan(0)),
            batchWindow: try arrival.double("batchWindow", default: 0, .atLeast(0)))
        if settings.workColumn == nil, arrival.contains("workScale") {
            throw arrival.error("workScale", "only used with arrival.work (the column that scales service times)")
        }
        let rateMultiplier = try read(ConfigSchema.arrivalRateMultiplier, "rateMultiplier", in: arrival)!.double
        do {
            return .trace(try ArrivalTrace.load(settings), rateMultiplier: rateMultiplier)
        } catch let error as DataFileError {
            throw arrival.error("trace", error.description)
        }
    }

    /// Levels a source of `arrival.mmpp` may have.
    static let mmppLevels = 2...8

    /// `arrival.mmpp`: a list of sources, each `{ rates: [r1, r2, ...], meanHolds: [h1, h2, ...] }`,
    /// with `next` (jump probabilities, one row per level) when there are more than two levels.
    private static func mmpp(_ arrival: ConfigMapping) throws -> MMPPSpec {
        for key in ["rate", "scv", "onOff"] where arrival.contains(key) {
            throw arrival.error(key, "not used with arrival.mmpp, whose sources set the rate and the burstiness; "
                                    + "leave it out")
        }
        let list = try arrival.require("mmpp")
        let nodes = try list.sequence()
        guard mmppSources.contains(nodes.count) else {
            throw list.error("expected \(mmppSources.lowerBound) to \(mmppSources.upperBound) sources, "
                                 + "each { rates: [r1, r2], meanHolds: [h1, h2] }, got \(nodes.count)")
        }
        let sources = try nodes.map { node -> MMPPSource in
            let source = try node.mapping(allowedKeys: mmppSourceKeys)
            let ratesNode = try source.require("rates")
            let rates = try ratesNode.sequence().map { try $0.double(rules: [.atLeast(0)]) }
            guard mmppLevels.contains(rates.count) else {
                throw ratesNode.error("expected \(mmppLevels.lowerBound) to \(mmppLevels.upperBound) numbers "
                                          + "(batches per second in each level), got \(rates.count)")
            }
            let holdsNode = try source.require("meanHolds")
            let holds = try holdsNode.sequence().map { try $0.double(rules: [.greaterThan(0)]) }
            guard holds.count == rates.count else {
                throw holdsNode.error("expected \(rates.count) numbers (mean seconds in each level, one per rate), "
                                          + "got \(holds.count)")
            }
            return MMPPSource(rates: rates, meanHolds: holds, next: try jumps(source, levels: rates.count))
        }
        let spec = MMPPSpec(sources: sources)
        guard spec.meanRate > 0 else { throw list.error("every rate is 0: no batch would ever arrive") }
        return spec
    }

    /// A source's `next`: for two levels none (each switches to the other); for more, one
    /// row per level of probabilities >= 0 summing to 1, 0 on the diagonal, every level
    /// reachable from every other (else the long-run rate would depend on where it starts).
    private static func jumps(_ source: ConfigMapping, levels: Int) throws -> [[Double]]? {
        guard levels > 2 else {
            if source.contains("next") {
                throw source.error("next", "a source of two levels switches from each to the other; leave it out")
            }
            return nil
        }
        guard source.contains("next") else {
            throw source.error("next", "required with more than two levels: one row per level, the probabilities "
                                   + "of the level that follows it")
        }
        let node = try source.require("next")
        let rowNodes = try node.sequence()
        guard rowNodes.count == levels else {
            throw node.error("expected \(levels) rows (one per level), got \(rowNodes.count)")
        }
        let rows = try rowNodes.enumerated().map { l, rowNode -> [Double] in
            let row = try rowNode.sequence().map { try $0.double(rules: [.atLeast(0)]) }
            guard row.count == levels else { throw rowNode.error("expected \(levels) probabilities, got \(row.count)") }
            guard row[l] == 0 else {
                throw rowNode.error("the probability of staying in level \(l + 1) must be 0 (a hold ends by leaving it), "
                                        + "got \(ConfigNode.format(row[l]))")
            }
            // Within a thousandth (probabilities written with a few digits), then normalised.
            let sum = row.reduce(0, +)
            guard abs(sum - 1) <= 1e-3 else {
                throw rowNode.error("probabilities must add up to 1, got \(ConfigNode.format(sum))")
            }
            return row.map { $0 / sum }
        }
        // Irreducible: from level 1 every level is reached, and level 1 from every level.
        func reached(_ edge: (Int, Int) -> Bool) -> Set<Int> {
            var seen: Set<Int> = [0], frontier = [0]
            while let l = frontier.popLast() {
                for k in 0..<levels where edge(l, k) && !seen.contains(k) {
                    seen.insert(k)
                    frontier.append(k)
                }
            }
            return seen
        }
        let forward = reached { rows[$0][$1] > 0 }, backward = reached { rows[$1][$0] > 0 }
        if let level = (0..<levels).first(where: { !forward.contains($0) || !backward.contains($0) }) {
            throw node.error("level \(level + 1) cannot be reached from every other level and lead back to them; "
                                 + "each level must be reachable from each other")
        }
        return rows
    }

    private static func batchSize(_ batch: ConfigMapping) throws -> BatchSizeSpec {
        let dist = try batch.string("dist", default: "deterministic", oneOf: batchDists)
        if dist != "empirical" {
            for key in ["values", "weights"] where batch.contains(key) {
                let given = batch.contains("dist") ? "" : " (the default)"
                throw batch.error(key, "only used with dist empirical, but batch.dist is \(dist)\(given)")
            }
        }
        switch dist {
        case "deterministic":
            let mean = try batch.double("mean", default: 1)
            guard mean >= 1, mean == mean.rounded(), let size = Int(exactly: mean) else {
                throw batch.error("mean", "must be a whole number >= 1 for dist deterministic, got \(format(mean))")
            }
            return .deterministic(size)
        case "geometric":
            let mean = try batch.double("mean", default: 1)
            guard mean >= 1 else {
                throw batch.error("mean", "must be >= 1 for dist geometric, got \(format(mean))")
            }
            return .geometric(mean: mean)
        case "uniform":
            let mean = try batch.double("mean", default: 1)
            let largest = 2 * mean - 1
            guard largest >= 1, largest == largest.rounded() else {
                throw batch.error("mean", "must be a whole or half number >= 1 for dist uniform "
                                    + "(sizes 1 ... 2*mean-1), got \(format(mean))")
            }
            return .uniform(mean: mean)
        default:
            return try empirical(batch)
        }
    }

    private static func empirical(_ batch: ConfigMapping) throws -> BatchSizeSpec {
        if batch.contains("mean") {
            throw batch.error("mean", "not used with dist empirical; the mean follows from batch.values and batch.weights")
        }
        let valuesNode = try batch.require("values")
        let values = try valuesNode.sequence().map { try $0.int(.atLeast(1)) }
        guard !values.isEmpty else { throw valuesNode.error("must list at least one batch size") }
        let weightsNode = try batch.require("weights")
        let weights = try weightsNode.sequence().map { try $0.double(.atLeast(0)) }
        guard weights.count == values.count else {
            throw weightsNode.error(
                "must have as many entries as batch.values (\(values.count)), got \(weights.count)")
        }
        guard weights.reduce(0, +) > 0 else { throw weightsNode.error("must have a positive sum, got 0") }
        return .empirical(values: values, weights: weights)
    }

    /// A station, read through the table (`ConfigSchema.stationFields`): its keys,
    /// their rules and defaults. A nested mapping (`service`, `coldStart`) is required
    /// when one of its keys is, and is checked before the values, in table order.
    private static func station(_ node: ConfigNode) throws -> StationConfig {
        let station = try node.mapping(allowedKeys: ConfigSchema.stationFileKeys)
        let sections = try stationLayout.sections.map { section in
            section.required ? try station.mapping(section.name, allowedKeys: section.keys)
                : try station.mappingOrEmpty(section.name, allowedKeys: section.keys)
        }
        var result = StationConfig(service: MomentSpec(mean: 1))
        for (field, section, key) in stationLayout.fields {
            let mapping = section.map { sections[$0] } ?? station
            if let value = try read(field, key, in: mapping) { field.setStation?(&result, value) }
        }
        return result
    }

    /// Where a station's input fields are written in its mapping, worked out from the
    /// schema once (every configuration `duet serve` reads has stations): the nested
    /// sections (`service`, `coldStart`) with their keys, and each field's section (its
    /// position in `sections`, nil for the station's own mapping) and key.
    private struct StationLayout: Sendable {
        var sections: [(name: String, keys: [String], required: Bool)] = []
        var fields: [(field: ConfigField, section: Int?, key: String)] = []
    }

    private static let stationLayout: StationLayout = {
        let fields = ConfigSchema.stationFields.filter { $0.origin == .input }
        var layout = StationLayout()
        for field in fields {
            let parts = field.key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                layout.fields.append((field, nil, parts[0]))
                continue
            }
            if !layout.sections.contains(where: { $0.name == parts[0] }) {
                let inner = fields.filter { $0.key.hasPrefix(parts[0] + ".") }
                layout.sections.append((parts[0], inner.map { String($0.key.dropFirst(parts[0].count + 1)) },
                                        inner.contains { $0.defaultValue == nil }))
            }
            layout.fields.append((field, layout.sections.firstIndex { $0.name == parts[0] }, parts[1]))
        }
        return layout
    }()

    /// A field's value from `mapping[key]`: its default when absent or null (nil when
    /// it has none: an optional label), an error when required.
    static func read(_ field: ConfigField, _ key: String, in mapping: ConfigMapping) throws -> ConfigValue? {
        guard let node = mapping[key] else {
            if let value = field.defaultValue { return value }
            if field.kind == .label { return nil }
            return try value(of: field, mapping.require(key))  // "required key is missing", or "got no value"
        }
        return try value(of: field, node)
    }

    /// A field's value written at `node`, checked against the field's rules.
    public static func value(of field: ConfigField, _ node: ConfigNode) throws -> ConfigValue {
        switch field.kind {
        case .real: return .real(try node.double(rules: field.rules, allowInfinity: field.allowsInfinity))
        case .whole: return .whole(try node.int(rules: field.rules))
        case .name(let names): return .name(try node.string(oneOf: names))
        case .label: return .name(try node.string())
        }
    }

    private static func runSettings(_ run: ConfigMapping) throws -> RunSettings {
        let jobs = try run.int("jobs", default: 100_000, .atLeast(1))
        let replications = try run.int("replications", default: 5, .atLeast(1))
        let warmup = try run.double("warmup", default: 0.1, .atLeast(0), .lessThan(1))
        let seed = try run.uint64("seed", default: 1)
        let precision = try run.doubleIfPresent("precision", .greaterThan(0), .lessThan(1))
        if precision != nil, replications < 2 {
            throw run.error("precision", "needs run.replications >= 2 to estimate a confidence interval, "
                                + "got \(replications)")
        }
        let maxJobs = try run.int("maxJobs", default: max(defaultMaxJobs, jobs))
        guard maxJobs >= jobs else {
            throw run.error("maxJobs", "must be >= run.jobs (\(jobs)), got \(maxJobs)")
        }
        let threads = try run.intIfPresent("threads", .atLeast(1))
        let controlVariates = try run.bool("controlVariates", default: false) ? true : nil
        return RunSettings(jobs: jobs, replications: replications, warmup: warmup, seed: seed,
                           precision: precision, maxJobs: maxJobs, threads: threads, controlVariates: controlVariates)
    }

    // MARK: Helpers

    private static func format(_ value: Double) -> String { ConfigNode.format(value) }

    /// A derived figure to 4 significant digits: 1.025, 1.951, 0.3333.
    static func rounded(_ value: Double) -> String {
        guard value.isFinite, value != 0 else { return format(value) }
        let scale = pow(10, 3 - floor(log10(abs(value))))
        return format((value * scale).rounded() / scale)
    }

    private static func instabilityMessage(_ config: TandemConfig, station: StationConfig, load: Double) -> String {
        var place = ""
        if let name = station.name, !name.isEmpty { place = " at \(name)" }
        var text = "offered load \(rounded(load)) >= 1\(place): jobs arrive at \(rounded(config.jobRate)) per second"
        let batchMean = config.batch.mean
        if batchMean != 1 || config.batch.distName != "deterministic" {
            let average = config.batch.distName == "deterministic" ? "" : " on average"
            let batches = config.arrivalRate == 1 ? "1 batch" : "\(rounded(config.arrivalRate)) batches"
            text += " (\(batches) per second of \(rounded(batchMean)) jobs\(average))"
        }
        let work = config.workMean == 1 ? "" : " (\(rounded(station.service.mean)) s x mean work \(rounded(config.workMean)))"
        text += " and each needs \(rounded(station.service.mean * config.workMean)) s of service\(work)"
        if station.setup > 0 {
            let invocation = station.maxBatch == 1 ? ", one job each" : " of up to \(station.maxBatch) jobs"
            text += " (plus setup \(rounded(station.setup)) s per invocation\(invocation))"
        }
        let servers = station.servers == 1 ? "1 server" : "\(station.servers) servers"
        let capacity = Double(station.servers)
            / (station.service.mean * config.workMean + station.setup / Double(station.maxBatch))
        text += " on \(servers), which can serve at most \(rounded(capacity)) jobs per second;"
            + " the queue would grow without bound"
        return text
    }
}
