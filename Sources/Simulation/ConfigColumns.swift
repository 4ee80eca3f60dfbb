// A configuration as the input columns of a dataset row (MODEL.md, "dataset"):
// one column per key path, dotted and 1-based, plus each station's offered load.

/// The input columns every dataset row carries, in order.
public enum ConfigColumns {
    static let stationKeys = [
        "servers", "service.mean", "service.scv", "setup", "maxBatch", "timeout",
        "coldStart.mean", "coldStart.scv", "keepAlive", "load",
    ]

    /// Column names: `arrival.rate`, ..., `stations.2.load`. `batch.dist` holds a
    /// name; `keepAlive` may be `inf`; `batch.scv` (the batch size's squared
    /// coefficient of variation) and `stations.K.load` (offered load) are derived.
    ///
    /// On/off arrivals: `arrival.onFraction` and `arrival.meanOn` are the process's
    /// parameters, and `arrival.scv` is then its derived inter-arrival scv. Renewal
    /// rows have onFraction 1 and meanOn 0, so meanOn > 0 marks an on/off row.
    public static let names: [String] =
        ["arrival.rate", "arrival.scv", "arrival.onFraction", "arrival.meanOn", "batch.dist", "batch.mean", "batch.scv"]
        + (1...2).flatMap { k in stationKeys.map { "stations.\(k).\($0)" } }

    /// Columns that datasets written before them lack; such rows are renewal arrivals.
    public static let optionalNames: Set<String> = ["arrival.onFraction", "arrival.meanOn"]

    /// The columns every dataset has, old ones too.
    public static var requiredNames: [String] { names.filter { !optionalNames.contains($0) } }

    /// The configuration's values as CSV cells, in `names` order.
    public static func cells(of config: TandemConfig) -> [String] {
        var cells = [
            format(config.arrivalRate), format(config.onOff == nil ? config.interArrival.scv : config.arrivalScv),
            format(config.onOff?.onFraction ?? 1), format(config.onOff?.meanOn ?? 0),
            config.batch.distName, format(config.batch.mean), format(config.batch.scv),
        ]
        let loads = config.offeredLoads
        for (index, station) in config.stations.enumerated() {
            cells += [
                String(station.servers), format(station.service.mean), format(station.service.scv),
                format(station.setup), String(station.maxBatch), format(station.timeout),
                format(station.coldStart.mean), format(station.coldStart.scv), format(station.keepAlive),
                format(loads[index]),
            ]
        }
        return cells
    }

    /// The configuration as a dataset row records it, rebuilt: for a trace replay, the
    /// renewal description of its rows (the trace's rate, scv and batch moments),
    /// which is what a surrogate trained on a sweep over the trace saw.
    public static func datasetView(_ config: TandemConfig) throws -> TandemConfig {
        let cells = Dictionary(uniqueKeysWithValues: zip(names, cells(of: config)))
        var view = try self.config { cells[$0] }
        view.run = config.run
        return view
    }

    /// Numbers as CSV cells: shortest round-tripping text, `inf` for infinity.
    public static func format(_ value: Double) -> String {
        if value == .infinity { return "inf" }
        if value == -.infinity { return "-inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }

    /// Rebuilds the configuration of a dataset row; a bad cell is a `DatasetError`
    /// naming the row, the column, the text and what was expected.
    public static func config(row: DatasetRow) throws -> TandemConfig {
        do {
            return try config { row[$0] }
        } catch let error as ConfigError {
            throw DatasetError(source: row.source, row: row.number, column: error.path.isEmpty ? nil : error.path,
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
        func number(_ name: String) throws -> Double {
            let text = try text(name)
            if text == "inf" { return .infinity }
            guard let value = Double(text), !value.isNaN else {
                throw ConfigError(path: name, message: text.isEmpty ? "expected a number, got an empty cell"
                                                                    : "expected a number, got \"\(text)\"")
            }
            return value
        }
        // A whole number >= 1 that fits an Int (servers, maxBatch, a deterministic
        // batch size): `Int(_:)` on a Double traps for nan, infinities and huge values.
        func count(_ name: String) throws -> Int {
            let text = try text(name)
            guard let value = Double(text), value >= 1, value == value.rounded(), let whole = Int(exactly: value)
            else {
                let got = text.isEmpty ? "an empty cell" : "\"\(text)\""
                throw ConfigError(path: name, message: "expected a whole number >= 1 (at most \(Int.max)), got \(got)")
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
        var stations: [StationConfig] = []
        for k in 1...2 {
            let p = "stations.\(k)."
            stations.append(StationConfig(
                servers: try count(p + "servers"),
                service: MomentSpec(mean: try number(p + "service.mean"), scv: try number(p + "service.scv")),
                setup: try number(p + "setup"), maxBatch: try count(p + "maxBatch"),
                timeout: try number(p + "timeout"),
                coldStart: MomentSpec(mean: try number(p + "coldStart.mean"), scv: try number(p + "coldStart.scv")),
                keepAlive: try number(p + "keepAlive")))
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
