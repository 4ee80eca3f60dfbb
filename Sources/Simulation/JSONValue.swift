// A tiny ordered JSON value: MODEL.md's output shapes have a natural key order
// (metrics in catalogue order), which Foundation's encoders do not promise.

import Foundation

public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case integer(Int)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.serialized() == rhs.serialized() }

    /// Compact JSON text; non-finite numbers become null (JSON has no NaN).
    public func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        let newline = pretty ? "\n" + String(repeating: "  ", count: indent + 1) : ""
        let closing = pretty ? "\n" + String(repeating: "  ", count: indent) : ""
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .number(let value): out += value.isFinite ? ConfigNode.format(value) : "null"
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += (i > 0 ? "," : "") + newline
                item.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            out += closing + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                out += (i > 0 ? "," : "") + newline
                Self.writeString(key, to: &out)
                out += pretty ? ": " : ":"
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            out += closing + "}"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension SimulationReport {
    /// The one-object shape of MODEL.md.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if stable {
            func estimate(_ index: Int) -> JSONValue {
                let value = estimates[index]
                return .object([("mean", .number(value.mean)), ("ci95", value.ci95.map { .number($0) } ?? .null)])
            }
            for (i, name) in MetricCatalog.systemMetrics.enumerated() { members.append((name, estimate(i))) }
            let stations: [JSONValue] = stationNames.indices.map { station in
                var fields: [(String, JSONValue)] = [("name", stationNames[station].map { .string($0) } ?? .null)]
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
        members.append(("percentiles", .string(PercentileMethod.description)))
        members.append(("seconds", .number(seconds)))
        return .object(members)
    }
}
