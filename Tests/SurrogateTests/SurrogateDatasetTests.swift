// Reading a dataset for training: input cells the configuration does not read still
// enter the model's input domain, so they must be numbers too (found by fuzzing the
// dataset reader: a category in a numeric column tripped InputDomain's precondition).

import Foundation
import Simulation
import Testing

@testable import Surrogate

@Suite("Surrogate datasets")
struct SurrogateDatasetTests {
    static let config = TandemConfig(
        arrivalRate: 0.5, arrivalScv: 1, batch: .geometric(mean: 2),
        stations: [
            StationConfig(servers: 2, service: MomentSpec(mean: 0.3)),
            StationConfig(servers: 4, service: MomentSpec(mean: 0.1), maxBatch: 4, timeout: 0.2),
        ],
        run: RunSettings(jobs: 2_000, replications: 2, seed: 5, threads: 1))

    /// A dataset of two stable rows of the same point; `edit` changes the second.
    static func dataset(_ edit: (inout [String: String]) -> Void) throws -> SurrogateDataset {
        let report = Simulator.simulate(config)
        let header = DatasetFile.header
        let cells = DatasetFile.row(point: 0, config: config, report: report)
        var second = Dictionary(uniqueKeysWithValues: zip(header, cells))
        edit(&second)
        let rows = [cells, header.map { second[$0]! }]
        let text = ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
        return try SurrogateDataset(table: try DatasetTable.parse(text, source: "data.csv"))
    }

    @Test("A dataset of three-station chains is read with three stations' targets")
    func chainsAreRead() throws {
        var config = Self.config
        config.stations.append(StationConfig(servers: 2, service: MomentSpec(mean: 0.2)))
        let header = DatasetFile.header(stations: 3)
        let row = DatasetFile.row(point: 0, config: config, report: Simulator.simulate(config))
        let text = [header, row].map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
        let dataset = try SurrogateDataset(table: try DatasetTable.parse(text, source: "chains.csv"))
        #expect(dataset.stations == 3)
        #expect(dataset.targetNames.contains("stations.3.instanceSecondsPerJob"))
        #expect(dataset.examples.first?.targets.count == dataset.targetNames.count)
        #expect(dataset.examples.first?.features.count == dataset.featureNames.count)
    }

    @Test func unreadCellsAreNumbersOrEmpty() throws {
        // A renewal row (meanOn 0) does not read arrival.onFraction; empty is an older
        // dataset's renewal row and takes the rebuilt value.
        let dataset = try Self.dataset { $0["arrival.onFraction"] = "" }
        #expect(dataset.examples.count == 2)
        #expect(dataset.examples[1].inputs["arrival.onFraction"] == "1")
        let domain = dataset.inputDomain(of: [0, 1])
        #expect(domain.columns["arrival.onFraction"] == .numeric(min: 1, max: 1))
        #expect(domain.columns["batch.dist"] == .categorical(["geometric"]))
    }

    @Test(arguments: ["abc", "nan", "0.5.1"])
    func textInAnUnreadNumberColumnIsNamed(_ text: String) throws {
        let error = try #require(throws: DataFileError.self) {
            try Self.dataset { $0["arrival.onFraction"] = text }
        }
        #expect(error.row == 2)
        #expect(error.column == "arrival.onFraction")
        #expect(error.message == "expected a number, got \"\(text)\"")
    }
}
