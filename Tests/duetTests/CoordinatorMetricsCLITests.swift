// `duet coordinator --metrics`: scraped during and after a small sweep on two workers,
// its counters checked against the run's known task counts.

import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension ClusterCLITests {
    /// The samples of a Prometheus text exposition, by series (`name` or `name{labels}`).
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    func scrape(_ base: String) throws -> (status: Int, type: String, samples: [String: Double]) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?) = (nil, nil)
        URLSession.shared.dataTask(with: URL(string: base + "/metrics")!) { data, response, _ in
            result = (data, response)
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 10)
        let response = try #require(result.1 as? HTTPURLResponse, "no answer from \(base)/metrics")
        return (response.statusCode, response.value(forHTTPHeaderField: "Content-Type") ?? "",
                Self.samples(String(decoding: result.0 ?? Data(), as: UTF8.self)))
    }

    @Test("--metrics serves Prometheus counters that match a small sweep's task counts")
    func coordinatorMetrics() throws {
        defer { cleanUp() }
        let (coordinator, endpoint) = try coordinator(journal: path("journal.sqlite"), extra: ["--metrics", "127.0.0.1:0"])
        defer { coordinator.kill9() }
        var base: String?
        _ = eventually(10) {
            for line in coordinator.stderr.split(separator: "\n") {
                guard let found = line.range(of: "metrics on http://") else { continue }
                let address = line[found.upperBound...].prefix { !$0.isWhitespace }
                base = "http://" + address.dropLast("/metrics".count)
            }
            return base != nil
        }
        let url = try #require(base, "\(coordinator.summary)")

        // Before any work: nothing queued, no worker.
        let idle = try scrape(url)
        #expect(idle.status == 200)
        #expect(idle.type.hasPrefix("text/plain; version=0.0.4"))
        #expect(idle.samples["duet_coordinator_tasks_queued"] == 0)
        #expect(idle.samples["duet_coordinator_workers_connected"] == 0)
        #expect(idle.samples["duet_coordinator_tasks_done_total"] == 0)

        // A sweep with no worker yet: its points are queued.
        let points = 6
        let spec = DuetBinary.packageRoot.appendingPathComponent("examples/small-sweep.yaml").path
        let sweep = try DuetProcess(
            ["sweep", spec, "--points", String(points), "--out", path("out.csv"), "--coordinator", endpoint],
            in: scratch, name: "sweep")
        defer { sweep.kill9() }
        var waiting: [String: Double] = [:]
        let queued = try eventually(30) {
            waiting = try scrape(url).samples
            return waiting["duet_coordinator_tasks_queued"] == Double(points)
        }
        #expect(queued, "\(waiting)\n\(sweep.summary)")
        #expect(waiting["duet_coordinator_runs_active"] == 1)

        let workers = try (1...2).map { try worker(endpoint, name: "worker\($0)") }
        defer { workers.forEach { $0.kill9() } }
        #expect(sweep.wait(timeout: 300) == 0, "\(sweep.summary)\n\(coordinator.summary)")
        // The exporter publishes once per turn of the loop: poll until it caught up.
        var after: [String: Double] = [:]
        let settled = try eventually(10) {
            after = try scrape(url).samples
            return after["duet_coordinator_tasks_done_total"] == Double(points) && after["duet_coordinator_runs_active"] == 0
        }
        #expect(settled, "\(after)")
        #expect(after["duet_coordinator_tasks_queued"] == 0)
        #expect(after["duet_coordinator_tasks_running"] == 0)
        #expect(after["duet_coordinator_tasks_failed_total"] == 0)
        #expect(after["duet_coordinator_tasks_cancelled_total"] == 0)
        #expect(after["duet_coordinator_workers_connected"] == 2)
        #expect(after["duet_coordinator_worker_slots"] == 2)
        // Every result was committed before it was acknowledged: at least one commit per
        // batch, and far fewer observations than bounds to exceed.
        let commits = after["duet_coordinator_journal_commit_seconds_count"] ?? 0
        #expect(commits >= 1, "\(after)")
        #expect(after["duet_coordinator_journal_commit_seconds_bucket{le=\"+Inf\"}"] == commits, "\(after)")
        #expect((after["duet_coordinator_messages_received_total"] ?? 0) >= Double(points), "\(after)")
    }
}
