// Standardisation of inputs and targets, fitted on the training split only (so the
// validation and test figures are honest) and stored in the model file.

import Foundation

/// A problem with the numbers handed to a fit or a transform.
public struct NormalizationError: Error, CustomStringConvertible, LocalizedError {
    public var description: String
    public var errorDescription: String? { description }
}

/// Per input column: z = (x - mean) / std. A constant column keeps std 1, so it maps
/// to 0 rather than to NaN: std 0, or below 1e-9 of the mean's magnitude (a constant
/// such as log(1.01) leaves a std of rounding, near 1e-17, whose inverse would blow
/// any other value up to 1e17).
public struct FeatureScaler: Codable, Sendable, Equatable {
    public var names: [String]
    public var means: [Double]
    public var stds: [Double]

    public init(names: [String], means: [Double], stds: [Double]) {
        precondition(names.count == means.count && means.count == stds.count, "FeatureScaler: names, means and stds differ in length")
        self.names = names
        self.means = means
        self.stds = stds
    }

    /// Means and population standard deviations of `rows` (one array per sample,
    /// columns in `names` order). Every value must be finite.
    public static func fit(names: [String], rows: [[Double]]) throws -> FeatureScaler {
        let columns = try columnStatistics(names: names, rows: rows, what: "input")
        return FeatureScaler(names: names, means: columns.map(\.mean),
                             stds: columns.map { $0.std > 1e-9 * max(1, abs($0.mean)) ? $0.std : 1 })
    }

    public var count: Int { names.count }

    /// Encoded as a list of `{"name", "mean", "std"}`, one per column.
    private struct Column: Codable {
        var name: String
        var mean: Double
        var std: Double
    }

    public init(from decoder: any Decoder) throws {
        let columns = try [Column](from: decoder)
        self.init(names: columns.map(\.name), means: columns.map(\.mean), stds: columns.map(\.std))
    }

    public func encode(to encoder: any Encoder) throws {
        try names.indices.map { Column(name: names[$0], mean: means[$0], std: stds[$0]) }.encode(to: encoder)
    }

    /// The standardised value of `value` in column `column`; the one formula used by
    /// training and every prediction path, so they agree bit for bit.
    @inline(__always)
    public func standardize(_ value: Double, column: Int) -> Float {
        Float((value - means[column]) / stds[column])
    }

    /// Standardised rows as an n x d matrix.
    public func transform(_ rows: [[Double]]) throws -> Matrix {
        var out = Matrix(rows: rows.count, cols: count)
        try out.withUnsafeMutableBufferPointer { buffer in
            for (r, row) in rows.enumerated() {
                guard row.count == count else {
                    throw NormalizationError(description: "input row \(r) has \(row.count) values, expected \(count) (\(names.joined(separator: ", ")))")
                }
                for c in 0..<count { buffer[r * count + c] = standardize(row[c], column: c) }
            }
        }
        return out
    }
}

/// How the network's standardised outputs map back to metric values, per target:
/// real = exp(z * std + mean) when `log`, else z * std + mean.
public struct TargetTransform: Codable, Sendable, Equatable {
    public struct Target: Codable, Sendable, Equatable {
        public var name: String
        /// Standardise log(value) rather than value (positive, skewed metrics).
        public var log: Bool
        public var mean: Double
        public var std: Double

        public init(name: String, log: Bool, mean: Double, std: Double) {
            self.name = name
            self.log = log
            self.mean = mean
            self.std = std
        }

        @inline(__always)
        public func real(_ z: Float) -> Double {
            let v = Double(z) * std + mean
            return log ? Foundation.exp(v) : v
        }

        /// The standardised value of a metric value (`nil` when `log` and value <= 0).
        public func standardized(_ value: Double) -> Float? {
            if log && !(value > 0) { return nil }
            return Float(((log ? Foundation.log(value) : value) - mean) / std)
        }
    }

    public var targets: [Target]

    public init(targets: [Target]) { self.targets = targets }

    /// Encoded as the list of targets.
    public init(from decoder: any Decoder) throws { targets = try [Target](from: decoder) }
    public func encode(to encoder: any Encoder) throws { try targets.encode(to: encoder) }

    public var count: Int { targets.count }
    public var names: [String] { targets.map(\.name) }

    /// Fits means and stds of (log) values of `rows` (one array per sample, columns in
    /// `names` order); `log[j]` chooses the log transform for target j.
    public static func fit(names: [String], rows: [[Double]], log: [Bool]) throws -> TargetTransform {
        precondition(log.count == names.count, "TargetTransform.fit: \(log.count) log flags for \(names.count) targets")
        for (r, row) in rows.enumerated() where row.count == names.count {
            for j in names.indices where log[j] && !(row[j] > 0) {
                throw NormalizationError(description: "target \(names[j]) is \(row[j]) in row \(r): a log-transformed target must be positive")
            }
        }
        let transformed = rows.map { row in row.enumerated().map { j, v in j < log.count && log[j] ? Foundation.log(v) : v } }
        let columns = try columnStatistics(names: names, rows: transformed, what: "target")
        return TargetTransform(targets: names.indices.map { j in
            Target(name: names[j], log: log[j], mean: columns[j].mean, std: columns[j].std > 0 ? columns[j].std : 1)
        })
    }

    /// Standardised targets as an n x k matrix.
    public func transform(_ rows: [[Double]]) throws -> Matrix {
        var out = Matrix(rows: rows.count, cols: count)
        try out.withUnsafeMutableBufferPointer { buffer in
            for (r, row) in rows.enumerated() {
                guard row.count == count else {
                    throw NormalizationError(description: "target row \(r) has \(row.count) values, expected \(count) (\(names.joined(separator: ", ")))")
                }
                for j in 0..<count {
                    guard let z = targets[j].standardized(row[j]), z.isFinite else {
                        throw NormalizationError(description: "target \(targets[j].name) is \(row[j]) in row \(r): cannot be standardised\(targets[j].log ? " on a log scale" : "")")
                    }
                    buffer[r * count + j] = z
                }
            }
        }
        return out
    }

    /// Real metric values of a matrix of standardised outputs.
    public func real(_ standardized: Matrix) -> [[Double]] {
        precondition(standardized.cols == count, "TargetTransform: \(standardized.cols) columns, \(count) targets")
        return (0..<standardized.rows).map { r in (0..<count).map { j in targets[j].real(standardized[r, j]) } }
    }
}

/// Mean and population standard deviation per column, two-pass in Double.
private func columnStatistics(names: [String], rows: [[Double]], what: String) throws -> [(mean: Double, std: Double)] {
    guard !rows.isEmpty else { throw NormalizationError(description: "cannot fit \(what) statistics on zero rows") }
    var sums = [Double](repeating: 0, count: names.count)
    for (r, row) in rows.enumerated() {
        guard row.count == names.count else {
            throw NormalizationError(description: "\(what) row \(r) has \(row.count) values, expected \(names.count)")
        }
        for c in names.indices {
            guard row[c].isFinite else {
                throw NormalizationError(description: "\(what) \(names[c]) is \(row[c]) in row \(r): only finite values can be standardised")
            }
            sums[c] += row[c]
        }
    }
    let n = Double(rows.count)
    let means = sums.map { $0 / n }
    var squares = [Double](repeating: 0, count: names.count)
    for row in rows {
        for c in names.indices { let d = row[c] - means[c]; squares[c] += d * d }
    }
    return names.indices.map { (means[$0], (squares[$0] / n).squareRoot()) }
}
