// A configuration as the input columns of a dataset row (MODEL.md, "dataset"):
// one column per key path, dotted and 1-based, plus each station's offered load.

import DuetSupport

/// The input columns every dataset row carries, in order: the columns of
/// `ConfigSchema`'s fields, configuration-wide ones first, then each station's.
public enum ConfigColumns {
    /// Column names for a configuration of `stations` stations: `arrival.rate`, ...,
    /// `stations.1.servers`, ..., `stations.N.load`. `batch.dist` holds a name;
    /// `keepAlive` may be `inf`; `batch.scv` (the batch size's squared coefficient of
    /// variation) and `stations.K.load` (offered load) are derived.
    ///
    /// On/off arrivals: `arrival.onFraction` and `arrival.meanOn` are the process's
    /// parameters, and `arrival.scv` is then its derived inter-arrival scv. Renewal
    /// rows have onFraction 1 and meanOn 0, so meanOn > 0 marks an on/off row.
    public static func names(stations: Int) -> [String] {
        ConfigSchema.configFields.compactMap { $0.columnName(station: nil) }
            + (0..<stations).flatMap { k in ConfigSchema.stationFields.compactMap { $0.columnName(station: k) } }
    }

    /// The columns of a two-station configuration (the surrogate's inputs).
    public static let names: [String] = names(stations: 2)

    /// The columns of `config`'s stations.
    public static func names(of config: TandemConfig) -> [String] { names(stations: config.stations.count) }

    /// Columns that datasets written before them lack; such rows take the field's
    /// `columnDefault` (renewal arrivals, for the on/off columns).
    public static func optionalNames(stations: Int) -> Set<String> {
        Set(ConfigSchema.configFields.filter { $0.columnDefault != nil }.compactMap { $0.columnName(station: nil) }
            + (0..<stations).flatMap { k in
                ConfigSchema.stationFields.filter { $0.columnDefault != nil }.compactMap { $0.columnName(station: k) }
            })
    }

    /// The optional columns of a two-station dataset.
    public static let optionalNames: Set<String> = optionalNames(stations: 2)

    /// The columns every dataset has, old ones too.
    public static var requiredNames: [String] { names.filter { !optionalNames.contains($0) } }

    /// The configuration's values as CSV cells, in `names(of: config)` order.
    public static func cells(of config: TandemConfig) -> [String] {
        values(of: config).map(\.description)
    }

    /// The configuration's values, in `names(of: config)` order (typed: no number is
    /// written as text and read back, for readers on a hot path such as the domain check).
    public static func values(of config: TandemConfig) -> [ConfigValue] {
        var values = configColumnFields.map { $0.value(in: config) }
        values.reserveCapacity(values.count + config.stations.count * stationColumnFields.count)
        for k in config.stations.indices {
            for field in stationColumnFields { values.append(field.value(in: config, station: k)) }
        }
        return values
    }

    /// A station's input fields that have a column, and their column names for each
    /// station a configuration may have (and one past, where a reader stops), built once.
    static let stationInputFields = ConfigSchema.stationFields.filter { $0.origin == .input && $0.column != nil }
    private static let stationInputNamesByStation: [[String]] = (0...ConfigLoader.stationCounts.upperBound).map { k in
        stationInputFields.map { $0.columnName(station: k)! }
    }

    static func stationInputNames(station k: Int) -> [String] {
        k < stationInputNamesByStation.count ? stationInputNamesByStation[k]
            : stationInputFields.map { $0.columnName(station: k)! }
    }

    /// The fields that have a column, configuration-wide and per station, in column order.
    static let configColumnFields = ConfigSchema.configFields.filter { $0.column != nil }
    static let stationColumnFields = ConfigSchema.stationFields.filter { $0.column != nil }

    /// The configuration as a dataset row records it, rebuilt: for a trace replay, the
    /// renewal description of its rows (the trace's rate, scv and batch moments),
    /// which is what a surrogate trained on a sweep over the trace saw.
    public static func datasetView(_ config: TandemConfig) throws -> TandemConfig {
        let cells = Dictionary(uniqueKeysWithValues: zip(names(of: config), cells(of: config)))
        var view = try self.config { cells[$0] }
        view.run = config.run
        return view
    }

    /// Numbers as CSV cells: shortest round-tripping text, `inf` for infinity.
    public static func format(_ value: Double) -> String { numberText(value, infinity: "inf") }

    /// Rebuilds the configuration of a dataset row; a bad cell is a `DataFileError`
    /// naming the row, the column, the text and what was expected.
    public static func config(row: DatasetRow) throws -> TandemConfig {
        do {
            return try config { row[$0] }
        } catch let error as ConfigError {
            throw DataFileError(source: row.source, row: row.number, column: error.path.isEmpty ? nil : error.path,
                               message: error.message)
        }
    }

    /// Rebuilds a configuration from a row's input cells (a lookup by column name,
    /// nil when the column is absent: only `optionalNames` may be).
    /// Empirical batch sizes cannot be rebuilt from their mean alone: they come back
    /// as geometric with the same mean, which is what the surrogate's features see
    /// through `batch.mean` and `batch.scv` anyway.
    public static func config(from cell: (String) throws -> String?) throws -> TandemConfig {
        func text(_ name: String) throws -> String {
            guard let text = try cell(name) else {
                throw ConfigError(path: name, message: "no such column in the dataset")
            }
            return text
        }
        // A number, `inf` included; `nan` (a float's word, not a value) and empty
        // cells are errors.
        func number(_ name: String) throws -> Double { try number(name, text: try text(name)) }
        func number(_ name: String, text: String) throws -> Double {
            if text == "inf" { return .infinity }
            guard let value = Double(text), !value.isNaN else {
                throw ConfigError(path: name, message: text.isEmpty ? "expected a number, got an empty cell"
                                                                    : "expected a number, got \"\(text)\"")
            }
            return value
        }
        // A whole number >= 1 that fits an Int (servers, maxBatch, a deterministic
        // batch size): `Int(_:)` on a Double traps for nan, infinities and huge values.
        func count(_ name: String, _ rules: [NumberRule] = [.atLeast(1)]) throws -> Int {
            try count(name, text: try text(name), rules)
        }
        func count(_ name: String, text: String, _ rules: [NumberRule]) throws -> Int {
            guard let value = Double(text), rules.allSatisfy({ $0.admits(value) }), value == value.rounded(),
                  let whole = Int(exactly: value)
            else {
                let got = text.isEmpty ? "an empty cell" : "\"\(text)\""
                let bounds = rules.map(\.description).joined(separator: " and ")
                throw ConfigError(path: name, message: "expected a whole number \(bounds) (at most \(Int.max)), got \(got)")
            }
            return whole
        }
        let mean = try number("batch.mean")
        guard mean >= 1, mean.isFinite else {
            throw ConfigError(path: "batch.mean", message: "expected a finite number >= 1 (jobs per batch), got \"\(try text("batch.mean"))\"")
        }
        let batch: BatchSizeSpec
        switch try text("batch.dist") {
        case "deterministic": batch = .deterministic(try count("batch.mean"))
        case "uniform": batch = .uniform(mean: mean)
        case "geometric", "empirical": batch = .geometric(mean: mean)
        case let other: throw ConfigError(path: "batch.dist", message: "unknown distribution \"\(other)\"")
        }
        // As many stations as the row has columns for; each station's inputs through the
        // table, each cell looked up once (rows are read by the thousand: datasets, CSV
        // requests).
        var stations: [StationConfig] = []
        while true {
            let names = stationInputNames(station: stations.count)
            let cells = try names.map { try cell($0) }
            // Station 1 always (its missing columns are errors), then every station with a column.
            guard stations.isEmpty || cells.contains(where: { $0 != nil }) else { break }
            var station = StationConfig(service: MomentSpec(mean: 1))
            for (index, field) in stationInputFields.enumerated() {
                let name = names[index]
                let value: ConfigValue
                if let text = cells[index] {
                    value = field.kind == .whole ? .whole(try count(name, text: text, field.rules))
                        : .real(try number(name, text: text))
                } else if let fallback = field.columnDefault {
                    value = fallback
                } else {
                    throw ConfigError(path: name, message: "no such column in the dataset")
                }
                field.setStation?(&station, value)
            }
            stations.append(station)
        }
        // Absent or empty on/off columns (older datasets) mean renewal arrivals.
        func optionalNumber(_ name: String) throws -> Double? {
            guard let text = try cell(name), !text.isEmpty else { return nil }
            return try number(name)
        }
        let rate = try number("arrival.rate")
        let meanOn = try optionalNumber("arrival.meanOn") ?? 0
        guard meanOn > 0 else {
            return TandemConfig(arrivalRate: rate, arrivalScv: try number("arrival.scv"), batch: batch,
                                stations: stations)
        }
        let onFraction = try optionalNumber("arrival.onFraction") ?? 1
        guard onFraction > 0, onFraction <= 1 else {
            throw ConfigError(path: "arrival.onFraction", message: "must be > 0 and <= 1, got \(format(onFraction))")
        }
        // arrival.scv is derived from the on/off parameters here, so it is not read.
        return TandemConfig(arrivalRate: rate, onOff: OnOffSpec(onFraction: onFraction, meanOn: meanOn),
                            batch: batch, stations: stations)
    }
}
