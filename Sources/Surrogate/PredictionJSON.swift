// `duet predict --json`'s shape, which `POST /v1/predict` answers in too: MODEL.md's
// one object for a simulation, with the predicted metrics only and "ci95": null.

import DuetSupport
import Simulation

/// MODEL.md's one-object shape for predicted values (metrics not predicted are left out),
/// written by `writer`; `more` writes members of its own before the object closes (the
/// server's `"warnings"`). A metric with an error band also gets `"band": {"level": 0.9,
/// "low": ..., "high": ...}`.
public func writePrediction(_ values: [String: Double], stationNames: [String?],
                            bands: [String: ClosedRange<Double>] = [:], level: Double? = nil,
                            to writer: inout JSONWriter, more: (inout JSONWriter) -> Void = { _ in }) {
    let names = Array(values.keys)
    writePrediction(PredictionLayout(targetNames: names, stations: stationNames.count), values: names.map { values[$0]! },
                    bands: names.map { bands[$0] }, stationNames: stationNames, level: level, to: &writer, more: more)
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

/// The shape of `writePrediction(_:stationNames:bands:level:to:more:)` for values and
/// bands in the order of the target names `layout` was made for; stations beyond the
/// layout's have no metrics. Written straight into the answer's bytes: a server answers
/// thousands of these a second, and a tree of them cost it a fifth of a JSON list.
func writePrediction(_ layout: PredictionLayout, values: [Double], bands: [ClosedRange<Double>?],
                     stationNames: [String?], level: Double?, to writer: inout JSONWriter,
                     more: (inout JSONWriter) -> Void) {
    func estimate(_ index: Int) {
        writer.beginObject()
        writer.key("mean")
        writer.double(values[index])
        writer.key("ci95")
        writer.null()
        if let band = bands[index], let level {
            writer.key("band")
            writer.beginObject()
            writer.key("level")
            writer.double(level)
            writer.key("low")
            writer.double(band.lowerBound)
            writer.key("high")
            writer.double(band.upperBound)
            writer.endObject()
        }
        writer.endObject()
    }
    writer.beginObject()
    for (name, index) in layout.system {
        writer.key(name)
        estimate(index)
    }
    writer.key("stations")
    writer.beginArray()
    for (k, stationName) in stationNames.enumerated() {
        writer.beginObject()
        writer.key("name")
        if let stationName { writer.string(stationName) } else { writer.null() }
        if k < layout.stations.count {
            for (metric, index) in layout.stations[k] {
                writer.key(metric)
                estimate(index)
            }
        }
        writer.endObject()
    }
    writer.endArray()
    writer.key("predicted")
    writer.bool(true)
    more(&writer)
    writer.endObject()
}

extension SurrogateModel {
    /// `config`'s predicted metrics (`predictWithSpread`, or a row of the bulk
    /// `predictWithSpread(configs)`), with their error bands, in `writePrediction`'s shape.
    public func writePrediction(_ config: TandemConfig, prediction: SpreadPrediction, to writer: inout JSONWriter,
                                more: (inout JSONWriter) -> Void = { _ in }) {
        Surrogate.writePrediction(predictionLayout, values: prediction.values, bands: bands(config, prediction),
                                  stationNames: config.stations.map(\.name), level: file.errorBands?.level,
                                  to: &writer, more: more)
    }
}
