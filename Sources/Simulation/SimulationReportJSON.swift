// What `duet simulate --json` prints: MODEL.md's one-object shape of a report, metrics
// in catalogue order (an ordered `JSON`, which Foundation's encoders do not promise).

import DuetSupport

extension SimulationReport {
    /// The one-object shape of MODEL.md.
    public var json: JSON {
        var members: [(String, JSON)] = []
        if stable {
            func estimate(_ index: Int) -> JSON {
                let value = estimates[index]
                return .object([("mean", .number(value.mean)), ("ci95", value.ci95.map { .number($0) } ?? .null)])
            }
            for (i, name) in MetricCatalog.systemMetrics.enumerated() { members.append((name, estimate(i))) }
            let stations: [JSON] = stationNames.indices.map { station in
                var fields: [(String, JSON)] = [("name", stationNames[station].map { .string($0) } ?? .null)]
                for (m, name) in MetricCatalog.stationMetrics.enumerated() {
                    fields.append((name, estimate(MetricCatalog.stationIndex(station, m))))
                }
                return .object(fields)
            }
            members.append(("stations", .array(stations)))
        }
        members.append(("jobs", .integer(jobs)))
        members.append(("replications", .integer(replications)))
        members.append(("stable", .bool(stable)))
        if let reason = unstableReason { members.append(("reason", .string(reason))) }
        if let target = precisionTarget {
            members.append(("precision", .number(target)))
            members.append(("precisionMet", .bool(precisionMet ?? false)))
        }
        if controlVariates { members.append(("controlVariates", .bool(true))) }
        members.append(("percentiles", .string(PercentileMethod.description)))
        members.append(("seconds", .number(seconds)))
        return .object(members)
    }
}
