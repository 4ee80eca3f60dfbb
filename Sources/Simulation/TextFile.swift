// Reading a user's text file (a configuration, a spec, a pipeline) with an error that
// says which file, what it was for and what is wrong with it.

import Foundation

public enum TextFile {
    /// The UTF-8 text of the file at `path`. Otherwise a `ConfigError` such as
    /// "cannot read sweep spec x.yaml: no such file" (or "it is a directory",
    /// "permission denied or I/O error", "it is not UTF-8 text"); `what` names the file's role.
    public static func read(_ path: String, what: String) throws -> String {
        func failure(_ reason: String) -> ConfigError {
            ConfigError(path: "", message: "cannot read \(what) \(path): \(reason)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("no such file")
        }
        guard !isDirectory.boolValue else { throw failure("it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("permission denied or I/O error")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw failure("it is not UTF-8 text") }
        return text
    }
}
