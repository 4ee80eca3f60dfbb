// What `duet serve` answers, without HTTP: request bodies in, JSON text out, errors
// as `ServeError`s that name the key at fault. The routes (ServeRouter.swift) only
// read bodies and call these.

import DuetSupport
import Foundation
import Search
import Simulation
import Surrogate

/// Limits and access of a server; the defaults are those of `duet serve`.
public struct ServeOptions: Sendable {
    /// The bearer token every route but `/healthz` requires; nil: none (loopback only).
    public var token: String?
    /// The largest request body accepted, in bytes (413 above).
    public var bodyLimit: Int
    /// The most configurations one `POST /v1/predict` may list.
    public var maxBatch: Int
    /// The most combinations one `POST /v1/plan` may search (it predicts each one).
    public var maxPlanCombinations: Int

    public init(token: String? = nil, bodyLimit: Int = 8 << 20, maxBatch: Int = 100_000,
                maxPlanCombinations: Int = 200_000) {
        self.token = token
        self.bodyLimit = bodyLimit
        self.maxBatch = maxBatch
        self.maxPlanCombinations = maxPlanCombinations
    }
}

/// A request the server refuses, with the HTTP status and the JSON path at fault
/// (dotted and 1-based as in configuration errors: `stations.2.servers`, or
/// `3.stations.2.servers` for the third configuration of a list).
public struct ServeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The HTTP status: 400, or 413 for a body too large, 401, 404, 500.
    public var statusCode: Int
    public var path: String
    public var message: String

    public init(status: Int = 400, path: String, message: String) {
        statusCode = status
        self.path = path
        self.message = message
    }

    public init(_ error: ConfigError, status: Int = 400) {
        self.init(status: status, path: error.path, message: error.message)
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    /// `{"error": {"status": 400, "path": "...", "message": "..."}}`.
    public var json: JSON {
        .object([("error", .object([("status", .integer(statusCode)), ("path", .string(path)), ("message", .string(message))]))])
    }
}

public final class PredictionService: Sendable {
    public let model: SurrogateModel
    /// The model file's name as shown by `GET /v1/model` (not its full path).
    public let modelName: String
    public let options: ServeOptions
    public let metrics: ServeMetrics

    public init(model: SurrogateModel, modelName: String, options: ServeOptions = ServeOptions(),
                metrics: ServeMetrics = ServeMetrics()) {
        self.model = model
        self.modelName = modelName
        self.options = options
        self.metrics = metrics
    }

    // MARK: POST /v1/predict

    /// One configuration (a JSON object) or a list of them (a JSON array), answered in
    /// `duet predict --json`'s shape (a list for a list), each with `"warnings"` naming
    /// the keys outside the model's domain. A list is predicted in one pass through the
    /// network (`SurrogateModel.predict(_:threads:)`).
    public func predict(body: some Collection<UInt8>) throws -> [UInt8] {
        let root = try Self.document(body)
        if case .sequence = root.kind {
            let items = try wrap { try root.sequence() }
            guard !items.isEmpty else { throw ServeError(path: "", message: "an empty list; give at least one configuration") }
            guard items.count <= options.maxBatch else {
                throw ServeError(path: "", message: "\(items.count) configurations; at most \(options.maxBatch) per request")
            }
            let configs = try items.map { try configuration($0) }
            // One thread: concurrent requests are the server's parallelism.
            let predicted = model.composesStations ? nil : model.predictWithSpread(configs, threads: 1)
            var writer = JSONWriter(capacity: Self.answerBytes * configs.count, numbers: .plain)
            writer.beginArray()
            for (index, config) in configs.enumerated() { writeAnswer(config, predicted?[index], to: &writer) }
            writer.endArray()
            return writer.bytes
        }
        let config = try configuration(root)
        var writer = JSONWriter(capacity: Self.answerBytes, numbers: .plain)
        writeAnswer(config, model.composesStations ? nil : model.predictWithSpread(config), to: &writer)
        return writer.bytes
    }

    /// Room for one configuration's answer: an ensemble's, with bands and a warning, is
    /// about 1.3 KB (at 1 KB every answer outgrew its buffer and was copied once).
    static let answerBytes = 2048

    /// One configuration's answer: its prediction (nil for a model composed along chains,
    /// which predicts as it writes).
    private func writeAnswer(_ config: TandemConfig, _ predicted: SpreadPrediction?, to writer: inout JSONWriter) {
        if let predicted { writePrediction(config, predicted, to: &writer) } else { writeComposedPrediction(config, to: &writer) }
    }

    /// A model composed along chains (`duet train --per-station`): the chain's means,
    /// station by station, without percentiles or bands, as `duet predict --json` gives them.
    private func writeComposedPrediction(_ config: TandemConfig, to writer: inout JSONWriter) {
        let warnings = model.chainDomainWarnings(config)
        metrics.predicted(rows: 1, outOfDomain: warnings.isEmpty ? 0 : 1)
        let values = Dictionary(uniqueKeysWithValues: zip(model.chainTargetNames(stations: config.stations.count),
                                                           model.predictChain(config)))
        Surrogate.writePrediction(values, stationNames: config.stations.map(\.name), to: &writer) {
            Self.writeWarnings(warnings, to: &$0)
        }
    }

    /// The answer's `"warnings"`: the keys outside the model's domain.
    private static func writeWarnings(_ warnings: [String], to writer: inout JSONWriter) {
        writer.key("warnings")
        writer.beginArray()
        for warning in warnings { writer.string(warning) }
        writer.endArray()
    }

    /// `predict(body:)` for a body given as text, answered as text.
    public func predict(body: String) throws -> String { String(decoding: try predict(body: body.utf8), as: UTF8.self) }

    /// Configurations in bulk as CSV (`Content-Type: text/csv`): a header naming
    /// dataset input columns, then one configuration per row, as `duet predict --csv`
    /// reads them (a dataset `duet sweep` wrote works as it is: its other columns are
    /// not read). Answered as CSV: `row` (the 1-based data row), the model's targets,
    /// and `outOfDomain`, the number of warnings the JSON answer would list for the
    /// row. No bands and no per-key messages: this is the path for many rows, where
    /// the JSON answer's text is most of the work. An error names the row and column
    /// (path `ROW.COLUMN`, as `3.stations.2.servers` in a JSON list).
    public func predictCSV(body: some Collection<UInt8>) throws -> [UInt8] {
        if model.composesStations {
            throw ServeError(path: "", message: "CSV is not answered for a model composed along chains "
                                 + "(duet train --per-station); send the configurations as JSON")
        }
        let rows: [(number: Int, config: TandemConfig)]
        do {
            rows = try DatasetTable.configs(bytes: body, source: "body")
        } catch let error as DataFileError {
            throw ServeError(path: Self.csvPath(error), message: error.message)
        }
        guard !rows.isEmpty else { throw ServeError(path: "", message: "no rows; give at least one configuration") }
        guard rows.count <= options.maxBatch else {
            throw ServeError(path: "", message: "\(rows.count) configurations; at most \(options.maxBatch) per request")
        }
        for (number, config) in rows {
            do {
                try model.checkStations(config)
            } catch let error as ChainLengthError {
                throw ServeError(path: "\(number)", message: error.description)
            }
        }
        let configs = rows.map(\.config)
        // One thread: concurrent requests are the server's parallelism.
        let (predicted, warnings) = model.predictWithDomainWarnings(configs, threads: 1)
        let outOfDomain = warnings.map(\.count)
        metrics.predicted(rows: configs.count, outOfDomain: outOfDomain.filter { $0 > 0 }.count)
        var text = Array(((["row"] + model.targetNames + ["outOfDomain"]).joined(separator: ",") + "\n").utf8)
        text.reserveCapacity(text.count + configs.count * 20 * (model.targetNames.count + 2))
        for (index, row) in rows.enumerated() {
            text.appendDecimal(row.number)
            for value in predicted[index] {
                text.append(UInt8(ascii: ","))
                text.appendNumberText(value, infinity: ConfigColumns.infinityCell)  // as `ConfigColumns.format`
            }
            text.append(UInt8(ascii: ","))
            text.appendDecimal(outOfDomain[index])
            text.append(UInt8(ascii: "\n"))
        }
        return text
    }

    /// A data-file error's place as a request path: `ROW.COLUMN`, `ROW` or `COLUMN`.
    static func csvPath(_ error: DataFileError) -> String {
        [error.row.map(String.init), error.column].compactMap { $0 }.joined(separator: ".")
    }

    private func writePrediction(_ config: TandemConfig, _ prediction: SpreadPrediction, to writer: inout JSONWriter) {
        let warnings = model.domainWarnings(config)
        metrics.predicted(rows: 1, outOfDomain: warnings.isEmpty ? 0 : 1)
        model.writePrediction(config, prediction: prediction, to: &writer) { Self.writeWarnings(warnings, to: &$0) }
    }

    /// A configuration as `duet predict` takes it: read by `ConfigLoader`, a chain of
    /// the model's length, no trace file (a request must not name files on the server).
    func configuration(_ node: ConfigNode) throws -> TandemConfig {
        if node.kind == .mapping, let arrival = try? node.mapping()["arrival"], arrival.kind == .mapping,
           let trace = try? arrival.mapping()["trace"], !trace.isNull {
            throw ServeError(path: trace.path, message: "a trace file is not read over HTTP; give arrival.rate and arrival.scv")
        }
        let config = try wrap { try ConfigLoader.config(from: node) }
        // A model predicts chains of its own length (as `duet predict`; `predict` traps
        // otherwise), or of any length when it composes along chains.
        guard !model.composesStations else { return config }
        do {
            try model.checkStations(config)
        } catch let error as ChainLengthError {
            throw ServeError(path: Self.join(node.path, "stations"), message: error.description)
        }
        return config
    }

    // MARK: POST /v1/plan

    /// `{"base": CONFIG, "slo": ["p95Response<=2"], "vary": ["stations.2.servers=1..64"], "top": 10}`,
    /// answered in `duet plan --json`'s shape.
    public func plan(body: String) throws -> String {
        let root = try Self.document(body)
        let request = try wrap { try root.mapping(allowedKeys: ["base", "slo", "vary", "top"]) }
        let base = try configuration(try wrap { try request.require("base") })
        let objectives = try strings(request, "slo", required: false).map { node, text throws in
            guard let objective = ServiceLevelObjective(text: text) else {
                throw ServeError(path: node.path, message: "expected metric<=bound (or <, >=, >), e.g. \"p95Response<=2.0\", got \"\(text)\"")
            }
            if let problem = PlanSearch.problem(objective, model: model, stations: base.stations.count) {
                throw ServeError(path: node.path, message: problem)
            }
            return objective
        }
        let axes = try strings(request, "vary", required: true).map { node, text throws in
            guard let axis = PlanGrid.Axis(argument: text) else {
                throw ServeError(path: node.path, message: "expected path=1..64, path=0.1..1/10 or path=a,b,c, got \"\(text)\"")
            }
            return axis
        }
        guard !axes.isEmpty else { throw ServeError(path: "vary", message: "an empty list; give at least one path=values") }
        let top = try wrap { try request["top"].map { try $0.int(rules: [.atLeast(1), .atMost(1000)]) } ?? 10 }
        let combinations = axes.reduce(1.0) { $0 * Double($1.values.count) }
        guard combinations <= Double(options.maxPlanCombinations) else {
            throw ServeError(path: "vary", message: "\(ConfigNode.format(combinations)) combinations; at most "
                                 + "\(options.maxPlanCombinations) per request")
        }
        let grid: PlanGrid
        do {
            grid = try PlanGrid(base: base, axes: axes)
        } catch let error as ConfigError {
            // PlanGrid names the axis as the command line does (`--vary PATH`): name its item.
            let item = axes.firstIndex { error.path.hasPrefix("--vary \($0.path)") }
            throw ServeError(path: item.map { "vary.\($0 + 1)" } ?? "vary", message: error.description)
        } catch {
            throw ServeError(status: 500, path: "", message: "\(error)")
        }
        // One thread: concurrent requests are the server's parallelism.
        let plan = PlanSearch(model: model, grid: grid, objectives: objectives, top: top, threads: 1)
        metrics.predicted(rows: plan.searched - plan.infeasible, outOfDomain: 0)
        return plan.json(model: model).text(numbers: .plain)
    }

    /// The strings of a list (`slo`, `vary`), each with its node for errors.
    private func strings(_ mapping: ConfigMapping, _ key: String, required: Bool) throws -> [(ConfigNode, String)] {
        try wrap {
            guard let node = mapping[key] else {
                if required { throw mapping.error(key, "required: a list of strings") }
                return []
            }
            return try node.sequence().map { item in
                (item, try item.string())
            }
        }
    }

    // MARK: GET /v1/model

    /// The model's targets, features, domain, training metrics and versions.
    public func modelDescription() -> String {
        let file = model.file
        var domain: [(String, JSON)] = [("documented", file.domain.map { .string($0) } ?? .null)]
        domain.append(("training", .object(file.inputDomain.columns.sorted { $0.key < $1.key }.map { name, range in
            switch range {
            case .numeric(let low, let high): return (name, .array([.number(low), .number(high)]))
            case .categorical(let values): return (name, .array(values.sorted().map { .string($0) }))
            }
        })))
        let metrics: JSON = .object(file.metrics.sorted { $0.key < $1.key }.map { split, values in
            (split, .object(values.sorted { $0.key < $1.key }.map { ($0, .number($1)) }))
        })
        return JSON.object([
            ("duetVersion", .string(DuetVersion.string)),
            ("model", .string(modelName)),
            ("created", .object([("createdAt", .string(file.created.createdAt)), ("tool", .string(file.created.tool)),
                                 ("toolVersion", file.created.toolVersion.map { .string($0) } ?? .null)])),
            ("featureVersion", .integer(model.featureVersion)),
            ("targets", .array(model.targetNames.map { .string($0) })),
            ("features", .array(file.features.names.map { .string($0) })),
            ("domain", .object(domain)),
            ("errorBandLevel", file.errorBands.map { .number($0.level) } ?? .null),
            ("metrics", metrics),
            ("datasetSHA256", .string(file.datasetSHA256)),
        ]).text(numbers: .plain)
    }

    // MARK: Reading bodies

    /// How deep a request may nest arrays and objects: a configuration needs 4; the
    /// bound keeps a hostile body from recursing the readers into a stack overflow.
    static let maxDepth = 32

    /// Parses a JSON body into the configuration reader's nodes. JSON only, with its
    /// depth bounded, so that YAML's aliases cannot inflate a request; read by
    /// `DuetSupport.JSON` and converted directly (`ConfigNode(json:)`), not through Yams.
    static func document(_ body: some Collection<UInt8>) throws -> ConfigNode {
        let json: JSON
        do {
            json = try JSON.parse(Array(body), maxDepth: maxDepth)
        } catch {
            throw ServeError(path: "", message: "the body is not valid JSON: \(error)")
        }
        let node = try wrap { try ConfigNode(json: json) }
        switch node.kind {
        case .mapping, .sequence: return node
        default: throw ServeError(path: "", message: "expected a JSON object or array, got \(node.kind)")
        }
    }

    /// `document(_:)` for a body given as text.
    static func document(_ body: String) throws -> ConfigNode { try document(body.utf8) }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

/// Runs a reader, turning its `ConfigError` into a 400 that names the path.
func wrap<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ConfigError {
        throw ServeError(error)
    } catch let error as ServeError {
        throw error
    } catch {
        throw ServeError(path: "", message: "\(error)")
    }
}
