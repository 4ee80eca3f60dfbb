import Cluster
import Foundation
import Surrogate

/// The model file a command uses: the one named, else the shipped model
/// (`ShippedModel.locate`: $DUET_MODEL, beside the binary, share/duet, a checkout's
/// models/), else an error that says where it looked.
func modelPath(named: String?) throws -> String {
    let executable = URL(fileURLWithPath: LocalCluster.currentExecutable).resolvingSymlinksInPath().path
    do {
        return try ShippedModel.locate(named: named, environment: ProcessInfo.processInfo.environment,
                                       executable: executable, fileExists: { FileManager.default.fileExists(atPath: $0) })
    } catch let error as ShippedModelError {
        throw CLIError("\(error)")
    }
}

/// Loads the model named, or the shipped one (`modelPath(named:)`), saying on standard
/// error which shipped file it took.
func loadModel(named: String?) throws -> SurrogateModel {
    let path = try modelPath(named: named)
    if named == nil { log("note: using the shipped model \(path)") }
    return try withDatasetErrors { try SurrogateModel.load(path: path) }
}
