// The model file: one versioned JSON document with everything needed to predict
// (architecture, weights, normalisation) and to judge the prediction (input domain
// seen in training, metrics, settings, dataset hash, provenance).
//
// Floats are written by JSONEncoder as their shortest round-tripping decimal and read
// back exactly (checked by the test suite over random bit patterns), or, for an
// ensemble's weights from format 4, as base64 of their bytes: either way weights
// survive a save and load bit for bit.

import DuetSupport
import Foundation
import Simulation

public struct ModelFile: Codable, Sendable, Equatable {
    /// Version 2 added `targetScaling`; files of version 1 are read as `.none`. Version 3
    /// added `ensemble`, and is written only by files that have one, so that a single
    /// network stays readable by builds that read version 2. Version 4 (ensembles too)
    /// writes each layer's weights as base64 of their little-endian float32 bytes
    /// (`LayerParameters`): half the size of their decimal text, the same values.
    /// Version 5 writes them as base64 of float16 bytes (`storeWeightsInHalfPrecision`):
    /// half again, the weights rounded to 11 significant bits, the biases as before.
    public static let currentFormatVersion = 5
    /// What an ensemble of float32 weights is written as.
    static let ensembleFormatVersion = 4
    static let halfPrecisionFormatVersion = 5
    /// What a file without an ensemble is written as.
    static let singleNetworkFormatVersion = 2
    public static let readableFormatVersions = 1...currentFormatVersion
    public static let kindTag = "duet-surrogate"

    public var formatVersion: Int
    public var kind: String
    public var created: CreationInfo
    public var architecture: NetworkArchitecture
    /// One entry per weight layer, input side first.
    public var layers: [LayerParameters]
    /// The other members of an ensemble (`duet train --ensemble N`): networks trained
    /// like the first on the same split and normalisation from other seeds, whose
    /// outputs `Predictor` averages with the first's; nil (absent) for a single network.
    public var ensemble: [EnsembleMember]?
    /// Network input columns (feature names) and their standardisation.
    public var features: FeatureScaler
    /// Targets, in network output order, and how outputs map back to metric values.
    public var targets: TargetTransform
    /// Raw input columns as seen in the training split.
    public var inputDomain: InputDomain
    /// The documented domain the model was trained to cover (`DocumentedDomain.known`,
    /// docs/domain.md), which the domain check then judges by instead of `inputDomain`;
    /// nil (absent from the file) for a model of a narrower sweep.
    public var domain: String?
    /// How far a prediction may be off: conformal bands calibrated on the validation
    /// split (`ErrorBands`); nil (absent) in files written before them.
    public var errorBands: ErrorBands?
    public var settings: TrainingSettings
    public var summary: TrainingSummary?
    /// Free-form figures per split, e.g. metrics["test"]["meanResponse.mape"].
    public var metrics: [String: [String: Double]]
    /// SHA-256 (hex) of the dataset file the model was trained on.
    public var datasetSHA256: String

    public init(
        network: Network, features: FeatureScaler, targets: TargetTransform, inputDomain: InputDomain,
        settings: TrainingSettings, summary: TrainingSummary? = nil, metrics: [String: [String: Double]] = [:],
        datasetSHA256: String, created: CreationInfo
    ) {
        precondition(features.count == network.architecture.inputs, "ModelFile: \(features.count) features for \(network.architecture.inputs) network inputs")
        precondition(targets.count == network.architecture.outputs, "ModelFile: \(targets.count) targets for \(network.architecture.outputs) network outputs")
        formatVersion = Self.singleNetworkFormatVersion
        kind = Self.kindTag
        self.created = created
        architecture = network.architecture
        layers = LayerParameters.layers(of: network)
        self.features = features
        self.targets = targets
        self.inputDomain = inputDomain
        self.settings = settings
        self.summary = summary
        self.metrics = metrics
        self.datasetSHA256 = datasetSHA256
    }

    /// What was divided out of the targets before the network learnt them
    /// (`TargetScaling`): `metrics.info.targetScaling`, the case's index in
    /// `TargetScaling.allCases`, as `featureVersion` is kept there. nil (absent) in
    /// format version 1, which means `.none`. (Kept out of the struct's stored
    /// fields: a new stored field made PipelineTests' anotherSpecIsNotResumed crash
    /// with a bad pointer in a debug build, a layout-sensitive fault not found yet.)
    public var targetScaling: TargetScaling? {
        get {
            guard let code = metrics["info"]?["targetScaling"], let index = Int(exactly: code),
                  TargetScaling.allCases.indices.contains(index) else { return nil }
            return TargetScaling.allCases[index]
        }
        set {
            metrics["info", default: [:]]["targetScaling"] = newValue.flatMap { value in
                TargetScaling.allCases.firstIndex(of: value).map(Double.init)
            }
        }
    }

    /// The network these parameters describe (shapes were checked on load or init).
    public var network: Network { LayerParameters.network(architecture, layers) }

    /// Every network of the model: the first, then the ensemble's other members.
    public var networks: [Network] {
        [network] + (ensemble ?? []).map(\.network)
    }

    /// Makes the model an ensemble of its own network and `others`, or a single network
    /// again when `others` is empty (and sets the format version either needs).
    public mutating func setEnsemble(_ others: [EnsembleMember]) {
        ensemble = others.isEmpty ? nil : others
        formatVersion = weightsInHalfPrecision ? Self.halfPrecisionFormatVersion
            : others.isEmpty ? Self.singleNetworkFormatVersion : Self.ensembleFormatVersion
    }

    /// Whether the file stores its weights as float16 (format version 5).
    public var weightsInHalfPrecision: Bool { formatVersion >= Self.halfPrecisionFormatVersion }

    /// Rounds every network's weights to float16 and makes the file store them so
    /// (format version 5): a file about half the size. The rounding happens here, so
    /// the model in memory predicts what the saved one will; a model's metrics are
    /// those of the networks they were computed with (`duet train --weight-precision`
    /// rounds the networks before computing them).
    public mutating func storeWeightsInHalfPrecision() throws {
        layers = try LayerParameters.roundedToHalfPrecision(layers, of: "the first network")
        ensemble = try ensemble?.map { try $0.roundedToHalfPrecision() }
        formatVersion = Self.halfPrecisionFormatVersion
    }

    // MARK: Reading and writing

    /// The document as compact JSON with sorted keys (equal models, equal bytes). Not
    /// pretty-printed: indentation put every parameter on a line of its own and doubled
    /// the file (`jq . MODEL.json` shows it indented).
    public func encoded() throws -> Data {
        if let problem = contentProblem() { throw ModelFileError(file: "(unsaved model)", reason: .invalidContent, detail: problem) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .infAndNanAsWords
        encoder.userInfo[LayerParameters.weightsAsBase64] = formatVersion >= Self.ensembleFormatVersion
        encoder.userInfo[LayerParameters.weightsAsFloat16] = weightsInHalfPrecision
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    public func write(to url: URL) throws {
        let data: Data
        do {
            data = try encoded()
        } catch var error as ModelFileError {
            error.file = url.path
            throw error
        }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw ModelFileError(file: url.path, reason: .unreadable, detail: "cannot write: \(error.localizedDescription)")
        }
    }

    public static func load(from url: URL) throws -> ModelFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelFileError(file: url.path, reason: .unreadable, detail: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, file: url.path)
    }

    /// Parses and checks a model document; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws -> ModelFile {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .infAndNanAsWords
        // The header first: another kind or version is named as such, not as a shape error.
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw ModelFileError(file: file, reason: .wrongKind, detail: "not a Duet surrogate model: the document is not a JSON object")
        } catch {
            throw ModelFileError(file: file, reason: .invalidJSON, detail: "not valid JSON (truncated or damaged?): \(describe(error))")
        }
        guard header.kind == kindTag else {
            let found = header.kind.map { "kind \"\($0)\"" } ?? "no \"kind\" string"
            throw ModelFileError(file: file, reason: .wrongKind, detail: "not a Duet surrogate model: \(found), expected \"\(kindTag)\"")
        }
        guard let version = header.formatVersion, readableFormatVersions.contains(version) else {
            let found = header.formatVersion.map { "format version \($0)" } ?? "no integer \"formatVersion\""
            throw ModelFileError(file: file, reason: .unsupportedVersion,
                                 detail: "\(found); this build of duet reads format versions "
                                    + "\(readableFormatVersions.lowerBound) to \(readableFormatVersions.upperBound)")
        }
        let model: ModelFile
        decoder.userInfo[LayerParameters.weightsAsFloat16] = version >= halfPrecisionFormatVersion
        do {
            model = try decoder.decode(ModelFile.self, from: data)
        } catch {
            throw ModelFileError(file: file, reason: .invalidContent, detail: describe(error))
        }
        if let problem = model.contentProblem() { throw ModelFileError(file: file, reason: .invalidContent, detail: problem) }
        return model
    }

    /// Shapes and values that cannot make a working predictor, or nil.
    func contentProblem() -> String? {
        if let problem = Self.layerProblem(architecture, layers, at: "") { return problem }
        for (index, member) in (ensemble ?? []).enumerated() {
            let at = "ensemble[\(index)]."
            if let problem = Self.layerProblem(member.architecture, member.layers, at: at) { return problem }
            if member.architecture.inputs != architecture.inputs || member.architecture.outputs != architecture.outputs {
                return "\(at)architecture takes \(member.architecture.inputs) inputs and gives \(member.architecture.outputs) "
                    + "outputs; the first network takes \(architecture.inputs) and gives \(architecture.outputs)"
            }
        }
        if features.count != architecture.inputs {
            return "features lists \(features.count) columns; the network takes \(architecture.inputs) inputs"
        }
        for (c, name) in features.names.enumerated() where !(features.stds[c] > 0 && features.stds[c].isFinite && features.means[c].isFinite) {
            return "feature \(name) has mean \(features.means[c]) and std \(features.stds[c]); need finite values and std > 0"
        }
        if targets.count != architecture.outputs {
            return "targets lists \(targets.count) targets; the network gives \(architecture.outputs) outputs"
        }
        for target in targets.targets where !(target.std > 0 && target.std.isFinite && target.mean.isFinite) {
            return "target \(target.name) has mean \(target.mean) and std \(target.std); need finite values and std > 0"
        }
        return nil
    }

    /// What is wrong with `layers` for `architecture`, or nil; `at` prefixes the field names.
    static func layerProblem(_ architecture: NetworkArchitecture, _ layers: [LayerParameters], at: String) -> String? {
        if let problem = architecture.problem { return "\(at)architecture: \(problem)" }
        let sizes = architecture.sizes
        guard layers.count == architecture.layerCount else {
            return "\(at)layers has \(layers.count) entries; the architecture (\(sizes.map(String.init).joined(separator: " -> "))) needs \(architecture.layerCount)"
        }
        for (l, layer) in layers.enumerated() {
            let (inputs, outputs) = (sizes[l], sizes[l + 1])
            if layer.inputs != inputs || layer.outputs != outputs {
                return "\(at)layers[\(l)] is \(layer.inputs) x \(layer.outputs); the architecture needs \(inputs) x \(outputs)"
            }
            // Sizes come from the file: their product may not fit an Int.
            let (weightCount, overflow) = inputs.multipliedReportingOverflow(by: outputs)
            if overflow || layer.weights.count != weightCount {
                let product = overflow ? "more than \(Int.max)" : String(weightCount)
                return "\(at)layers[\(l)].weights has \(layer.weights.count) values, expected \(inputs) x \(outputs) = \(product)"
            }
            if layer.biases.count != outputs {
                return "\(at)layers[\(l)].biases has \(layer.biases.count) values, expected \(outputs)"
            }
            if let bad = layer.weights.firstIndex(where: { !$0.isFinite }) { return "\(at)layers[\(l)].weights[\(bad)] is \(layer.weights[bad])" }
            if let bad = layer.biases.firstIndex(where: { !$0.isFinite }) { return "\(at)layers[\(l)].biases[\(bad)] is \(layer.biases[bad])" }
        }
        return nil
    }

    /// The two tags, read leniently: a tag of the wrong type counts as missing.
    private struct Header: Decodable {
        var formatVersion: Int?
        var kind: String?

        private enum CodingKeys: String, CodingKey { case formatVersion, kind }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            formatVersion = try? c.decode(Int.self, forKey: .formatVersion)
            kind = try? c.decode(String.self, forKey: .kind)
        }
    }
}

/// One weight layer: `weights` row-major `inputs x outputs` (the layer computes
/// z = a W + b on a row vector a), then `outputs` biases. In a file the weights are an
/// array of numbers or, from format version 4, one base64 string of their
/// little-endian float32 bytes (an ensemble's weights are most of its file); both are
/// read.
public struct LayerParameters: Codable, Sendable, Equatable {
    public var inputs: Int
    public var outputs: Int
    public var weights: [Float]
    public var biases: [Float]

    /// The encoder's `userInfo` key that asks for the weights as base64 (a Bool).
    static let weightsAsBase64 = CodingUserInfoKey(rawValue: "duet.weightsAsBase64")!
    /// The encoder's and decoder's key for base64 weights of float16 bytes instead of
    /// float32 ones (a Bool; format version 5).
    static let weightsAsFloat16 = CodingUserInfoKey(rawValue: "duet.weightsAsFloat16")!

    /// `layers` with their weights rounded to the nearest float16 (ties to even), as
    /// floats; an error naming `network` and the layer when a weight is beyond float16's
    /// largest finite value (65,504).
    static func roundedToHalfPrecision(_ layers: [LayerParameters], of network: String) throws -> [LayerParameters] {
        try layers.enumerated().map { index, layer in
            if let weight = layer.weights.firstIndex(where: { $0.isFinite && !Float16($0).isFinite }) {
                throw ModelFileError(file: "(unsaved model)", reason: .invalidContent,
                                     detail: "\(network), layers[\(index)]: weight \(weight) is \(layer.weights[weight]), "
                                        + "beyond float16's largest value (65504)")
            }
            var rounded = layer
            rounded.weights = layer.weights.map { Float(Float16($0)) }
            return rounded
        }
    }

    public init(inputs: Int, outputs: Int, weights: [Float], biases: [Float]) {
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.biases = biases
    }

    private enum CodingKeys: String, CodingKey { case inputs, outputs, weights, biases }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputs = try c.decode(Int.self, forKey: .inputs)
        outputs = try c.decode(Int.self, forKey: .outputs)
        biases = try c.decode([Float].self, forKey: .biases)
        guard let text = try? c.decode(String.self, forKey: .weights) else {
            weights = try c.decode([Float].self, forKey: .weights)
            return
        }
        let halves = decoder.userInfo[Self.weightsAsFloat16] as? Bool == true
        let width = halves ? 2 : 4
        guard let bytes = Data(base64Encoded: text), bytes.count % width == 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .weights, in: c,
                debugDescription: "expected an array of numbers or base64 of little-endian "
                    + (halves ? "float16" : "float32") + " values")
        }
        if halves {
            weights = stride(from: 0, to: bytes.count, by: 2).map { offset in
                let low = UInt16(bytes[bytes.startIndex + offset]), high = UInt16(bytes[bytes.startIndex + offset + 1])
                return Float(Float16(bitPattern: high << 8 | low))
            }
            return
        }
        weights = stride(from: 0, to: bytes.count, by: 4).map { offset in
            let bits = bytes[bytes.startIndex + offset..<bytes.startIndex + offset + 4].reversed()
                .reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            return Float(bitPattern: bits)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(biases, forKey: .biases)
        if encoder.userInfo[Self.weightsAsFloat16] as? Bool == true {
            var bytes = Data(capacity: weights.count * 2)
            for weight in weights {
                let bits = Float16(weight).bitPattern
                bytes.append(UInt8(truncatingIfNeeded: bits))
                bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            }
            try c.encode(bytes.base64EncodedString(), forKey: .weights)
        } else if encoder.userInfo[Self.weightsAsBase64] as? Bool == true {
            var bytes = Data(capacity: weights.count * 4)
            for weight in weights {
                let bits = weight.bitPattern
                for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
            }
            try c.encode(bytes.base64EncodedString(), forKey: .weights)
        } else {
            try c.encode(weights, forKey: .weights)
        }
    }

    /// `network`'s parameters, layer by layer.
    static func layers(of network: Network) -> [LayerParameters] {
        network.slots.indices.map { l in
            LayerParameters(inputs: network.slots[l].inputs, outputs: network.slots[l].outputs,
                            weights: Array(network.weights(layer: l)), biases: Array(network.biases(layer: l)))
        }
    }

    /// The network of `architecture` with `layers`' parameters (shapes already checked).
    static func network(_ architecture: NetworkArchitecture, _ layers: [LayerParameters]) -> Network {
        Network(architecture: architecture, layers: layers.map { ($0.weights, $0.biases) })
    }
}

/// One more network of an ensemble: its shape, weights, seed and how its training went.
public struct EnsembleMember: Codable, Sendable, Equatable {
    public var architecture: NetworkArchitecture
    /// As `ModelFile.layers`.
    public var layers: [LayerParameters]
    /// The seed of its initialisation and shuffling.
    public var seed: UInt64
    public var summary: TrainingSummary?

    public init(network: Network, seed: UInt64, summary: TrainingSummary? = nil) {
        architecture = network.architecture
        layers = LayerParameters.layers(of: network)
        self.seed = seed
        self.summary = summary
    }

    /// The best network of `trainer`, with its seed and summary.
    public init(trainer: Trainer) {
        self.init(network: trainer.bestNetwork, seed: trainer.settings.seed, summary: TrainingSummary(trainer))
    }

    /// Shapes were checked on load (`ModelFile.contentProblem`).
    public var network: Network { LayerParameters.network(architecture, layers) }

    /// The member with its weights rounded to float16 (`ModelFile.storeWeightsInHalfPrecision`).
    public func roundedToHalfPrecision() throws -> EnsembleMember {
        var rounded = self
        rounded.layers = try LayerParameters.roundedToHalfPrecision(layers, of: "the network of seed \(seed)")
        return rounded
    }
}

/// How the training run went.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var epochs: Int
    public var bestEpoch: Int
    public var bestMeanValidationMAPE: Double
    /// Why training ended (`budget` or `callback` when it was only paused).
    public var stopReason: StopReason
    public var seconds: Double

    public init(epochs: Int, bestEpoch: Int, bestMeanValidationMAPE: Double, stopReason: StopReason, seconds: Double) {
        self.epochs = epochs
        self.bestEpoch = bestEpoch
        self.bestMeanValidationMAPE = bestMeanValidationMAPE
        self.stopReason = stopReason
        self.seconds = seconds
    }

    public init(_ trainer: Trainer) {
        self.init(
            epochs: trainer.epochsCompleted, bestEpoch: trainer.best?.epoch ?? 0,
            bestMeanValidationMAPE: trainer.best?.meanValidationMAPE ?? .nan,
            stopReason: trainer.finalStop ?? .budget, seconds: trainer.history.last?.elapsedSeconds ?? 0)
    }
}

/// Who made the file and when (the caller supplies the time).
public struct CreationInfo: Codable, Sendable, Equatable {
    /// ISO 8601, UTC.
    public var createdAt: String
    public var tool: String
    public var toolVersion: String?
    /// The command line that produced the model, if any.
    public var command: [String]?

    public init(createdAt: String, tool: String = "duet", toolVersion: String? = nil, command: [String]? = nil) {
        self.createdAt = createdAt
        self.tool = tool
        self.toolVersion = toolVersion
        self.command = command
    }

    public init(date: Date, tool: String = "duet", toolVersion: String? = nil, command: [String]? = nil) {
        self.init(createdAt: date.formatted(.iso8601), tool: tool, toolVersion: toolVersion, command: command)
    }
}

/// The raw input columns seen in training: numeric ranges and categorical values, so
/// a prediction can say when it extrapolates. Encoded as an object keyed by column name:
/// `{"arrival.rate": {"min": 0.1, "max": 2}, "batch.dist": {"values": ["geometric"]}}`.
public struct InputDomain: Codable, Sendable, Equatable {
    public enum Range: Sendable, Equatable {
        case numeric(min: Double, max: Double)
        /// The values seen, sorted.
        case categorical([String])

        public func contains(_ value: Double) -> Bool {
            if case .numeric(let lo, let hi) = self { return value >= lo && value <= hi }
            return false
        }

        public func contains(_ value: String) -> Bool {
            if case .categorical(let values) = self { return values.contains(value) }
            return false
        }

        /// Whether the domain check lets `value` pass: inside the range, or within
        /// `relativeSlack` (relative) of its nearer end, or of the other kind (a number
        /// is not judged by categories, nor a name by a numeric range).
        public func admits(_ value: ConfigValue, relativeSlack: Double) -> Bool {
            switch (self, value) {
            case (.numeric, .name), (.categorical, .real), (.categorical, .whole): return true
            case (.categorical(let values), .name(let name)): return values.contains(name)
            case (.numeric(let lo, let hi), _): return Self.admits(number: value.double, lo: lo, hi: hi, relativeSlack: relativeSlack)
            }
        }

        static func admits(number value: Double, lo: Double, hi: Double, relativeSlack: Double) -> Bool {
            if value >= lo && value <= hi { return true }
            let end = value < lo ? lo : hi
            return abs(value - end) <= relativeSlack * abs(end)
        }
    }

    public var columns: [String: Range]

    public init(columns: [String: Range] = [:]) { self.columns = columns }

    /// A dataset cell as a number of the domain (`inf` included), nil for a category.
    public static func number(_ cell: String) -> Double? {
        cell == ConfigColumns.infinityCell ? .infinity : Double(cell)
    }

    /// Widens `name`'s range to include `value`.
    public mutating func include(_ name: String, _ value: Double) {
        switch columns[name] {
        case .numeric(let lo, let hi): columns[name] = .numeric(min: Swift.min(lo, value), max: Swift.max(hi, value))
        case nil: columns[name] = .numeric(min: value, max: value)
        case .categorical: preconditionFailure("InputDomain: column \(name) is categorical, got number \(value)")
        }
    }

    /// Adds `value` to `name`'s categories.
    public mutating func include(_ name: String, category value: String) {
        switch columns[name] {
        case .categorical(let values): if !values.contains(value) { columns[name] = .categorical((values + [value]).sorted()) }
        case nil: columns[name] = .categorical([value])
        case .numeric: preconditionFailure("InputDomain: column \(name) is numeric, got category \(value)")
        }
    }

    /// `violations(numeric:categorical:...)` for typed values: numbers (whole or real)
    /// are judged against numeric ranges, names against categories.
    public func violations(_ values: [String: ConfigValue], relativeSlack: Double = 0,
                           rangeName: String = "the training range") -> [String] {
        var numeric: [String: Double] = [:]
        var categorical: [String: String] = [:]
        for (key, value) in values {
            if case .name(let name) = value { categorical[key] = name } else { numeric[key] = value.double }
        }
        return violations(numeric: numeric, categorical: categorical, relativeSlack: relativeSlack, rangeName: rangeName)
    }

    /// One message per value outside the domain (unknown columns are not judged). A
    /// number within `relativeSlack` (relative) of its range's nearer end counts as in.
    /// `rangeName` says what the range is ("the training range", or a documented domain).
    public func violations(numeric: [String: Double] = [:], categorical: [String: String] = [:],
                           relativeSlack: Double = 0, rangeName: String = "the training range") -> [String] {
        // Messages in key order; only the values outside are sorted (most predictions have none).
        var outside: [(name: String, message: String)] = []
        for (name, value) in numeric {
            if case .numeric(let lo, let hi) = columns[name],
               !Range.admits(number: value, lo: lo, hi: hi, relativeSlack: relativeSlack) {
                outside.append((name, "\(name) = \(value) is outside \(rangeName) [\(lo), \(hi)]"))
            }
        }
        var messages = outside.sorted { $0.name < $1.name }.map(\.message)
        outside = []
        for (name, value) in categorical {
            if case .categorical(let values) = columns[name], !values.contains(value) {
                outside.append((name, rangeName == "the training range"
                    ? "\(name) = \(value) was not seen in training (seen: \(values.joined(separator: ", ")))"
                    : "\(name) = \(value) is outside \(rangeName) (\(values.joined(separator: ", ")))"))
            }
        }
        messages += outside.sorted { $0.name < $1.name }.map(\.message)
        return messages
    }

    private struct RangeCoding: Codable {
        var min: Double?
        var max: Double?
        var values: [String]?
    }

    public init(from decoder: any Decoder) throws {
        let raw = try [String: RangeCoding](from: decoder)
        columns = [:]
        for (name, range) in raw {
            if let values = range.values {
                columns[name] = .categorical(values.sorted())
            } else if let lo = range.min, let hi = range.max {
                columns[name] = .numeric(min: lo, max: hi)
            } else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath,
                    debugDescription: "input column \(name) needs either min and max or values"))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try columns.mapValues { range -> RangeCoding in
            switch range {
            case .numeric(let lo, let hi): return RangeCoding(min: lo, max: hi)
            case .categorical(let values): return RangeCoding(values: values)
            }
        }.encode(to: encoder)
    }
}

/// A model file that cannot be read, named with what is wrong.
public struct ModelFileError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public enum Reason: String, Sendable, Equatable {
        case unreadable, invalidJSON, wrongKind, unsupportedVersion, invalidContent
    }

    public var file: String
    public var reason: Reason
    public var detail: String

    public var description: String { "model file \(file): \(detail)" }
    public var errorDescription: String? { description }
}

/// A DecodingError as "at <path>: <what>", the path dotted with [index] for arrays.
private func describe(_ error: any Error) -> String {
    func path(_ keys: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
        let all = keys + (last.map { [$0] } ?? [])
        var text = ""
        for key in all {
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return text.isEmpty ? "top level" : text
    }
    guard let error = error as? DecodingError else { return error.localizedDescription }
    switch error {
    case .keyNotFound(let key, let context):
        return "missing key \(path(context.codingPath, key))"
    case .typeMismatch(let type, let context):
        return "at \(path(context.codingPath)): expected \(type)"
    case .valueNotFound(let type, let context):
        return "at \(path(context.codingPath)): expected \(type), found null"
    case .dataCorrupted(let context):
        let underlying = (context.underlyingError as NSError?).map { " (\($0.localizedDescription))" } ?? ""
        return "at \(path(context.codingPath)): \(context.debugDescription)\(underlying)"
    @unknown default:
        return "\(error)"
    }
}
