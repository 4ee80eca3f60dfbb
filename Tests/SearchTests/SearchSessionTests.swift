// The search session without training: jobs, records, restoring, the time budget
// (an injected clock) and TPE, with made-up validation MAPEs.

import Testing
@testable import Search

@Suite("Search sessions")
struct SearchSessionTests {
    static func spec(_ algorithm: String = "{ name: asha, minEpochs: 1, maxEpochs: 4, reduction: 2 }",
                     budget: String = "{ trials: 6 }") throws -> SearchSpec {
        try SearchSpec.parse("""
            space:
              width: { int: [1, 100] }
              activation: { choice: [relu, tanh] }
              patience: 5
            budget: \(budget)
            algorithm: \(algorithm)
            seed: 3
            """, vocabulary: SearchSpecTests.vocabulary)
    }

    /// A made-up MAPE: better for wide networks, and with more epochs.
    static func mape(_ job: TrialJob, epochs: Int) -> Double {
        let width = job.hyperparameters.first { $0.name == "width" }!.value.number!
        return 1000 / width / Double(epochs)
    }

    /// Runs the session to the end on one worker; returns the jobs handed out.
    @discardableResult
    static func drive(_ session: inout SearchSession, now: Double = 0, limit: Int = 100) -> [TrialJob] {
        var jobs: [TrialJob] = []
        while jobs.count < limit, case .run(var job) = session.nextJob(worker: "w", now: now) {
            jobs.append(job)
            while true {
                let decision = session.report(RungReport(
                    trial: job.trial, rung: job.rung, epochs: job.epochs, mape: mape(job, epochs: job.epochs),
                    meanMAPE: 2 * mape(job, epochs: job.epochs), seconds: Double(job.epochs), canContinue: true,
                    worker: "w"), now: now)
                guard case .promote(let epochs) = decision else { break }
                job.rung += 1
                job.epochs = epochs
            }
        }
        return jobs
    }

    @Test func recordsEveryTrial() throws {
        let spec = try Self.spec()
        var session = SearchSession(spec: spec, now: 0)
        Self.drive(&session)
        let records = session.finalRecords
        #expect(records.count == 6)
        #expect(records.map(\.trial) == Array(0..<6))
        #expect(records.map(\.seed) == (0..<6).map { spec.trialSeed($0) })
        #expect(records.allSatisfy { $0.hyperparameters.map(\.name) == ["width", "activation", "patience"] })
        #expect(records.allSatisfy { $0.state == .completed || $0.state == .stopped })
        #expect(records.contains { $0.state == .completed })
        for record in records {
            #expect(record.rungs.map(\.rung) == Array(0..<record.rungs.count))
            #expect(record.epochs == [1, 2, 4][record.rungs.count - 1])
        }
        let best = try #require(session.best)
        #expect(best.validationMAPE == records.compactMap(\.validationMAPE).min())
        #expect(session.leaderboard(limit: 3).count == 3)
        #expect(session.nextJob(worker: "w", now: 0) == .done)
    }

    @Test func aRestoredSessionRunsOnlyWhatWasUnfinished() throws {
        let spec = try Self.spec()
        var first = SearchSession(spec: spec, now: 0)
        Self.drive(&first, limit: 3)
        // A job handed out and never reported: the process died while training it.
        guard case .run(let lost) = first.nextJob(worker: "w", now: 0) else { Issue.record("no job"); return }
        let saved = first.records
        #expect(saved[lost.trial].state == .running)

        var second = SearchSession(spec: spec, now: 100, restoring: saved, elapsedBefore: 50)
        #expect(second.records[lost.trial].state == .queued)
        let jobs = Self.drive(&second, now: 100)
        #expect(jobs.first?.trial == lost.trial)
        #expect(jobs.first?.fromEpochs == lost.fromEpochs && jobs.first?.epochs == lost.epochs)
        // Trials finished before keep their results and get no new job unless promoted.
        for trial in saved.indices where saved[trial].state == .paused || saved[trial].state == .completed {
            #expect(Array(second.records[trial].rungs.prefix(saved[trial].rungs.count)) == saved[trial].rungs)
            #expect(!jobs.contains { $0.trial == trial && $0.rung < saved[trial].rungs.count })
        }
        #expect(second.records.count == 6)
    }

    @Test func theTimeBudgetStopsHandingOutWork() throws {
        var session = SearchSession(spec: try Self.spec(budget: "{ minutes: 1 }"), now: 1000)
        guard case .run(let job) = session.nextJob(worker: "a", now: 1000) else { Issue.record("no job"); return }
        guard case .run = session.nextJob(worker: "b", now: 1059) else { Issue.record("no job"); return }
        #expect(session.nextJob(worker: "c", now: 1060) == .wait)  // time is up; two trials are running
        let decision = session.report(RungReport(trial: job.trial, rung: 0, epochs: 1, mape: 1, meanMAPE: 1,
                                                 seconds: 1, canContinue: true, worker: "a"), now: 1061)
        #expect(decision == .pause)
        #expect(session.progress(now: 1061).closed)
        session.lost(trial: 1, now: 1062)
        #expect(session.records[1].state == .cancelled)
        #expect(session.nextJob(worker: "a", now: 1063) == .done)
        // A resumed search only gets the time left.
        let resumed = SearchSession(spec: try Self.spec(budget: "{ minutes: 1 }"), now: 0, elapsedBefore: 45)
        #expect(resumed.deadline == 15)
    }

    @Test func randomSearchTrainsEveryTrialToTheEnd() throws {
        var session = SearchSession(spec: try Self.spec("{ name: sobol, maxEpochs: 4 }"), now: 0)
        let jobs = Self.drive(&session)
        #expect(jobs.count == 6 && jobs.allSatisfy { $0.epochs == 4 && $0.rungs == [4] })
        #expect(session.records.allSatisfy { $0.state == .completed && $0.epochs == 4 })
        #expect(session.expectedEpochs(trials: 6) == 24)
    }

    @Test func tpeFavoursTheGoodRegion() {
        // One dimension; the MAPE is the distance to 0.8. After 10 random trials TPE
        // should propose points nearer 0.8 than uniform draws (mean distance 0.34).
        let sampler = TPESampler(ranges: [.uniform(0, 1)], seed: 5)
        var history: [TPESampler.Observation] = []
        let design = try! Design(method: .random, dimensions: 1, points: 1000, seed: 5)
        for trial in 0..<10 {
            #expect(sampler.propose(trial: trial, history: history) == nil)
            let u = design.point(trial)[0]
            history.append(.init(coordinates: [u], results: [abs(u - 0.8)]))
        }
        var distances: [Double] = []
        for trial in 10..<40 {
            let u = sampler.propose(trial: trial, history: history)![0]
            #expect(u >= 0 && u < 1)
            distances.append(abs(u - 0.8))
            history.append(.init(coordinates: [u], results: [abs(u - 0.8)]))
        }
        #expect(distances.reduce(0, +) / Double(distances.count) < 0.15)
        // Seeded by trial: the same history gives the same proposal.
        #expect(sampler.propose(trial: 40, history: history) == sampler.propose(trial: 40, history: history))
    }

    @Test("The expected epochs follow the promotions ASHA makes: over, they are what the search trained")
    func expectedEpochsFollowPromotions() throws {
        var session = SearchSession(spec: try Self.spec(), now: 0)
        // Before any result: 6 trials at rung 1, 3 on to rung 2 (1 more epoch each),
        // 1.5 on to rung 4 (2 more each).
        let before: Int = 6 + 3 * 1 + 3
        #expect(session.expectedEpochs(trials: 6) == before)
        // Every trial better than all before it: each is in the top half of its rung
        // when it finishes, so ASHA promotes more than half (as asynchronous searches do).
        while case .run(var job) = session.nextJob(worker: "w", now: 0) {
            while true {
                let mape = Double(100 - job.trial) / Double(job.epochs)
                let decision = session.report(RungReport(
                    trial: job.trial, rung: job.rung, epochs: job.epochs, mape: mape, meanMAPE: mape,
                    seconds: 1, canContinue: true, worker: "w"), now: 0)
                guard case .promote(let epochs) = decision else { break }
                job.rung += 1
                job.epochs = epochs
            }
        }
        let epochs: [Int] = session.records.map(\.epochs)
        let trained: Int = epochs.reduce(0, +)
        let reached: [Int] = session.records.map(\.rungs.count)
        #expect(reached.filter { $0 >= 2 }.count > 3, "\(reached)")
        // 1 / reduction alone expected 12 epochs; what ASHA promoted says what was trained.
        #expect(trained > before, "\(reached)")
        #expect(session.expectedEpochs(trials: 6) == trained, "\(reached)")
    }

    @Test func expectedEpochsOfAHugeBudgetDoNotOverflow() throws {
        let session = SearchSession(spec: try Self.spec(budget: "{ trials: 9223372036854775807 }"), now: 0)
        #expect(session.expectedEpochs(trials: 4) == 4 + 2 * 1 + 1 * 2)  // rungs 1, 2, 4; halved each
        #expect(session.expectedEpochs(trials: .max) == .max)
    }
}
