// A trained surrogate ready to answer: configuration in, metrics out.

import Foundation
import Simulation

public struct SurrogateModel: Sendable {
    public let file: ModelFile
    public let predictor: Predictor

    public init(file: ModelFile, source: String = "model") throws {
        let version = file.metrics["info"]?["featureVersion"].map { Int($0) }
        guard version == SurrogateFeatures.version, file.features.names == SurrogateFeatures.names else {
            throw ModelFileError(file: source, reason: .invalidContent,
                                 detail: "its features (version \(version.map(String.init) ?? "unknown")) are not "
                                    + "the ones this duet computes (version \(SurrogateFeatures.version)); retrain it")
        }
        self.file = file
        predictor = Predictor(model: file)
    }

    public static func load(path: String) throws -> SurrogateModel {
        try SurrogateModel(file: try ModelFile.load(from: URL(fileURLWithPath: path)), source: path)
    }

    public var targetNames: [String] { file.targets.names }

    /// Predicted metric values, in `targetNames` order.
    public func predict(_ config: TandemConfig) -> [Double] {
        predictor.predict(SurrogateFeatures.vector(config))
    }

    /// One message per input key outside what the model saw in training, naming the key.
    public func domainWarnings(_ config: TandemConfig) -> [String] {
        var numeric: [String: Double] = [:]
        var categorical: [String: String] = [:]
        for (name, cell) in zip(ConfigColumns.names, ConfigColumns.cells(of: config)) {
            if let value = Double(cell) ?? (cell == "inf" ? .infinity : nil) {
                numeric[name] = value
            } else {
                categorical[name] = cell
            }
        }
        return file.inputDomain.violations(numeric: numeric, categorical: categorical)
    }
}
