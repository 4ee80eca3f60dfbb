// ASHA's rules against hand-worked cases: rungs, the top-1/eta promotion rule (ties
// to the lower trial number), promotion order (highest rung first, best first),
// never waiting for a rung to fill, the top rung, trials that end early, the trial
// budget, lost jobs and closing.

import Testing
@testable import Search

@Suite("ASHA")
struct AshaTests {
    @Test(arguments: [
        (10, 270, 3, [10, 30, 90, 270]),
        (10, 200, 3, [10, 30, 90, 200]),  // the top rung is less than a full factor up
        (1, 100, 4, [1, 4, 16, 64, 100]),
        (5, 5, 3, [5]),
        (3, 12, 2, [3, 6, 12]),
    ])
    func rungs(minEpochs: Int, maxEpochs: Int, reduction: Int, expected: [Int]) {
        #expect(AshaScheduler.rungs(minEpochs: minEpochs, maxEpochs: maxEpochs, reduction: reduction) == expected)
    }

    /// Reports a result for a running trial and returns the decision.
    static func report(_ asha: inout AshaScheduler, _ trial: Int, _ mape: Double, canContinue: Bool = true)
        -> AshaDecision
    {
        asha.report(trial: trial, rung: asha.trials[trial].results.count, mape: mape, canContinue: canContinue)
    }

    @Test func neverWaitsForARungToFill() {
        var asha = AshaScheduler(rungs: [10, 30, 90], reduction: 3)
        #expect(asha.nextJob() == .start(trial: 0, epochs: 10))
        // One result at rung 0: floor(1/3) = 0 promotions, so the worker starts a new trial.
        #expect(Self.report(&asha, 0, 5) == .pause)
        #expect(asha.nextJob() == .start(trial: 1, epochs: 10))
        #expect(Self.report(&asha, 1, 3) == .pause)
        #expect(asha.nextJob() == .start(trial: 2, epochs: 10))
    }

    @Test func theTopThirdOfARungIsPromotedBestFirst() {
        var asha = AshaScheduler(rungs: [10, 30, 90], reduction: 3)
        for _ in 0..<3 { _ = asha.nextJob() }
        #expect(Self.report(&asha, 0, 5) == .pause)
        #expect(Self.report(&asha, 1, 3) == .pause)
        // Third result: floor(3/3) = 1, the top one is trial 1 (3%), not trial 2 (4%).
        #expect(Self.report(&asha, 2, 4) == .pause)
        #expect(asha.nextJob() == .resume(trial: 1, fromEpochs: 10, epochs: 30))
        // Trial 1 is no longer promotable from rung 0 and nobody else is in the top third.
        #expect(asha.nextJob() == .start(trial: 3, epochs: 10))
        #expect(asha.trials.map(\.state) == [.paused, .running, .paused, .running])
    }

    @Test func aTrialThatIsTheNextPromotionCarriesOnAtOnce() {
        var asha = AshaScheduler(rungs: [10, 30, 90], reduction: 3)
        for _ in 0..<3 { _ = asha.nextJob() }
        _ = Self.report(&asha, 0, 5)
        _ = Self.report(&asha, 1, 4)
        // The third result is the best: its worker goes on to rung 1 without a handover.
        #expect(Self.report(&asha, 2, 2) == .promote(epochs: 30))
        #expect(asha.trials[2].state == .running)
        #expect(Self.report(&asha, 2, 1.5) == .pause)  // floor(1/3) = 0 at rung 1
    }

    @Test func tiesGoToTheLowerTrialNumber() {
        var asha = AshaScheduler(rungs: [1, 2], reduction: 3)
        for _ in 0..<6 { _ = asha.nextJob() }
        // All equal, reported in reverse: with three results, the place goes to trial 0,
        // the lowest number, not to trial 4, the first to report.
        #expect(Self.report(&asha, 4, 7) == .pause)
        #expect(Self.report(&asha, 2, 7) == .pause)
        #expect(Self.report(&asha, 0, 7) == .promote(epochs: 2))
        #expect(asha.ranking(rung: 0) == [0, 2, 4])
        for trial in [5, 3] { #expect(Self.report(&asha, trial, 7) == .pause) }
        // Trial 1 ties too; six results give two promotions: 0 (done) and 1.
        #expect(Self.report(&asha, 1, 7) == .promote(epochs: 2))
        #expect(asha.nextJob() == .start(trial: 6, epochs: 1))
    }

    @Test func higherRungsArePromotedFirst() {
        // Reduction 2, rungs 1, 2, 4 epochs. Rung 1: B (1.5) and C (2.5): B promotable.
        // Rung 0: D 0.5, A 1.0, B 2.0, C 3.0: the top two are D and A, both paused there.
        let a = AshaScheduler.Trial(state: .paused, results: [1.0])
        let b = AshaScheduler.Trial(state: .paused, results: [2.0, 1.5])
        let c = AshaScheduler.Trial(state: .paused, results: [3.0, 2.5])
        let d = AshaScheduler.Trial(state: .paused, results: [0.5])
        var asha = AshaScheduler(rungs: [1, 2, 4], reduction: 2, restoring: [a, b, c, d])
        #expect(asha.promotable()! == (trial: 1, rung: 1))
        #expect(asha.nextJob() == .resume(trial: 1, fromEpochs: 2, epochs: 4))
        #expect(asha.nextJob() == .resume(trial: 3, fromEpochs: 1, epochs: 2))
        #expect(asha.nextJob() == .resume(trial: 0, fromEpochs: 1, epochs: 2))
        #expect(asha.nextJob() == .start(trial: 4, epochs: 1))
    }

    @Test func theTopRungFinishesATrial() {
        var asha = AshaScheduler(rungs: [1, 3], reduction: 3)
        for _ in 0..<3 { _ = asha.nextJob() }
        _ = Self.report(&asha, 0, 3)
        _ = Self.report(&asha, 1, 2)
        #expect(Self.report(&asha, 2, 1) == .promote(epochs: 3))
        #expect(Self.report(&asha, 2, 0.5) == .stop)
        #expect(asha.trials[2].state == .completed && asha.trials[2].results == [1, 0.5])
        #expect(asha.promotable() == nil)
    }

    @Test func aTrialThatEndedEarlyCountsButIsNotPromoted() {
        var asha = AshaScheduler(rungs: [10, 30], reduction: 3)
        for _ in 0..<3 { _ = asha.nextJob() }
        // Trial 0 stopped early (patience) with the best result: it takes the top
        // third's only place and cannot use it.
        #expect(Self.report(&asha, 0, 1, canContinue: false) == .stop)
        _ = Self.report(&asha, 1, 3)
        #expect(Self.report(&asha, 2, 2) == .pause)
        #expect(asha.trials[0].state == .completed)
        #expect(asha.nextJob() == .start(trial: 3, epochs: 10))
    }

    @Test func notANumberRanksLast() {
        var asha = AshaScheduler(rungs: [1, 2], reduction: 3)
        for _ in 0..<3 { _ = asha.nextJob() }
        _ = Self.report(&asha, 0, .nan)
        _ = Self.report(&asha, 1, 50)
        #expect(Self.report(&asha, 2, 1000) == .pause)
        #expect(asha.ranking(rung: 0) == [1, 2, 0])
        #expect(asha.nextJob() == .resume(trial: 1, fromEpochs: 1, epochs: 2))
    }

    @Test func theTrialBudgetEndsTheSearchOncePromotionsAreDone() {
        var asha = AshaScheduler(rungs: [1, 2], reduction: 2, maxTrials: 2)
        #expect(asha.nextJob() == .start(trial: 0, epochs: 1))
        #expect(asha.nextJob() == .start(trial: 1, epochs: 1))
        #expect(asha.nextJob() == .wait)  // the budget is spent, both trials are running
        #expect(Self.report(&asha, 0, 1) == .pause)
        #expect(asha.nextJob() == .wait)  // trial 1 may still make a promotion
        #expect(Self.report(&asha, 1, 2) == .pause)
        #expect(asha.nextJob() == .resume(trial: 0, fromEpochs: 1, epochs: 2))
        #expect(asha.nextJob() == .wait)
        #expect(Self.report(&asha, 0, 0.5) == .stop)
        #expect(asha.nextJob() == .done)
        #expect(asha.trials.map(\.state) == [.completed, .paused])
    }

    @Test func aLostJobIsHandedOutAgainFirst() {
        var asha = AshaScheduler(rungs: [1, 2, 4], reduction: 2)
        _ = asha.nextJob()
        _ = asha.nextJob()
        asha.lost(trial: 1)  // before any rung: it starts again
        #expect(asha.trials[1].state == .queued)
        #expect(asha.nextJob() == .start(trial: 1, epochs: 1))
        _ = Self.report(&asha, 0, 2)
        #expect(Self.report(&asha, 1, 1) == .promote(epochs: 2))
        asha.lost(trial: 1)  // on its way to rung 1: it resumes from rung 0
        #expect(asha.nextJob() == .resume(trial: 1, fromEpochs: 1, epochs: 2))
        #expect(asha.nextJob() == .start(trial: 2, epochs: 1))
    }

    @Test func closingStopsNewWorkAndPromotions() {
        var asha = AshaScheduler(rungs: [1, 2], reduction: 2)
        for _ in 0..<3 { _ = asha.nextJob() }
        _ = Self.report(&asha, 0, 2)
        asha.lost(trial: 2)
        asha.close()
        #expect(asha.trials[2].state == .cancelled)
        #expect(asha.nextJob() == .wait)  // trial 1 is still running
        #expect(Self.report(&asha, 1, 1) == .pause)  // the top half, but closed
        #expect(asha.nextJob() == .done)
    }

    @Test func restoringRequeuesUnfinishedTrialsInOrder() {
        let trials = [
            AshaScheduler.Trial(state: .completed, results: [1, 0.5]),
            AshaScheduler.Trial(state: .running, results: [2]),
            AshaScheduler.Trial(state: .paused, results: [3]),
            AshaScheduler.Trial(state: .running),
        ]
        var asha = AshaScheduler(rungs: [1, 2], reduction: 3, maxTrials: 4, restoring: trials)
        #expect(asha.trials.map(\.state) == [.completed, .queued, .paused, .queued])
        #expect(asha.nextJob() == .resume(trial: 1, fromEpochs: 1, epochs: 2))
        #expect(asha.nextJob() == .start(trial: 3, epochs: 1))
        #expect(asha.nextJob() == .wait)
    }

    @Test func oneRungIsPlainRandomSearch() {
        var asha = AshaScheduler(rungs: [50], reduction: 1, maxTrials: 2)
        #expect(asha.nextJob() == .start(trial: 0, epochs: 50))
        #expect(Self.report(&asha, 0, 1) == .stop)
        #expect(asha.nextJob() == .start(trial: 1, epochs: 50))
        #expect(Self.report(&asha, 1, 2) == .stop)
        #expect(asha.nextJob() == .done)
    }
}
