// Task deadlines end to end: real coordinator and worker processes, tasks that hang
// (deaf to cancellation) on live, heartbeating workers, taken back at their deadline
// and run again, with the workers' slots freed for the retries.

import Foundation
import Testing
import ZeroMQ

extension ClusterCLITests {
    @Test("tasks hanging on live workers are taken back at their deadline and finished by a retry")
    func hungTasksAreTakenBack() throws {
        defer { cleanUp() }
        // A liveness of 20 heartbeats (5 s): on a loaded machine no worker is taken for
        // lost and no assignment for lost in transit, so every retry is a deadline's.
        let (coordinator, endpoint) = try coordinator(
            journal: path("journal.sqlite"),
            extra: ["--task-deadline", "noop=1", "--task-deadline", "*=none", "--liveness", "20"])
        defer { coordinator.kill9() }
        let first = try worker(endpoint, name: "w1")
        defer { first.kill9() }
        let second = try worker(endpoint, name: "w2")
        defer { second.kill9() }

        // Every task's first attempt hangs for good; each worker has one slot, so without
        // deadlines (and a worker that frees the slot of a dropped task) nothing would finish.
        let tasks = 4
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        try socket.connect(endpoint)
        let header = "{\"kind\": \"noop\", \"taskCount\": \(tasks), \"payload\": {\"hangAttempts\": 1, \"resultBytes\": 2}}"
        try socket.send([Array("DUET/1".utf8), Array("SUBMIT".utf8), Array(header.utf8), Array("hung tasks".utf8)])

        var last: [String: Any]?
        let finished = try eventually(40) {
            last = try self.status(endpoint)
            return Self.runs(last).first?["phase"] as? String == "completed"
        }
        #expect(finished, "\(String(describing: last))\n\(coordinator.summary)\n\(first.summary)\n\(second.summary)")
        let status = try #require(last)
        let run = try #require(Self.runs(status).first)
        #expect((run["done"] as? NSNumber)?.intValue == tasks, "\(run)")
        #expect((run["failed"] as? NSNumber)?.intValue == 0, "\(run)")
        let counters = try #require(status["counters"] as? [String: Any])
        #expect((counters["overdue"] as? NSNumber)?.intValue == tasks, "\(counters)")
        #expect(
            (counters["failures"] as? NSNumber)?.intValue == tasks, "each hung attempt is a failed attempt: \(counters)")
        #expect((counters["results"] as? NSNumber)?.intValue == tasks, "\(counters)")
        #expect((counters["lostWorkers"] as? NSNumber)?.intValue == 0, "the workers stayed alive: \(counters)")
        let failures = status["recentFailures"] as? [[String: Any]] ?? []
        #expect(failures.count == tasks)
        for failure in failures {
            let error = failure["error"] as? String ?? ""
            #expect(error.contains("exceeded its deadline of 1.0 s (task kind noop) on worker "), "\(error)")
        }
        #expect(first.process.isRunning && second.process.isRunning)
        let human = try DuetBinary.run(["status", "--coordinator", endpoint])
        #expect(human.stdout.contains("\(tasks) past their deadline"), "\(human.summary)")
    }

    @Test("--task-deadline values that are not KIND=SECONDS are refused with what was expected")
    func badTaskDeadlineIsRefused() throws {
        defer { cleanUp() }
        let run = try DuetBinary.run(["coordinator", "--journal", path("j.sqlite"), "--task-deadline", "noop=soon"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("\"soon\" is not a positive number of seconds or none"), "\(run.summary)")
    }
}
