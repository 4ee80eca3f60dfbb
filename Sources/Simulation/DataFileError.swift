// The one error of the CSV files a user hands over (traces, datasets): which file,
// which row and column, what was wrong.

import Foundation

/// A problem reading or writing a trace or a dataset: the file, and where in it.
public struct DataFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or "dataset" for text without a file).
    public var source: String
    /// 1-based data row (the header is row 0, so the file line is row + 1), when the
    /// problem is in one row.
    public var row: Int?
    public var column: String?
    public var message: String

    public init(source: String, row: Int? = nil, column: String? = nil, message: String) {
        self.source = source
        self.row = row
        self.column = column
        self.message = message
    }

    /// `requests.csv: row 12 (line 13), column TIMESTAMP: times must not decrease ...`.
    public var description: String {
        var place: [String] = []
        if let row { place.append("row \(row) (line \(row + 1))") }
        if let column { place.append("column \(column)") }
        return place.isEmpty ? "\(source): \(message)" : "\(source): \(place.joined(separator: ", ")): \(message)"
    }
}

extension DataFileError: LocalizedError {
    public var errorDescription: String? { description }
}
