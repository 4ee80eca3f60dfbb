// Distillation: training rows labelled by another model instead of by simulation.
//
// An ensemble predicts better than any of its members but costs their sum. A single
// network trained on the ensemble's predictions over many configurations nobody
// simulated (the "teacher rows"), beside the simulated rows, learns most of what the
// ensemble knows at the cost of one network. Teacher rows only ever train: the
// validation rows that stop training and calibrate the error bands, and the test
// rows, stay simulated ones, so the student's figures are measured against
// simulation, not against its teacher.

import DuetSupport
import Foundation
import Simulation

/// A configuration a teacher cannot label: its chain is longer than the dataset's
/// layout or outside the teacher's range.
public struct TeacherRowError: Error, CustomStringConvertible, LocalizedError {
    public var description: String
    public var errorDescription: String? { description }
}

extension SurrogateDataset {
    /// This dataset with `configs` appended as training rows whose targets are
    /// `teacher`'s predictions (bulk, on `threads` threads), and `split` with their
    /// indices added to its training rows; validation and test are unchanged. The
    /// teacher rows' `point` is -1 - their index in `configs`. `source` and `sha256`
    /// name the teacher and the configurations as well.
    public func addingTeacherRows(_ configs: [TandemConfig], teacher: SurrogateModel, teacherName: String,
                                  split: DatasetSplit, threads: Int = ProcessInfo.processInfo.activeProcessorCount)
        throws -> (dataset: SurrogateDataset, split: DatasetSplit)
    {
        for (i, config) in configs.enumerated() {
            let length = config.stations.count
            if length > stations {
                throw TeacherRowError(description: "teacher configuration \(i + 1): a chain of \(length) stations, "
                                          + "longer than the dataset's \(stations)")
            }
            do {
                try teacher.checkStations(config)
            } catch {
                throw TeacherRowError(description: "teacher configuration \(i + 1): \(error)")
            }
        }
        let predictions = teacher.predict(configs, threads: threads)
        var dataset = self
        var hash = SHA256Hasher()
        hash.update(Array((sha256 + "\n" + teacherName + "\n").utf8))
        for (i, (config, predicted)) in zip(configs, predictions).enumerated() {
            let names = SurrogateTargets.names(stations: config.stations.count)
            // The teacher's values in its own layout, picked for this chain's targets.
            let targets = names.map { predicted[SurrogateTargets.index(of: $0, stations: teacher.stations)!] }
            let form = EstimatedForm(config)
            let cells = ConfigColumns.cells(of: config)
            hash.update(Array((cells.joined(separator: ",") + "\n").utf8))
            dataset.examples.append(SurrogateExample(
                point: -1 - i, config: config,
                features: SurrogateFeatures.padded(SurrogateFeatures.vector(estimated: form), stations: stations),
                targets: targets, timeUnit: form.timeUnit, bottleneckLoad: config.offeredLoads.max() ?? 0,
                inputs: Dictionary(zip(ConfigColumns.names(of: config), cells), uniquingKeysWith: { $1 }),
                domainInputs: form.form.domainCells(batchDist: config.batch.distName)))
        }
        dataset.sha256 = hexString(hash.finalize())
        dataset.source = source + " + \(configs.count) rows labelled by \(teacherName)"
        var split = split
        split.train += examples.count..<dataset.examples.count
        return (dataset, split)
    }
}
