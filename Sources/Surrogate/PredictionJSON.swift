// `duet predict --json`'s shape, which `POST /v1/predict` answers in too: MODEL.md's
// one object for a simulation, with the predicted metrics only and "ci95": null.

import DuetSupport
import Simulation

/// MODEL.md's one-object shape for predicted values (metrics not predicted are left out).
/// A metric with an error band also gets `"band": {"level": 0.9, "low": ..., "high": ...}`.
public func predictionJSON(_ values: [String: Double], stationNames: [String?], bands: [String: ClosedRange<Double>] = [:],
                    level: Double? = nil) -> JSON {
    let names = Array(values.keys)
    return predictionJSON(PredictionLayout(targetNames: names, stations: stationNames.count),
                          values: names.map { values[$0]! }, bands: names.map { bands[$0] },
                          stationNames: stationNames, level: level)
}

/// Where each metric of the prediction's JSON shape is among a list of target names:
/// worked out once per model, so that answering a request looks nothing up by name.
struct PredictionLayout: Sendable {
    /// MetricCatalog.systemMetrics that are targets, with their indices.
    let system: [(name: String, index: Int)]
    /// Per station (1, 2, ...), MetricCatalog.stationMetrics that are targets.
    let stations: [[(metric: String, index: Int)]]

    init(targetNames: [String], stations: Int) {
        let index = Dictionary(targetNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        system = MetricCatalog.systemMetrics.compactMap { name in index[name].map { (name, $0) } }
        self.stations = (0..<stations).map { k in
            MetricCatalog.stationMetrics.compactMap { metric in index["stations.\(k + 1).\(metric)"].map { (metric, $0) } }
        }
    }
}

/// The shape of `predictionJSON(_:stationNames:bands:level:)` for values and bands in
/// the order of the target names `layout` was made for; stations beyond the layout's
/// have no metrics.
func predictionJSON(_ layout: PredictionLayout, values: [Double], bands: [ClosedRange<Double>?],
                    stationNames: [String?], level: Double?) -> JSON {
    func estimate(_ index: Int) -> JSON {
        var fields: [JSON.Member] = [JSON.Member("mean", .number(values[index])), JSON.Member("ci95", .null)]
        if let band = bands[index], let level {
            fields.append(JSON.Member("band", .object([("level", .number(level)), ("low", .number(band.lowerBound)),
                                                       ("high", .number(band.upperBound))])))
        }
        return .object(fields)
    }
    var members = layout.system.map { JSON.Member($0.name, estimate($0.index)) }
    let stations: [JSON] = stationNames.enumerated().map { k, stationName in
        var fields = [JSON.Member("name", stationName.map { .string($0) } ?? .null)]
        if k < layout.stations.count {
            for (metric, index) in layout.stations[k] { fields.append(JSON.Member(metric, estimate(index))) }
        }
        return .object(fields)
    }
    members.append(JSON.Member("stations", .array(stations)))
    members.append(JSON.Member("predicted", .bool(true)))
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
        Surrogate.predictionJSON(predictionLayout, values: predicted, bands: bands,
                                 stationNames: config.stations.map(\.name), level: file.errorBands?.level)
    }
}
