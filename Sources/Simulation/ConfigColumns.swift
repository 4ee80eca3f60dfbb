// A configuration as the input columns of a dataset row (MODEL.md, "dataset"):
// one column per key path, dotted and 1-based, plus each station's offered load.

/// The input columns every dataset row carries, in order.
public enum ConfigColumns {
    static let stationKeys = [
        "servers", "service.mean", "service.scv", "setup", "maxBatch", "timeout",
        "coldStart.mean", "coldStart.scv", "keepAlive", "load",
    ]

    /// Column names: `arrival.rate`, ..., `stations.2.load`. `batch.dist` holds a
    /// name; `keepAlive` may be `inf`; `stations.K.load` is derived (offered load).
    public static let names: [String] =
        ["arrival.rate", "arrival.scv", "batch.dist", "batch.mean"]
        + (1...2).flatMap { k in stationKeys.map { "stations.\(k).\($0)" } }

    /// The configuration's values as CSV cells, in `names` order.
    public static func cells(of config: TandemConfig) -> [String] {
        var cells = [
            format(config.arrivalRate), format(config.interArrival.scv), config.batch.distName,
            format(config.batch.mean),
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
}
