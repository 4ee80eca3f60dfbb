// `duet status` for people: the cluster in a screenful, from a coordinator's STATUS
// reply or from a journal file.
//
//     coordinator tcp://127.0.0.1:5555: 2 workers, 4 slots, 312.4 tasks/s, ETA 41s
//
//     RUN  KIND         LABEL   PHASE        DONE          FAILED  RUNNING  QUEUED  TASKS/S  ETA
//     3    sweep-point  small   dispatching  1234/4000 31%      2       16    2748     25.0  1m 50s
//
//     WORKER           HOST   SLOTS  RUNNING  LAST HEARD
//     node1-4242-a3f1  node1      8        3  0.4s ago
//
//     recent failures:
//       3/77#3 on node2-77-k2, 12s ago (final): simulation failed: ...
//
//     counters: 154980 results, 9 failed attempts, 5 retries, 1 lost worker, 2 duplicates, 1 dropped (malformed 1)

import ClusterCore
import DuetSupport
import Foundation

public enum StatusReport {
    public static func render(_ status: ClusterStatus, source: String, now: Double) -> String {
        var lines: [String] = []
        let slots = status.workers.reduce(0) { $0 + $1.slots }
        var headline = "\(status.source == .coordinator ? "coordinator" : "journal") \(source): "
        if status.source == .coordinator {
            headline += "\(status.workers.count) worker\(status.workers.count == 1 ? "" : "s"), \(slots) slot\(slots == 1 ? "" : "s"), "
        } else {
            headline += "\(status.workers.count) worker\(status.workers.count == 1 ? "" : "s") present when last written, "
        }
        headline += "\(rate(status.throughput)) tasks/s"
        if let eta = status.eta { headline += ", ETA \(durationText(eta))" }
        lines.append(headline)

        if status.runs.isEmpty {
            lines.append("")
            lines.append("no runs yet")
        } else {
            var table = [["RUN", "KIND", "LABEL", "PHASE", "DONE", "FAILED", "RUNNING", "QUEUED", "TASKS/S", "ETA"]]
            for run in status.runs {
                let fraction = run.taskCount > 0 ? Double(run.done + run.failed) / Double(run.taskCount) : 1
                table.append([
                    String(run.id.rawValue), run.kind, run.label.isEmpty ? "-" : run.label, run.phase.rawValue,
                    "\(run.done)/\(run.taskCount) \(Int((fraction * 100).rounded(.down)))%", String(run.failed),
                    String(run.leased), String(max(0, run.queued)), run.phase.isFinished ? "-" : rate(run.throughput),
                    run.eta.map(durationText) ?? "-",
                ])
            }
            lines.append("")
            lines += format(table, rightAligned: [0, 5, 6, 7, 8])
        }

        if !status.workers.isEmpty {
            var table = [["WORKER", "HOST", "PID", "SLOTS", "RUNNING", status.source == .coordinator ? "LAST HEARD" : "JOINED"]]
            for worker in status.workers {
                let heard = status.source == .coordinator ? worker.lastHeartbeat : worker.connectedAt
                table.append([
                    worker.id, worker.host, String(worker.pid), String(worker.slots), String(worker.running.count),
                    ago(now - heard),
                ])
            }
            lines.append("")
            lines += format(table, rightAligned: [2, 3, 4])
        } else if status.source == .coordinator {
            lines.append("")
            lines.append("no workers connected")
        }

        if !status.recentFailures.isEmpty {
            lines.append("")
            lines.append("recent failures:")
            for failure in status.recentFailures.prefix(10) {
                let error = failure.error.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                lines.append(
                    "  \(failure.task) on \(failure.worker ?? "?"), \(ago(now - failure.time))\(failure.final ? " (final)" : ""): "
                        + String(error.prefix(200)))
            }
        }

        if status.source == .coordinator {
            let c = status.counters
            var parts = ["\(c.results) results", "\(c.failures) failed attempts", "\(c.retries) retries"]
            parts.append("\(c.lostWorkers) lost worker\(c.lostWorkers == 1 ? "" : "s")")
            parts.append("\(c.duplicates) duplicates")
            if c.stale > 0 { parts.append("\(c.stale) stale") }
            if c.lostAssignments > 0 { parts.append("\(c.lostAssignments) lost assignments") }
            if c.overdue > 0 { parts.append("\(c.overdue) past their deadline") }
            if c.refunded > 0 { parts.append("\(c.refunded) refunded (lost workers back with their tasks)") }
            if c.foreignEpoch > 0 { parts.append("\(c.foreignEpoch) from another journal") }
            var dropped = "\(c.droppedTotal) dropped"
            if !c.dropped.isEmpty {
                dropped += " (" + c.dropped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
            }
            parts.append(dropped)
            lines.append("")
            lines.append("counters: " + parts.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// `duet runs`: one line per run the coordinator holds (unfinished ones and the latest
    /// finished), with its tasks by state and its age.
    ///
    ///     RUN  KIND         LABEL  PHASE        QUEUED  RUNNING  DONE  FAILED  AGE
    ///     3    sweep-point  small  dispatching    2748       16  1234       2  4m 10s
    public static func renderRuns(_ status: ClusterStatus, now: Double) -> String {
        guard !status.runs.isEmpty else { return "no runs" }
        var table = [["RUN", "KIND", "LABEL", "PHASE", "QUEUED", "RUNNING", "DONE", "FAILED", "AGE"]]
        for run in status.runs {
            table.append([
                String(run.id.rawValue), run.kind, run.label.isEmpty ? "-" : run.label, run.phase.rawValue,
                String(max(0, run.queued)), String(run.leased), String(run.done), String(run.failed),
                durationText(max(0, now - run.createdAt)),
            ])
        }
        return format(table, rightAligned: [0, 4, 5, 6, 7]).joined(separator: "\n")
    }

    static func rate(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    static func ago(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        if seconds < 10 { return String(format: "%.1fs ago", max(0, seconds)) }
        return durationText(seconds) + " ago"
    }

    /// Columns padded to their widest cell, two spaces apart.
    static func format(_ rows: [[String]], rightAligned: Set<Int>) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : cell + (i == row.count - 1 ? "" : pad)
            }.joined(separator: "  ")
        }
    }
}
