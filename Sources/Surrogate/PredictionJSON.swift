// `duet predict --json`'s shape, which `POST /v1/predict` answers in too: MODEL.md's
// one object for a simulation, with the predicted metrics only and "ci95": null.

import DuetSupport
import Simulation

/// MODEL.md's one-object shape for predicted values (metrics not predicted are left out).
/// A metric with an error band also gets `"band": {"level": 0.9, "low": ..., "high": ...}`.
public func predictionJSON(_ values: [String: Double], stationNames: [String?], bands: [String: ClosedRange<Double>] = [:],
                    level: Double? = nil) -> JSON {
    func estimate(_ name: String, _ value: Double) -> JSON {
        var fields: [(String, JSON)] = [("mean", .number(value)), ("ci95", .null)]
        if let band = bands[name], let level {
            fields.append(("band", .object([("level", .number(level)), ("low", .number(band.lowerBound)),
                                            ("high", .number(band.upperBound))])))
        }
        return .object(fields)
    }
    var members: [(String, JSON)] = MetricCatalog.systemMetrics.compactMap { name in
        values[name].map { (name, estimate(name, $0)) }
    }
    let stations: [JSON] = stationNames.enumerated().map { index, stationName in
        var fields: [(String, JSON)] = [("name", stationName.map { .string($0) } ?? .null)]
        for metric in MetricCatalog.stationMetrics {
            let name = "stations.\(index + 1).\(metric)"
            if let value = values[name] { fields.append((metric, estimate(name, value))) }
        }
        return .object(fields)
    }
    members.append(("stations", .array(stations)))
    members.append(("predicted", .bool(true)))
    return .object(members)
}

extension SurrogateModel {
    /// `config`'s predicted metrics, with their error bands, in `predictionJSON`'s shape.
    public func predictionJSON(_ config: TandemConfig) -> JSON {
        predictionJSON(config, prediction: predictWithSpread(config))
    }

    /// `predictionJSON(config)` for values already predicted (`predict(config)`, or a
    /// row of the bulk `predict(configs)`).
    public func predictionJSON(_ config: TandemConfig, predicted: [Double]) -> JSON {
        predictionJSON(config, bands: bands(config, predicted: predicted), predicted: predicted)
    }

    /// `predictionJSON(config)` for a prediction with its spread (`predictWithSpread`).
    public func predictionJSON(_ config: TandemConfig, prediction: SpreadPrediction) -> JSON {
        predictionJSON(config, bands: bands(config, prediction), predicted: prediction.values)
    }

    private func predictionJSON(_ config: TandemConfig, bands: [ClosedRange<Double>?], predicted: [Double]) -> JSON {
        var named: [String: ClosedRange<Double>] = [:]
        for (name, band) in zip(targetNames, bands) { named[name] = band }
        return Surrogate.predictionJSON(Dictionary(uniqueKeysWithValues: zip(targetNames, predicted)),
                                        stationNames: config.stations.map(\.name), bands: named,
                                        level: file.errorBands?.level)
    }
}
