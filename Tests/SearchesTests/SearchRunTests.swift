// The in-process search end to end through the Pipeline API, on the dataset of
// examples/small-sweep.yaml (simulated once, in a few seconds): the three files,
// selection, re-running a trial alone, resuming an interrupted search without
// re-running finished trials, and a worker lost mid-trial.

import Foundation
import Search
import Simulation
import Surrogate
import Sweeps
import Testing
@testable import Searches

enum Fixture {
    /// The package root: this file is Tests/PipelineTests/SearchRunTests.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func example(_ name: String) -> String { packageRoot.appendingPathComponent("examples/\(name)").path }

    /// The 40-point dataset of examples/small-sweep.yaml.
    static let dataset: Result<SurrogateDataset, any Error> = Result {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("small.csv").path
        let runner = try SweepRunner(spec: try SweepSpec.load(path: example("small-sweep.yaml")), outputPath: path,
                                     threads: 2)
        _ = try runner.run()
        return try SurrogateDataset.load(path: path)
    }

    static func spec(_ replacements: [(String, String)] = []) throws -> SearchSpec {
        var text = try String(contentsOfFile: example("small-search.yaml"), encoding: .utf8)
        for (old, new) in replacements {
            precondition(text.contains(old), "small-search.yaml has no \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return try SearchSpec.parse(text, vocabulary: TrainerSearchSpace.vocabulary)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("duet-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Collects event lines from any thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ event: SearchEvent) { lock.withLock { lines.append(event.line) } }
    var all: [String] { lock.withLock { lines } }
    var count: Int { lock.withLock { lines.count } }

    /// The trials that were started from scratch as new jobs.
    var started: [Int] {
        all.compactMap { line in
            guard line.contains(" started on ") else { return nil }
            return Int(line.split(separator: " ")[1])
        }
    }
}

/// The rung results of each trial, the part of a search that must not depend on how
/// it was run (threads, interruptions, lost workers), with one thread.
func results(_ records: [TrialRecord]) -> [[Double]] { records.map { $0.rungs.map(\.mape) } }

@Suite("Search runs")
struct SearchRunTests {
    @Test func aSmallSearchWritesItsFilesAndSelectsTheBest() throws {
        let dataset = try Fixture.dataset.get()
        let spec = try Fixture.spec()
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try SearchRun(spec: spec, dataset: dataset, directory: directory.path)
        let executor = InProcessSearch(threads: 2)
        let summary = try run.run(executor: executor)

        #expect(!summary.interrupted && summary.records.count == 8)
        let document = try TrialsDocument.read(run.trialsURL)
        #expect(document.finished && document.trials == summary.records)
        #expect(document.trials.map(\.seed) == (0..<8).map { spec.trialSeed($0) })
        #expect(document.trials.allSatisfy { [.completed, .stopped].contains($0.state) && !$0.rungs.isEmpty })
        #expect(Set(document.trials.compactMap(\.worker)).isSubset(of: ["thread-1", "thread-2"]))
        let table = try String(contentsOf: run.tableURL, encoding: .utf8).split(separator: "\n")
        #expect(table.count == 9)
        #expect(table[0] == "trial,seed,layers,width,activation,lr,batchSize,state,epochs,validationMAPE,"
                    + "meanValidationMAPE,mape@3,mape@6,mape@12,seconds,worker,error")

        // The best trial: the lowest validation MAPE of meanResponse.
        let best = try #require(summary.best)
        #expect(best.validationMAPE == document.trials.compactMap(\.validationMAPE).min())
        #expect(document.best == best.trial)
        let model = try ModelFile.load(from: run.modelURL)
        #expect(model.metrics["search"]?["trial"] == Double(best.trial))
        #expect(model.metrics["test"]?["meanResponse.mape"] != nil && model.metrics["test"]?["p95Response.mape"] != nil)
        #expect(model.metrics["validation"]?["meanResponse.mape"] != nil)
        #expect(model.datasetSHA256 == dataset.sha256)
        #expect(model.settings.seed == best.seed && model.settings.threads == 1 && model.settings.maxEpochs == 12)

        // Any trial re-run alone gives the same model: the best one bit for bit.
        let retrained = try TrialTraining.retrain(best, spec: spec, data: run.data)
        #expect(retrained.best?.validationMAPE[0] == best.validationMAPE)
        #expect(retrained.bestNetwork.parameters == model.network.parameters)
        for record in document.trials where record.state == .stopped {
            let trainer = try TrialTraining.retrain(record, spec: spec, data: run.data)
            #expect(trainer.best?.validationMAPE[0] == record.validationMAPE, "trial \(record.trial)")
        }
        let status = SearchReport.status(document.trials, rungs: document.rungs)
        #expect(status.contains("leaderboard") && status.contains("best so far: trial \(best.trial)"))
    }

    @Test func anInterruptedSearchResumesWithoutRerunningFinishedTrials() throws {
        let dataset = try Fixture.dataset.get()
        let spec = try Fixture.spec()
        // The reference: the same search uninterrupted, on one thread (deterministic order).
        let reference = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: reference) }
        let whole = try SearchRun(spec: spec, dataset: dataset, directory: reference.path)
            .run(executor: InProcessSearch(threads: 1))

        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try SearchRun(spec: spec, dataset: dataset, directory: directory.path)
        let firstLog = EventLog()
        let cut = try first.run(executor: InProcessSearch(threads: 1)) { event in
            firstLog.append(event)
            if firstLog.count == 9 { first.interrupt() }
        }
        #expect(cut.interrupted)
        let saved = try TrialsDocument.read(first.trialsURL)
        #expect(!saved.finished)
        #expect(!FileManager.default.fileExists(atPath: first.modelURL.path))
        let finished = saved.trials.filter { [.paused, .completed].contains($0.state) }.map(\.trial)
        #expect(!finished.isEmpty)

        var notes: [String] = []
        let second = try SearchRun(spec: spec, dataset: dataset, directory: directory.path, log: { notes.append($0) })
        #expect(second.resumedTrials == saved.trials.count)
        #expect(notes.first?.hasPrefix("resuming: \(saved.trials.count) trials recorded") == true)
        let secondLog = EventLog()
        let rest = try second.run(executor: InProcessSearch(threads: 1), events: secondLog.append)
        #expect(!rest.interrupted)
        // Finished trials were not started again (a promotion resumes them past their rung).
        #expect(Set(secondLog.started).isDisjoint(with: finished))
        for trial in finished {
            #expect(Array(rest.records[trial].rungs.prefix(saved.trials[trial].rungs.count)) == saved.trials[trial].rungs)
        }
        // Deterministic training: the resumed search found exactly what the whole one did.
        #expect(results(rest.records) == results(whole.records))
        #expect(rest.best?.trial == whole.best?.trial)
        #expect(try ModelFile.load(from: second.modelURL).network.parameters
                    == ModelFile.load(from: URL(fileURLWithPath: reference.path).appendingPathComponent("best-model.json"))
                    .network.parameters)

        // Once finished, running again does no training and keeps the model.
        let third = try SearchRun(spec: spec, dataset: dataset, directory: directory.path)
        let thirdLog = EventLog()
        let again = try third.run(executor: InProcessSearch(threads: 1), events: thirdLog.append)
        #expect(thirdLog.all.isEmpty && !again.bestRetrained && results(again.records) == results(whole.records))
    }

    @Test func aLargerBudgetExtendsAFinishedSearch() throws {
        let dataset = try Fixture.dataset.get()
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = try SearchRun(spec: Fixture.spec([("{ trials: 8 }", "{ trials: 4 }")]), dataset: dataset,
                                  directory: directory.path).run(executor: InProcessSearch(threads: 2))
        #expect(small.records.count == 4)
        let log = EventLog()
        let more = try SearchRun(spec: Fixture.spec(), dataset: dataset, directory: directory.path)
            .run(executor: InProcessSearch(threads: 2), events: log.append)
        #expect(more.records.count == 8)
        #expect(Set(log.started) == [4, 5, 6, 7])
    }

    @Test func anotherSpecIsNotResumed() throws {
        let dataset = try Fixture.dataset.get()
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try SearchRun(spec: Fixture.spec([("{ trials: 8 }", "{ trials: 2 }")]), dataset: dataset,
                          directory: directory.path).run(executor: InProcessSearch(threads: 2))
        #expect {
            try SearchRun(spec: Fixture.spec([("{ trials: 8 }", "{ trials: 2 }"), ("seed: 1", "seed: 2")]),
                          dataset: dataset, directory: directory.path)
        } throws: { error in
            "\(error)".contains("holds a search with a different spec or dataset (seed)")
        }
    }

    @Test func aTrialLostMidTrainingRunsAgainFromScratch() throws {
        let dataset = try Fixture.dataset.get()
        let spec = try Fixture.spec()
        let reference = try Fixture.temporaryDirectory()
        let directory = try Fixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: reference)
            try? FileManager.default.removeItem(at: directory)
        }
        let clean = try SearchRun(spec: spec, dataset: dataset, directory: reference.path)
            .run(executor: InProcessSearch(threads: 1))

        let run = try SearchRun(spec: spec, dataset: dataset, directory: directory.path)
        let log = EventLog()
        let executor = LosingExecutor(losing: [1, 4])
        let summary = try run.run(executor: executor, events: log.append)
        #expect(log.all.filter { $0.contains("lost with") }.count == 2)
        // Trials 1 and 4 were handed out twice (once lost); every result is as in the clean run.
        #expect(log.all.filter { $0.hasPrefix("trial 1 started") }.count == 2)
        #expect(results(summary.records) == results(clean.records))
        #expect(summary.bestRetrained)
    }
}

extension SearchRunTests {
    /// A trial whose job throws is failed for good: the search still selects the best
    /// of the others, and the summary names the failed trial for `duet search` to exit 1.
    @Test func aTrialThatFailsForGoodIsNamedInTheSummary() throws {
        let dataset = try Fixture.dataset.get()
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try SearchRun(spec: try Fixture.spec(), dataset: dataset, directory: directory.path)
        let summary = try run.run(executor: FailingExecutor(failing: [2]))
        #expect(summary.failedTrials.map(\.trial) == [2])
        #expect(summary.model != nil && summary.best?.trial != 2)
        let message = try #require(SearchReport.failures(summary, directory: directory.path))
        #expect(message.hasPrefix("1 of \(summary.records.count) trials failed for good"), "\(message)")
        #expect(message.contains("trial 2 on worker-a: out of memory (test)"), "\(message)")
        #expect(message.contains("best-model.json is the best of the other trials"), "\(message)")

        // Resumed, the failed trial is not run again and is still reported.
        let again = try SearchRun(spec: try Fixture.spec(), dataset: dataset, directory: directory.path)
            .run(executor: FailingExecutor(failing: []))
        #expect(again.failedTrials.map(\.trial) == [2])
        #expect(SearchReport.failures(again, directory: directory.path) != nil)
    }

    @Test func aSearchWithoutFailuresHasNoFailureMessage() throws {
        let dataset = try Fixture.dataset.get()
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = try SearchRun(spec: try Fixture.spec([("{ trials: 8 }", "{ trials: 3 }")]), dataset: dataset,
                                    directory: directory.path).run(executor: FailingExecutor(failing: []))
        #expect(summary.failedTrials.isEmpty)
        #expect(SearchReport.failures(summary, directory: directory.path) == nil)
    }
}

/// Runs jobs on one thread, training each from scratch, and fails every job of some
/// trials as a job that throws does.
final class FailingExecutor: SearchExecutor, @unchecked Sendable {
    let failing: Set<Int>

    init(failing trials: Set<Int>) { failing = trials }

    var parallelism: Int { 1 }

    func execute(_ run: SearchRun) throws {
        while let job = run.nextJob(worker: "worker-a") {
            if failing.contains(job.trial) {
                run.failed(trial: job.trial, worker: "worker-a", error: "out of memory (test)")
                continue
            }
            var trainer = try TrialTraining.makeTrainer(job, data: run.data)
            _ = TrialTraining.run(job, trainer: &trainer, worker: "worker-a", report: run.report)
        }
    }

    func trainer(trial: Int, epochs: Int) -> Trainer? { nil }
}

/// Runs jobs on one thread without keeping trainers (every job trains from scratch to
/// its starting point), and loses the first job of some trials after one epoch, as a
/// cluster does when a worker disappears.
final class LosingExecutor: SearchExecutor, @unchecked Sendable {
    private var toLose: Set<Int>

    init(losing trials: Set<Int>) { toLose = trials }

    var parallelism: Int { 1 }

    func execute(_ run: SearchRun) throws {
        while let job = run.nextJob(worker: "worker-a") {
            var trainer = try TrialTraining.makeTrainer(job, data: run.data)
            if toLose.remove(job.trial) != nil {
                trainer.train(epochs: 1)
                run.lost(trial: job.trial, worker: "worker-a")
                continue
            }
            _ = TrialTraining.run(job, trainer: &trainer, worker: "worker-a", report: run.report)
        }
    }

    func trainer(trial: Int, epochs: Int) -> Trainer? { nil }
}
