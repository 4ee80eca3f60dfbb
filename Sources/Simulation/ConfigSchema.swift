// The one table of a configuration's fields (MODEL.md, "The user-facing contract").
//
// Each field says once what it is: its dotted path (`stations.K.servers` for any
// station K), its kind, the rule every value obeys, its default, its dataset column
// and how to read and write it on a `TandemConfig`. The readers and writers derive
// from this table: `ConfigLoader` reads a station's keys through it (allowed keys,
// defaults, rules and so the error messages), `ConfigColumns` writes and reads the
// dataset's input columns for however many stations a configuration has, and the
// sweep spec's targets (`SweepTarget` in Search, also used by `duet plan --vary`)
// are the table's sweepable fields.
//
// Adding a key: one entry below (and its meaning in `StationConfig` or
// `TandemConfig`, the engine and docs/configuration.md). A field whose column came
// later gives `columnDefault`, so that older datasets, which lack the column, still
// read.

/// One value of a field: a real number, a whole number or a name.
public enum ConfigValue: Sendable, Hashable, CustomStringConvertible {
    case real(Double)
    case whole(Int)
    case name(String)

    /// The value as a number (a name is nan).
    public var double: Double {
        switch self {
        case .real(let x): return x
        case .whole(let n): return Double(n)
        case .name: return .nan
        }
    }

    /// The value as a whole number: a real is rounded down (and clamped to Int's range).
    public var int: Int {
        switch self {
        case .whole(let n): return n
        case .real(let x): return Int(exactly: x.rounded(.down)) ?? (x > 0 ? .max : .min)
        case .name: return 0
        }
    }

    /// The name, or "" for a number.
    public var text: String {
        if case .name(let name) = self { return name }
        return ""
    }

    /// As a dataset cell: `inf` for infinity, whole numbers without a point.
    public var description: String {
        switch self {
        case .real(let x): return ConfigColumns.format(x)
        case .whole(let n): return String(n)
        case .name(let name): return name
        }
    }
}

/// One field of a configuration: a key of the file, a dataset column, a sweep input,
/// or all three. A class, as nothing in it changes after the schema is built: readers
/// hand fields around for every key and column they read, and copying one as a value
/// retained each of its strings, rules and closures (one JSON request to `duet serve`
/// took 6% longer so).
public final class ConfigField: Sendable, Hashable, CustomStringConvertible {
    /// Where a field lives: once per configuration, or once per station.
    public enum Scope: Sendable, Hashable {
        case config
        /// Under `stations.K.`; the key is what follows.
        case station
    }

    public enum Kind: Sendable, Hashable {
        case real
        case whole
        /// One of these words.
        case name([String])
        /// Free text (a station's `name`).
        case label
    }

    /// How the field's value comes about.
    public enum Origin: Sendable, Hashable {
        /// Written in configuration files (with its default when absent).
        case input
        /// Computed from the other fields (`batch.scv`, `stations.K.load`); a dataset
        /// column, not a key of files. A sweep may still set a derived field when the
        /// sweep knows how (`stations.K.load` sets the service mean).
        case derived
    }

    public let scope: Scope
    /// The dotted key: the whole path for `.config` (`arrival.rate`), the part after
    /// `stations.K.` for `.station` (`service.mean`).
    public let key: String
    public let kind: Kind
    public let origin: Origin
    /// What every value must satisfy (the file's rule, which sweeps share).
    public let rules: [NumberRule]
    public let allowsInfinity: Bool
    /// The value when a file leaves the key out; nil when it is required (or derived).
    public let defaultValue: ConfigValue?
    /// The dataset column's name (for a station field, after `stations.K.`); nil when
    /// the field has none.
    public let column: String?
    /// The value of a row that lacks the column (a dataset written before it existed);
    /// nil when every dataset has it.
    public let columnDefault: ConfigValue?
    /// Whether sweeps (and `duet plan --vary`) may vary it.
    public let sweepable: Bool
    /// For a scv: values in (0, 1) are drawn as Erlang-k with k = round(1/scv), so a
    /// sweep records the realised 1/k.
    public let isScv: Bool

    let get: @Sendable (TandemConfig, Int) -> ConfigValue
    /// For station inputs: the same getter on a lone station, so that a reader of every
    /// column takes each station once instead of once per column.
    let getStation: (@Sendable (StationConfig) -> ConfigValue)?
    let set: (@Sendable (inout TandemConfig, Int, ConfigValue) -> Void)?
    /// For station inputs: the same setter on a lone station (the loader builds
    /// stations before the configuration).
    let setStation: (@Sendable (inout StationConfig, ConfigValue) -> Void)?

    /// The path with `K` for the station: `stations.K.servers`, `arrival.rate`.
    public var description: String { pattern }

    public var pattern: String { scope == .station ? "stations.K.\(key)" : key }

    /// The path of station `station` (0-based): `stations.2.servers`; the key itself
    /// for a configuration-wide field.
    public func path(station: Int?) -> String {
        guard scope == .station, let station else { return key }
        return "stations.\(station + 1).\(key)"
    }

    /// The column of station `station` (0-based), nil when the field has none.
    public func columnName(station: Int?) -> String? {
        guard let column else { return nil }
        guard scope == .station, let station else { return column }
        return "stations.\(station + 1).\(column)"
    }

    /// The field's value in `config` (`station` 0-based; ignored for `.config` fields).
    public func value(in config: TandemConfig, station: Int? = nil) -> ConfigValue {
        get(config, station ?? 0)
    }

    /// Sets the field; false when it cannot be set directly (derived fields, whose
    /// setting is the caller's: `SweepSpec` for `stations.K.load`).
    @discardableResult
    public func setValue(_ value: ConfigValue, in config: inout TandemConfig, station: Int? = nil) -> Bool {
        guard let set else { return false }
        set(&config, station ?? 0, value)
        return true
    }

    public static func == (a: ConfigField, b: ConfigField) -> Bool { a.scope == b.scope && a.key == b.key }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(scope)
        hasher.combine(key)
    }

    // MARK: Building entries

    init(config key: String, _ kind: Kind, _ rules: [NumberRule] = [], origin: Origin = .input,
         default defaultValue: ConfigValue? = nil, allowsInfinity: Bool = false, column: String?,
         columnDefault: ConfigValue? = nil, sweepable: Bool = true, isScv: Bool = false,
         get: @escaping @Sendable (TandemConfig) -> ConfigValue,
         set: (@Sendable (inout TandemConfig, ConfigValue) -> Void)? = nil)
    {
        self.scope = .config
        self.key = key
        self.kind = kind
        self.origin = origin
        self.rules = rules
        self.allowsInfinity = allowsInfinity
        self.defaultValue = defaultValue
        self.column = column
        self.columnDefault = columnDefault
        self.sweepable = sweepable
        self.isScv = isScv
        self.get = { config, _ in get(config) }
        self.getStation = nil
        if let set {
            self.set = { (config: inout TandemConfig, _: Int, value: ConfigValue) in set(&config, value) }
        } else {
            self.set = nil
        }
        self.setStation = nil
    }

    init(station key: String, _ kind: Kind, _ rules: [NumberRule] = [], default defaultValue: ConfigValue?,
         allowsInfinity: Bool = false, column: String? = nil, columnDefault: ConfigValue? = nil,
         sweepable: Bool = true, isScv: Bool = false,
         get: @escaping @Sendable (StationConfig) -> ConfigValue,
         set: @escaping @Sendable (inout StationConfig, ConfigValue) -> Void)
    {
        self.scope = .station
        self.key = key
        self.kind = kind
        self.origin = .input
        self.rules = rules
        self.allowsInfinity = allowsInfinity
        self.defaultValue = defaultValue
        self.column = column ?? (kind == .label ? nil : key)
        self.columnDefault = columnDefault
        self.sweepable = sweepable && kind != .label
        self.isScv = isScv
        self.get = { config, k in get(config.stations[k]) }
        self.getStation = get
        self.set = { config, k, value in set(&config.stations[k], value) }
        self.setStation = set
    }

    /// A station's derived column.
    init(derivedStation key: String, _ rules: [NumberRule], sweepable: Bool,
         get: @escaping @Sendable (TandemConfig, Int) -> ConfigValue)
    {
        self.scope = .station
        self.key = key
        self.kind = .real
        self.origin = .derived
        self.rules = rules
        self.allowsInfinity = false
        self.defaultValue = nil
        self.column = key
        self.columnDefault = nil
        self.sweepable = sweepable
        self.isScv = false
        self.get = get
        self.getStation = nil
        self.set = nil
        self.setStation = nil
    }
}

/// The table. Order matters: it is the order of dataset columns (configuration-wide
/// fields, then each station's), of a station's keys in messages, and of sweep paths
/// in did-you-mean lists.
public enum ConfigSchema {
    // MARK: Configuration-wide fields

    public static let arrivalRate = ConfigField(
        config: "arrival.rate", .real, [.greaterThan(0)], column: "arrival.rate",
        get: { .real($0.arrivalRate) }, set: { $0.interArrival.mean = 1 / $1.double })
    /// On/off rows record the process's derived inter-arrival scv.
    public static let arrivalScv = ConfigField(
        config: "arrival.scv", .real, [.atLeast(0)], default: .real(1), column: "arrival.scv", isScv: true,
        get: { .real($0.onOff == nil ? $0.interArrival.scv : $0.arrivalScv) },
        set: { $0.interArrival.scv = $1.double })
    /// Renewal rows have onFraction 1 and meanOn 0 (meanOn > 0 marks an on/off row).
    public static let arrivalOnFraction = ConfigField(
        config: "arrival.onOff.onFraction", .real, [.greaterThan(0), .atMost(1)], column: "arrival.onFraction",
        columnDefault: .real(1), get: { .real($0.onOff?.onFraction ?? 1) },
        set: { $0.onOff = OnOffSpec(onFraction: $1.double, meanOn: $0.onOff?.meanOn ?? 1) })
    public static let arrivalMeanOn = ConfigField(
        config: "arrival.onOff.meanOn", .real, [.greaterThan(0)], column: "arrival.meanOn",
        columnDefault: .real(0), get: { .real($0.onOff?.meanOn ?? 0) },
        set: { $0.onOff = OnOffSpec(onFraction: $0.onOff?.onFraction ?? 1, meanOn: $1.double) })
    /// Trace replay and Markov-modulated arrivals only (the loader and sweeps refuse it
    /// elsewhere): the traffic that many times as fast. Its rows' `arrival.rate` is the
    /// rate simulated.
    public static let arrivalRateMultiplier = ConfigField(
        config: "arrival.rateMultiplier", .real, [.greaterThan(0)], default: .real(1),
        column: "arrival.rateMultiplier", columnDefault: .real(1),
        get: { .real($0.rateMultiplier) }, set: { $0.setRateMultiplier($1.double) })
    /// Markov-modulated arrivals only (the loader and sweeps refuse it elsewhere): every
    /// mean hold of the sources that many times as long. No column: a row records its
    /// effect in `arrival.scv` (the long-run dispersion), which is what the features see.
    public static let arrivalHoldMultiplier = ConfigField(
        config: "arrival.holdMultiplier", .real, [.greaterThan(0)], default: .real(1), column: nil,
        get: { .real($0.holdMultiplier) }, set: { $0.setHoldMultiplier($1.double) })
    public static let batchDist = ConfigField(
        config: "batch.dist", .name(["deterministic", "geometric", "uniform", "empirical"]),
        default: .name("deterministic"), column: "batch.dist", get: { .name($0.batch.distName) })
    /// The file's rule is the dist's (a whole number for deterministic, ...); every
    /// dist needs >= 1.
    public static let batchMean = ConfigField(
        config: "batch.mean", .real, [.atLeast(1)], default: .real(1), column: "batch.mean",
        get: { .real($0.batch.mean) })
    public static let batchScv = ConfigField(
        config: "batch.scv", .real, origin: .derived, column: "batch.scv", sweepable: false,
        get: { .real($0.batch.scv) })

    // MARK: Station fields (`stations.K.`)

    public static let stationName = ConfigField(
        station: "name", .label, default: nil, get: { .name($0.name ?? "") },
        set: { $0.name = $1.text })
    public static let servers = ConfigField(
        station: "servers", .whole, [.atLeast(1)], default: .whole(1),
        get: { .whole($0.servers) }, set: { $0.servers = $1.int })
    public static let serviceMean = ConfigField(
        station: "service.mean", .real, [.greaterThan(0)], default: nil,
        get: { .real($0.service.mean) }, set: { $0.service.mean = $1.double })
    public static let serviceScv = ConfigField(
        station: "service.scv", .real, [.atLeast(0)], default: .real(1), isScv: true,
        get: { .real($0.service.scv) }, set: { $0.service.scv = $1.double })
    public static let setup = ConfigField(
        station: "setup", .real, [.atLeast(0)], default: .real(0),
        get: { .real($0.setup) }, set: { $0.setup = $1.double })
    public static let maxBatch = ConfigField(
        station: "maxBatch", .whole, [.atLeast(1)], default: .whole(1),
        get: { .whole($0.maxBatch) }, set: { $0.maxBatch = $1.int })
    public static let timeout = ConfigField(
        station: "timeout", .real, [.atLeast(0)], default: .real(0),
        get: { .real($0.timeout) }, set: { $0.timeout = $1.double })
    public static let coldStartMean = ConfigField(
        station: "coldStart.mean", .real, [.atLeast(0)], default: .real(0),
        get: { .real($0.coldStart.mean) }, set: { $0.coldStart.mean = $1.double })
    public static let coldStartScv = ConfigField(
        station: "coldStart.scv", .real, [.atLeast(0)], default: .real(1), isScv: true,
        get: { .real($0.coldStart.scv) }, set: { $0.coldStart.scv = $1.double })
    /// An instance idle for exactly keepAlive is still warm, so 0 is meaningful:
    /// reuse only by an invocation dispatched at the instant it frees.
    public static let keepAlive = ConfigField(
        station: "keepAlive", .real, [.atLeast(0)], default: .real(.infinity), allowsInfinity: true,
        get: { .real($0.keepAlive) }, set: { $0.keepAlive = $1.double })
    /// Offered load (`TandemConfig.offeredLoads`); a sweep sets it through the service mean.
    public static let load = ConfigField(
        derivedStation: "load", [.greaterThan(0), .lessThan(1)], sweepable: true,
        get: { config, k in .real(config.offeredLoad(station: k)) })

    /// Every configuration-wide field, in column order.
    public static let configFields: [ConfigField] = [
        arrivalRate, arrivalScv, arrivalOnFraction, arrivalMeanOn, arrivalRateMultiplier, arrivalHoldMultiplier, batchDist,
        batchMean, batchScv,
    ]

    /// Every station field, in column order.
    public static let stationFields: [ConfigField] = [
        stationName, servers, serviceMean, serviceScv, setup, maxBatch, timeout, coldStartMean, coldStartScv,
        keepAlive, load,
    ]

    /// The station keys a configuration file may write, in order: `name`, `servers`,
    /// `service`, ... (a dotted key contributes its first part once).
    public static let stationFileKeys: [String] = stationFields.filter { $0.origin == .input }
        .reduce(into: []) { keys, field in
            let first = String(field.key.split(separator: ".")[0])
            if !keys.contains(first) { keys.append(first) }
        }
}

/// A station-indexed path split: `stations.3.servers` is station 3 (1-based) and key
/// `servers`; nil when the path does not start with `stations.<number>.`.
public func splitStationPath(_ path: String) -> (number: Int, key: String)? {
    let parts = path.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0] == "stations", let number = Int(parts[1]) else { return nil }
    return (number, String(parts[2]))
}
