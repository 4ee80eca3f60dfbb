// Many worker connections in one process (`duet bench dispatch --workers-in-process`)
// against a coordinator on a thread: each connection is a worker of its own, every
// task ends with exactly one result, and the coordinator, which answers STATUS ahead
// of the batch it arrives in, still answers a peer's requests in order.

import ClusterCore
import Foundation
import Testing
import ZeroMQ

@testable import Cluster

@Suite("In-process worker connections")
struct NoopWorkerHostTests {
    @Test("16 connections of one host are 16 workers and finish a 2,000-task run with each result once")
    func manyConnectionsRunAWholeRun() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("duet-host-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let endpoint = "ipc://\(directory)/c.sock"
        // Liveness 20 × 0.25 s: a loaded machine does not make workers look lost.
        var config = CoordinatorConfig()
        config.heartbeatInterval = 0.25
        config.liveness = 20
        let server = CoordinatorServer(
            options: CoordinatorOptions(endpoints: [endpoint], journalPath: directory + "/j.sqlite", config: config),
            logger: .silent)
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? server.run()
            stopped.signal()
        }
        defer {
            server.stop()
            #expect(stopped.wait(timeout: .now() + 10) == .success)
        }
        let host = NoopWorkerHost(endpoint: endpoint, connections: 16, slots: 2, prefetch: 4)
        host.start()
        defer { host.stop() }

        let client = try ClusterClient(endpoint: endpoint, keys: nil)
        defer { client.close() }
        var joined: ClusterStatus?
        for _ in 0..<600 {
            if case .status(let status) = try client.request(.status, timeout: 5), status.workers.count == 16 {
                joined = status
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let workers = try #require(joined, "the 16 connections did not all join").workers
        #expect(Set(workers.map(\.id)).count == 16, "each connection has its own identity")

        let tasks = 2000
        let reply = try client.request(.submit(RunSubmission(kind: "noop", taskCount: tasks, spec: Array("host".utf8))), timeout: 5)
        guard case .submitted(let run, _) = reply else {
            Issue.record("\(reply)")
            return
        }
        var page: ResultPage?
        for _ in 0..<1200 {
            if case .results(let current) = try client.request(.results(run: run, from: 0, limit: 10_000), timeout: 5),
                current.complete
            {
                page = current
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let results = try #require(page, "the run did not complete")
        #expect(results.items.map(\.index) == Array(0..<tasks))
        #expect(results.items.allSatisfy { $0.outcome == .done([]) })
        guard case .status(let status) = try client.request(.status, timeout: 5) else {
            Issue.record("no status")
            return
        }
        #expect(status.counters.results == tasks)
        #expect(status.counters.duplicates == 0 && status.counters.lostWorkers == 0, "\(status.counters)")
        #expect(host.tasksAnswered >= tasks)
    }

    @Test("a peer's SUBMIT and STATUS sent back to back are answered in order, the status showing the run")
    func statusAfterAnotherRequestOfTheSamePeerKeepsItsPlace() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("duet-order-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let endpoint = "ipc://\(directory)/c.sock"
        let server = CoordinatorServer(
            options: CoordinatorOptions(endpoints: [endpoint], journalPath: directory + "/j.sqlite"), logger: .silent)
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? server.run()
            stopped.signal()
        }
        defer {
            server.stop()
            #expect(stopped.wait(timeout: .now() + 10) == .success)
        }
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close(linger: 0) }
        try socket.set(.receiveTimeout, 30_000)
        try socket.connect(endpoint)
        for round in 0..<5 {
            let submission = RunSubmission(kind: "noop", taskCount: 1, spec: Array("order \(round)".utf8))
            _ = try socket.send(ClientRequest.submit(submission).encoded())
            _ = try socket.send(ClientRequest.status.encoded())
            var replies: [ClientReply] = []
            for _ in 0..<2 {
                guard let frames = try socket.receive() else { break }
                replies.append(try ClientReply.decode(frames))
            }
            guard replies.count == 2, case .submitted(let run, _) = replies[0], case .status(let status) = replies[1] else {
                Issue.record("round \(round): \(replies)")
                return
            }
            #expect(status.runs.contains { $0.id == run }, "round \(round): the status was answered before the SUBMIT")
        }
    }
}
