// Runs a search's trials on this process's threads: each thread asks the search for a
// job, trains it on one thread (BLAS single-threaded), reports each rung and carries
// on while the trial is promoted.
//
// The "checkpoint" of a paused trial is its live Trainer, kept in memory so that a
// promotion continues exactly where the trial stopped. At most `keepTrainers` are
// kept: beyond that the worst (highest validation MAPE; finished trials that are not
// the best first) are dropped, and a dropped trial that is promoted later is
// retrained from scratch to its rung first (deterministic: the same state again).

import Foundation
import Search
import Surrogate

public final class InProcessSearch: SearchExecutor, @unchecked Sendable {
    public let threads: Int
    public let keepTrainers: Int

    private let lock = NSLock()
    private var live: [Int: Kept] = [:]

    private struct Kept {
        var trainer: Trainer
        var mape: Double
        var finished: Bool
    }

    /// `threads` trials at once (default 2), each training on one thread.
    public init(threads: Int = 2, keepTrainers: Int = 32) {
        precondition(threads >= 1 && keepTrainers >= 0)
        self.threads = threads
        self.keepTrainers = keepTrainers
    }

    public var parallelism: Int { threads }

    public func execute(_ run: SearchRun) throws {
        // Plain threads, not concurrentPerform: every worker must run at once even with
        // more threads than cores, or an idle worker could wait on a busy one forever.
        let group = DispatchGroup()
        for index in 1...threads {
            group.enter()
            let thread = Thread { [self] in
                work(run, worker: "thread-\(index)")
                group.leave()
            }
            thread.name = "duet-search-\(index)"
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
    }

    public func trainer(trial: Int, epochs: Int) -> Trainer? {
        lock.withLock {
            guard let kept = live[trial], kept.trainer.epochsCompleted == epochs else { return nil }
            return kept.trainer
        }
    }

    /// Trials held in memory (tests).
    public var heldTrials: [Int] { lock.withLock { live.keys.sorted() } }

    private func work(_ run: SearchRun, worker: String) {
        while let job = run.nextJob(worker: worker) {
            do {
                var trainer = try take(job) ?? TrialTraining.makeTrainer(job, data: run.data, threads: run.trialThreads)
                let outcome = TrialTraining.run(job, trainer: &trainer, worker: worker, shouldStop: { run.isStopping },
                                                report: run.report)
                if outcome != .interrupted { keep(job.trial, trainer) }
            } catch {
                run.failed(trial: job.trial, worker: worker, error: "\(error)")
            }
        }
    }

    /// The trial's live trainer, if held at or before the job's starting point.
    private func take(_ job: TrialJob) -> Trainer? {
        lock.withLock {
            guard let kept = live.removeValue(forKey: job.trial), kept.trainer.epochsCompleted <= job.fromEpochs else {
                return nil
            }
            return kept.trainer
        }
    }

    private func keep(_ trial: Int, _ trainer: Trainer) {
        let mape = trainer.best?.validationMAPE[TrialTraining.meanResponseIndex] ?? .nan
        lock.withLock {
            live[trial] = Kept(trainer: trainer, mape: mape.isNaN ? .infinity : mape, finished: trainer.isFinished)
            while live.count > keepTrainers {
                let bestTrial = live.min { ($0.value.mape, $0.key) < ($1.value.mape, $1.key) }?.key
                // Drop finished trials that are not the best first, then the worst.
                let victim = live.max { a, b in
                    let x = (a.value.finished && a.key != bestTrial ? 1 : 0, a.value.mape, a.key)
                    let y = (b.value.finished && b.key != bestTrial ? 1 : 0, b.value.mape, b.key)
                    return x < y
                }!.key
                live.removeValue(forKey: victim)
            }
        }
    }
}
