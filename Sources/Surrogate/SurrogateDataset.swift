// From a dataset CSV (MODEL.md's columns) to the matrices the trainer needs, with a
// seeded split by configuration (each row is one configuration).

import DuetSupport
import Foundation
import Simulation

/// One usable row of a dataset: its configuration, features and target values.
public struct SurrogateExample: Sendable {
    public var point: Int
    public var config: TandemConfig
    /// The current version's features (of the configuration's canonical twin).
    public var features: [Double]
    /// Simulated metric values, seconds (`SurrogateTargets.names(stations:)` order).
    public var targets: [Double]
    /// The twin's time unit: the mean gap between batches, seconds.
    public var timeUnit: Double
    /// The largest of the stations' offered loads (for error-by-load reports).
    public var bottleneckLoad: Double
    /// The raw input cells by column name.
    public var inputs: [String: String]
    /// The twin's input cells (`CanonicalForm.domainNames`), for the model's input domain.
    public var domainInputs: [String: String]

    /// The simulated value of target `name`, seconds, or nil when the example's chain
    /// has no such target (a station beyond its length).
    public func target(_ name: String) -> Double? {
        SurrogateTargets.index(of: name, stations: config.stations.count).map { targets[$0] }
    }

    /// The targets in units of `timeUnit`: what the network learns.
    public var dimensionlessTargets: [Double] {
        SurrogateTargets.dimensionless(targets, names: SurrogateTargets.names(stations: config.stations.count),
                                       timeUnit: timeUnit)
    }
}

public struct SurrogateDataset: Sendable {
    /// The longest chain of the rows. A dataset file is a sweep over chains of one
    /// length; several files of different lengths merge into one dataset (`merging`)
    /// whose rows' features are laid out for chains of `stations` stations.
    public var stations: Int
    /// The shortest chain of the rows (`stations` for one file).
    public var minStations: Int
    public var examples: [SurrogateExample]
    /// Rows left out, and why (unstable, invalid, a target not positive).
    public var skipped: [(row: Int, reason: String)]
    public var sha256: String
    public var source: String

    /// Reads a dataset file and keeps the rows that are stable with every target
    /// positive.
    public static func load(path: String) throws -> SurrogateDataset {
        // The table first: its errors name the file ("no such file"); the bytes are
        // read again only for the hash.
        let table = try DatasetTable.read(path: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataFileError(source: path, message: "cannot read the file")
        }
        var dataset = try SurrogateDataset(table: table)
        dataset.sha256 = SHA256Hasher.hex(data)
        return dataset
    }

    /// Parses a dataset file's bytes (a worker's copy of the dataset blob).
    public static func parse(bytes: [UInt8], source: String) throws -> SurrogateDataset {
        let data = Data(bytes)
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataFileError(source: source, message: "the dataset is not UTF-8 text")
        }
        var dataset = try SurrogateDataset(table: try DatasetTable.parse(text, source: source))
        dataset.sha256 = SHA256Hasher.hex(data)
        return dataset
    }

    public init(table: DatasetTable) throws {
        // The chain length is read off the columns (a table without any station's
        // columns is named as missing the two-station tandem's).
        let found = (1...).prefix { table.index(of: "stations.\($0).servers") != nil }.count
        stations = found > 0 ? found : 2
        minStations = stations
        let targetNames = SurrogateTargets.names(stations: stations)
        let optional = ConfigColumns.optionalNames(stations: stations)
        try table.requireColumns(ConfigColumns.names(stations: stations).filter { !optional.contains($0) }
                                     + targetNames + ["point", "stable"])
        source = table.source
        sha256 = ""
        examples = []
        skipped = []
        // Every row of a table is a chain of its length: its input columns, named once.
        let inputNames = ConfigColumns.names(stations: stations)
        for row in table.rows {
            guard try row.bool("stable") else {
                skipped.append((row.number, "unstable or invalid: \(row["error"] ?? "")"))
                continue
            }
            let config = try ConfigColumns.config(row: row)
            let targets = try targetNames.map { try row.double($0) }
            if let bad = zip(targetNames, targets).first(where: { !($0.1 > 0) }) {
                skipped.append((row.number, "\(bad.0) = \(bad.1) is not positive"))
                continue
            }
            var inputs: [String: String] = Dictionary(minimumCapacity: inputNames.count)
            // Columns an older dataset lacks or leaves empty take the rebuilt
            // configuration's value (renewal arrivals), so the input domain covers them
            // too. Every column but batch.dist is a number in the domain, also the ones
            // the configuration does not read (arrival.scv of an on/off row): text there
            // would make a numeric column categorical. The rebuilt values are written
            // as text only for a row that needs them.
            var rebuilt: [String]?
            for (index, name) in inputNames.enumerated() {
                guard let cell = row[name], !cell.isEmpty else {
                    if rebuilt == nil { rebuilt = ConfigColumns.cells(of: config) }
                    inputs[name] = rebuilt![index]
                    continue
                }
                if name != "batch.dist", InputDomain.number(cell)?.isNaN ?? true {
                    throw DataFileError(source: table.source, row: row.number, column: name,
                                         message: "expected a number, got \"\(cell)\"")
                }
                inputs[name] = cell
            }
            let form = EstimatedForm(config)
            examples.append(SurrogateExample(
                point: try row.int("point"), config: config, features: SurrogateFeatures.vector(estimated: form),
                targets: targets, timeUnit: form.timeUnit, bottleneckLoad: config.offeredLoads.max() ?? 0,
                inputs: inputs, domainInputs: form.form.domainCells(batchDist: row["batch.dist"])))
        }
    }

    /// Reads several dataset files (`load(path:)`) into one dataset: one file as it is,
    /// several as `merging` them.
    public static func load(paths: [String]) throws -> SurrogateDataset {
        let datasets = try paths.map { try load(path: $0) }
        guard datasets.count != 1 else { return datasets[0] }
        return try SurrogateDataset(merging: datasets)
    }

    /// Datasets of chains of different lengths as one, to train one model for chains of
    /// `minStations` to `stations` stations: each row's features are laid out for the
    /// longest chain (`SurrogateFeatures.padded`); its targets stay its chain's
    /// (`SurrogateExample.target(_:)`). Skipped rows are named with their file.
    public init(merging datasets: [SurrogateDataset]) throws {
        guard let first = datasets.first else {
            throw DataFileError(source: "datasets", message: "no dataset to merge")
        }
        stations = datasets.map(\.stations).max() ?? first.stations
        minStations = datasets.map(\.minStations).min() ?? first.minStations
        source = datasets.map(\.source).joined(separator: " + ")
        sha256 = SHA256Hasher.hex(datasets.map(\.sha256).joined(separator: "\n"))
        examples = []
        skipped = []
        for dataset in datasets {
            examples += dataset.examples.map { example in
                var example = example
                example.features = SurrogateFeatures.padded(example.features, stations: stations)
                return example
            }
            skipped += dataset.skipped.map { (row: $0.row, reason: "\(dataset.source): \($0.reason)") }
        }
    }

    /// The targets learnt from this dataset, in `SurrogateExample.targets` order.
    public var targetNames: [String] { SurrogateTargets.names(stations: stations) }

    /// The features of this dataset's rows, in `SurrogateExample.features` order.
    public var featureNames: [String] { SurrogateFeatures.names(stations: stations) }

    /// A seeded split by configuration into train, validation and test index sets.
    public func split(validation: Double = 0.1, test: Double = 0.1, seed: UInt64 = 1) -> DatasetSplit {
        var order = Array(examples.indices)
        var rng = RandomStream(seed: seed, substream: 0x5917)
        order.shuffle(using: &rng)
        let testCount = Int((Double(order.count) * test).rounded())
        let validationCount = Int((Double(order.count) * validation).rounded())
        return DatasetSplit(
            seed: seed,
            test: Array(order[0..<testCount]).sorted(),
            validation: Array(order[testCount..<(testCount + validationCount)]).sorted(),
            train: Array(order[(testCount + validationCount)...]).sorted())
    }

    /// The input domain of some examples: numeric ranges and categories per column of
    /// their canonical twins (`CanonicalForm.domainCells`).
    public func inputDomain(of indices: [Int]) -> InputDomain {
        var domain = InputDomain()
        for i in indices {
            for (name, cell) in examples[i].domainInputs {
                if let value = InputDomain.number(cell) {
                    domain.include(name, value)
                } else {
                    domain.include(name, category: cell)
                }
            }
        }
        return domain
    }
}

/// Which examples train, validate and test a model (indices into `examples`).
public struct DatasetSplit: Sendable, Codable, Equatable {
    public var seed: UInt64
    public var test: [Int]
    public var validation: [Int]
    public var train: [Int]
}
