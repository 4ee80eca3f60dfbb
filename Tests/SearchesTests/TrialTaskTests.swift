// What identifies a rung's run: the job, not what the search knew when it submitted.
// A restarted search that knows one more finished trial asks for the model below
// another MAPE; its resubmitted rung must still resume the unfinished run (fault
// matrix, search-client-50%: the rung was trained twice).

import Cluster
import ClusterCore
import Search
import Testing
@testable import Searches

@Suite("Train-trial runs")
struct TrialTaskTests {
    let job = TrialJob(trial: 3, seed: 42, hyperparameters: [], fromEpochs: 10, rung: 1, epochs: 30, rungs: [10, 30, 90])
    let dataset = BlobHash(of: Array("dataset".utf8))

    func submission(_ threshold: Double?) -> RunSubmission {
        ClusterSearch.rungSubmission(job, search: "fingerprint", dataset: dataset, split: SearchSplit(), label: "search out",
                                     modelBelowMAPE: threshold)
    }

    @Test func theModelThresholdIsNotPartOfTheRunsIdentity() throws {
        let early = submission(1e300), late = submission(0.125)
        #expect(early.kind == late.kind && early.taskCount == late.taskCount)
        #expect(early.spec == late.spec)
        #expect(BlobHash(of: early.spec) == BlobHash(of: late.spec))
        #expect(try TrialTaskPayload.modelBelowMAPE(early.payload) == 1e300)
        #expect(try TrialTaskPayload.modelBelowMAPE(late.payload) == 0.125)
        #expect(try TrialTaskPayload.modelBelowMAPE(submission(nil).payload) == nil)
        // The spec still names the job.
        #expect(try TrialTaskSpec.decode(late.spec).job == job)
        // Another rung of the trial is another run.
        var next = job
        next.rung = 2
        next.fromEpochs = 30
        next.epochs = 90
        let other = ClusterSearch.rungSubmission(next, search: "fingerprint", dataset: dataset, split: SearchSplit(),
                                                 label: "search out", modelBelowMAPE: 1e300)
        #expect(other.spec != early.spec)
    }

    @Test func aRungResubmittedWithAnotherThresholdResumesItsRun() {
        var coordinator = CoordinatorState()
        _ = coordinator.putBlob(from: PeerID("search"), Array("dataset".utf8), now: 0)
        let first = coordinator.submit(from: PeerID("search"), submission(1e300), now: 1)
        let again = coordinator.submit(from: PeerID("search-restarted"), submission(0.125), now: 2)
        guard case .reply(_, .submitted(let run, resumed: false))? = first.last(where: \.isReply) else {
            Issue.record("the first submission did not start a run: \(first)")
            return
        }
        #expect(again.contains(.reply(to: PeerID("search-restarted"), .submitted(run: run, resumed: true))))
    }

    @Test func aThresholdThatIsNotANumberIsAnErrorNamingIt() {
        #expect(throws: TaskFailure.self) { try TrialTaskPayload.modelBelowMAPE(["modelBelowMAPE": "low"]) }
        do {
            _ = try TrialTaskPayload.modelBelowMAPE(["modelBelowMAPE": "low"])
        } catch {
            #expect("\(error)".contains("modelBelowMAPE"))
        }
    }
}

extension CoordinatorAction {
    fileprivate var isReply: Bool {
        if case .reply = self { return true }
        return false
    }
}
