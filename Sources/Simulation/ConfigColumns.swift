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
        var values: [ConfigValue] = []
        values.reserveCapacity(configColumnGetters.count + config.stations.count * stationColumnGetters.count)
        forEachValue(of: config) { values.append($0) }
        return values
    }

    /// `values(of:)` one by one, in the same order, without the array (the domain
    /// check of every predicted row reads them so).
    public static func forEachValue(of config: TandemConfig, _ body: (ConfigValue) -> Void) {
        for get in configColumnGetters { body(get(config, 0)) }
        for (k, station) in config.stations.enumerated() {
            for getter in stationColumnGetters {
                switch getter {
                case .station(let get): body(get(station))
                case .chain(let get): body(get(config, k))
                }
            }
        }
    }

    // The fields' getters alone: a `ConfigField` is large, and copying one per cell
    // (as iterating the fields does) was most of the cost of a domain check. A station
    // input reads the station it is given (taken once for all its columns); a derived
    // column (its load) reads the chain.
    private enum StationColumnGetter {
        case station(@Sendable (StationConfig) -> ConfigValue)
        case chain(@Sendable (TandemConfig, Int) -> ConfigValue)
    }

    private static let configColumnGetters = configColumnFields.map(\.get)
    private static let stationColumnGetters: [StationColumnGetter] = stationColumnFields.map { field in
        field.getStation.map { .station($0) } ?? .chain(field.get)
    }

    /// A station's input fields that have a column, and their column names for each
    /// station a configuration may have (and one past, where a reader stops), built once.
    static let stationInputFields = ConfigSchema.stationFields.filter { $0.origin == .input && $0.column != nil }
    private static let stationInputNamesByStation: [[String]] = (0...ConfigLoader.stationCounts.upperBound).map { k in
        stationInputFields.map { $0.columnName(station: k)! }
    }

    private static let stationInputSetters = stationInputFields.map { field in field.setStation ?? { _, _ in } }

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
        let names = names(of: config)
        let positions = Dictionary(uniqueKeysWithValues: zip(names, names.indices))
        var view = try self.config(cells: cells(of: config), layout: Layout { positions[$0] })
        view.run = config.run
        return view
    }

    /// Numbers as CSV cells: shortest round-tripping text, `inf` for infinity.
    public static func format(_ value: Double) -> String { numberText(value, infinity: infinityCell) }

    /// How a dataset cell writes infinity.
    public static let infinityCell = "inf"

    /// Rebuilds the configuration of a dataset row; a bad cell is a `DataFileError`
    /// naming the row, the column, the text and what was expected.
    public static func config(row: DatasetRow) throws -> TandemConfig {
        try config(cells: row.cells, layout: row.columns.configLayout, source: row.source, row: row.number)
    }

    /// `config(cells:layout:)` with a bad cell as a `DataFileError` naming its row.
    static func config(cells: some ConfigCells, layout: Layout, source: String, row: Int) throws -> TandemConfig {
        do {
            return try config(cells: cells, layout: layout)
        } catch let error as ConfigError {
            throw DataFileError(source: source, row: row, column: error.path.isEmpty ? nil : error.path,
                               message: error.message)
        }
    }

    /// Where a configuration's input columns sit in a header: found once, so that rows,
    /// read by the thousand (datasets, CSV requests), are read by position, not by name.
    public struct Layout: Sendable {
        let positions: [String: Int]
        /// Each station's `stationInputFields` positions: station 1, then every station
        /// the header has a column of.
        let stations: [[Int?]]

        /// `position` gives a column's index in the cells, nil when it is absent.
        public init(position: (String) -> Int?) {
            var stations: [[Int?]] = []
            // One past the longest chain at most: a reader stops there (the loader refuses longer ones).
            while stations.count <= ConfigLoader.stationCounts.upperBound {
                let slots = stationInputNames(station: stations.count).map(position)
                guard stations.isEmpty || slots.contains(where: { $0 != nil }) else { break }
                stations.append(slots)
            }
            self.stations = stations
            positions = Dictionary(uniqueKeysWithValues: ConfigColumns.configColumnFields.compactMap { field in
                field.columnName(station: nil).flatMap { name in position(name).map { (name, $0) } }
            })
        }
    }

    /// Rebuilds a configuration from a row's input cells (a lookup by column name,
    /// nil when the column is absent: only `optionalNames` may be).
    public static func config(from cell: (String) throws -> String?) throws -> TandemConfig {
        var cells: [String] = []
        var positions: [String: Int] = [:]
        let candidates = configColumnFields.compactMap { $0.columnName(station: nil) }
            + (0...ConfigLoader.stationCounts.upperBound).flatMap(stationInputNames(station:))
        for name in candidates {
            if let text = try cell(name) {
                positions[name] = cells.count
                cells.append(text)
            }
        }
        return try config(cells: cells, layout: Layout { positions[$0] })
    }

    /// Rebuilds a configuration from a row's cells, found through `layout`.
    /// Empirical batch sizes cannot be rebuilt from their mean alone: they come back
    /// as geometric with the same mean, which is what the surrogate's features see
    /// through `batch.mean` and `batch.scv` anyway.
    public static func config(cells: some ConfigCells, layout: Layout) throws -> TandemConfig {
        func position(_ name: String) throws -> Int {
            guard let position = layout.positions[name] else {
                throw ConfigError(path: name, message: "no such column in the dataset")
            }
            return position
        }
        func text(_ name: String) throws -> String { cells.text(at: try position(name)) }
        // A number, `inf` included; `nan` (a float's word, not a value) and empty
        // cells are errors.
        func number(_ name: String) throws -> Double { try number(name, at: try position(name)) }
        func number(_ name: String, at position: Int) throws -> Double {
            guard let value = cells.number(at: position), !value.isNaN else {
                let text = cells.text(at: position)
                throw ConfigError(path: name, message: text.isEmpty ? "expected a number, got an empty cell"
                                                                    : "expected a number, got \"\(text)\"")
            }
            return value
        }
        // A whole number >= 1 that fits an Int (servers, maxBatch, a deterministic
        // batch size): `Int(_:)` on a Double traps for nan, infinities and huge values.
        func count(_ name: String, _ rules: [NumberRule] = [.atLeast(1)]) throws -> Int {
            try count(name, at: try position(name), rules)
        }
        func count(_ name: String, at position: Int, _ rules: [NumberRule]) throws -> Int {
            guard let value = cells.number(at: position), rules.allSatisfy({ $0.admits(value) }),
                  value == value.rounded(), let whole = Int(exactly: value)
            else {
                let text = cells.text(at: position)
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
        // Station 1 always (its missing columns are errors), then every station the
        // header has a column of.
        var stations: [StationConfig] = []
        stations.reserveCapacity(layout.stations.count)
        for (k, slots) in layout.stations.enumerated() {
            let names = stationInputNames(station: k)
            var station = StationConfig(service: MomentSpec(mean: 1))
            // Fields by index: copying a `ConfigField` for each cell costs more than reading it.
            for index in stationInputFields.indices {
                let value: ConfigValue
                if let position = slots[index] {
                    value = stationInputFields[index].kind == .whole
                        ? .whole(try count(names[index], at: position, stationInputFields[index].rules))
                        : .real(try number(names[index], at: position))
                } else if let fallback = stationInputFields[index].columnDefault {
                    value = fallback
                } else {
                    throw ConfigError(path: names[index], message: "no such column in the dataset")
                }
                stationInputSetters[index](&station, value)
            }
            stations.append(station)
        }
        // Absent or empty on/off columns (older datasets) mean renewal arrivals.
        func optionalNumber(_ name: String) throws -> Double? {
            guard let position = layout.positions[name], !cells.isEmpty(at: position) else { return nil }
            return try number(name, at: position)
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

/// A row's cells as `ConfigColumns.config(cells:layout:)` reads them, by position.
/// Text rows (`[String]`) and rows still in a request's bytes (`PlainCSVRow`) both
/// are: the second reads numbers without making text of them.
public protocol ConfigCells {
    /// The cell's text (a batch family's name; a bad cell's text in a message).
    func text(at position: Int) -> String
    /// The cell as `Double(String)` reads it (`inf` and `nan` included), nil when it
    /// is not a number.
    func number(at position: Int) -> Double?
    func isEmpty(at position: Int) -> Bool
}

extension Array: ConfigCells where Element == String {
    public func text(at position: Int) -> String { self[position] }
    public func number(at position: Int) -> Double? { Double(self[position]) }
    public func isEmpty(at position: Int) -> Bool { self[position].isEmpty }
}
