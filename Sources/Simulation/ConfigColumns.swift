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
    public static let names: [String] =
        ["arrival.rate", "arrival.scv", "batch.dist", "batch.mean", "batch.scv"]
        + (1...2).flatMap { k in stationKeys.map { "stations.\(k).\($0)" } }

    /// The configuration's values as CSV cells, in `names` order.
    public static func cells(of config: TandemConfig) -> [String] {
        var cells = [
            format(config.arrivalRate), format(config.interArrival.scv), config.batch.distName,
            format(config.batch.mean), format(config.batch.scv),
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

    /// Numbers as CSV cells: shortest round-tripping text, `inf` for infinity.
    public static func format(_ value: Double) -> String {
        if value == .infinity { return "inf" }
        if value == -.infinity { return "-inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }

    /// Rebuilds a configuration from a row's input cells (a lookup by column name).
    /// Empirical batch sizes cannot be rebuilt from their mean alone: they come back
    /// as geometric with the same mean, which is what the surrogate's features see
    /// through `batch.mean` and `batch.scv` anyway.
    public static func config(from cell: (String) throws -> String) throws -> TandemConfig {
        func number(_ name: String) throws -> Double {
            let text = try cell(name)
            if text == "inf" { return .infinity }
            guard let value = Double(text) else {
                throw ConfigError(path: name, message: "expected a number, got \"\(text)\"")
            }
            return value
        }
        let mean = try number("batch.mean")
        let batch: BatchSizeSpec
        switch try cell("batch.dist") {
        case "deterministic": batch = .deterministic(Int(mean.rounded()))
        case "uniform": batch = .uniform(mean: mean)
        case "geometric", "empirical": batch = .geometric(mean: mean)
        case let other: throw ConfigError(path: "batch.dist", message: "unknown distribution \"\(other)\"")
        }
        var stations: [StationConfig] = []
        for k in 1...2 {
            let p = "stations.\(k)."
            stations.append(StationConfig(
                servers: Int(try number(p + "servers")),
                service: MomentSpec(mean: try number(p + "service.mean"), scv: try number(p + "service.scv")),
                setup: try number(p + "setup"), maxBatch: Int(try number(p + "maxBatch")),
                timeout: try number(p + "timeout"),
                coldStart: MomentSpec(mean: try number(p + "coldStart.mean"), scv: try number(p + "coldStart.scv")),
                keepAlive: try number(p + "keepAlive")))
        }
        return TandemConfig(arrivalRate: try number("arrival.rate"), arrivalScv: try number("arrival.scv"),
                            batch: batch, stations: stations)
    }
}
