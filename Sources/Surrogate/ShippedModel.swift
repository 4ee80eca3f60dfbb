// Finding the model that ships with Duet, for commands run without a model file.
//
// The lookup is a pure function of what it is given (the environment, the
// executable's path, a file test), so that tests can try every case without touching
// the process's environment or the file system.

import Foundation

public enum ShippedModel {
    /// The shipped model's file name (docs/domain.md).
    public static let fileName = "duet-tandem-v1.json"
    /// The environment variable naming a model file to use when none is named.
    public static let environmentKey = "DUET_MODEL"

    /// Where a shipped model is looked for, in order, for the executable at
    /// `executable` (symbolic links already resolved):
    /// - beside the binary: `BIN/duet-tandem-v1.json`;
    /// - an installed layout: `PREFIX/share/duet/duet-tandem-v1.json` for `PREFIX/bin/duet`;
    /// - a checkout: `models/duet-tandem-v1.json` in the binary's folder or any folder
    ///   above it (`.build/release/duet` finds the repository's `models/`).
    public static func candidates(executable: String) -> [String] {
        let directory = (URL(fileURLWithPath: executable).standardizedFileURL.path as NSString).deletingLastPathComponent
        var paths = [
            (directory as NSString).appendingPathComponent(fileName),
            ((directory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("share/duet/\(fileName)"),
        ]
        var folder = directory
        // NSString's deletingLastPathComponent of "/" is "/"; the count bounds the walk anyway.
        for _ in 0..<256 {
            paths.append((folder as NSString).appendingPathComponent("models/\(fileName)"))
            let parent = (folder as NSString).deletingLastPathComponent
            if parent == folder || parent.isEmpty { break }
            folder = parent
        }
        return paths
    }

    /// The model file to use: `named` when given, else `$DUET_MODEL`, else the first
    /// candidate that exists. Throws, saying where it looked and what to do, when there
    /// is none, or when `$DUET_MODEL` names a file that does not exist.
    public static func locate(named: String?, environment: [String: String], executable: String,
                              fileExists: (String) -> Bool) throws -> String {
        if let named { return named }
        if let path = environment[environmentKey], !path.isEmpty {
            guard fileExists(path) else { throw ShippedModelError.missingEnvironmentModel(path) }
            return path
        }
        let paths = candidates(executable: executable)
        if let found = paths.first(where: fileExists) { return found }
        throw ShippedModelError.notFound(searched: paths)
    }
}

public enum ShippedModelError: Error, CustomStringConvertible, Equatable {
    case missingEnvironmentModel(String)
    case notFound(searched: [String])

    public var description: String {
        switch self {
        case .missingEnvironmentModel(let path):
            return "\(ShippedModel.environmentKey) names the model file \(path), which does not exist"
        case .notFound(let searched):
            return "no model file named and no shipped model found; name a model file, set "
                + "\(ShippedModel.environmentKey)=MODEL.json, or put \(ShippedModel.fileName) beside the duet binary. "
                + "Looked in: " + searched.joined(separator: ", ")
        }
    }
}
