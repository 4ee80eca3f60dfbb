// The `sweep-point` task: one point of a sweep simulated on a worker, and its result
// on the wire. `duet worker` registers `SweepPointRunner` under its kind.

import Cluster
import ClusterCore
import DuetSupport
import Foundation
import Search
import Simulation

/// Simulates one point of a sweep. Spec blob: `SweepSpecBlob`; payload:
/// `{"points": N}` (the design's point count); the task index is the point index.
/// Chosen points (`duet sweep --adaptive`) are runs of `chosenKind` whose payload also
/// has `"indices"`: task t simulates point `indices[t]`.
/// A sweep over a trace carries the trace file as the run's blob.
/// Result: `SweepPointResult`, the dataset row exactly as the in-process sweep writes it.
public struct SweepPointRunner: TaskRunner {
    public static let kind = "sweep-point"
    /// A kind of its own, so that a worker that predates chosen points refuses such a
    /// task (no runner for the kind) instead of simulating point t for task t.
    public static let chosenKind = "sweep-chosen-point"

    /// Parsed specs and designs by spec hash and point count (a worker runs many
    /// points of the same spec).
    private let cache = SpecCache()

    public init() {}

    public func run(_ task: TaskContext) throws -> [UInt8] {
        let point: Int
        let points: Int
        switch (task.payload["points"], task.payload["indices"]) {
        case (.integer(let count)?, nil) where count > task.index:
            (point, points) = (task.index, count)
        case (.integer(let count)?, .array(let indices)?):
            guard task.index < indices.count, case .integer(let chosen) = indices[task.index], (0..<count).contains(chosen)
            else {
                throw TaskFailure("sweep-point payload \"indices\" needs, for task \(task.index), a point index below \"points\" (\(count))")
            }
            (point, points) = (chosen, count)
        default:
            throw TaskFailure("sweep-point payload needs \"points\" (the design's point count) above the index \(task.index), "
                                  + "or with \"indices\" above each of them")
        }
        let (spec, design) = try cache.design(task.spec, points: points, blob: { task.blob($0) }) { task.specBytes }
        return SweepPointResult.encode(SweepRunner.row(point, spec: spec, design: design))
    }

    final class SpecCache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: (SweepSpec, Design)] = [:]

        func design(_ hash: BlobHash, points: Int, blob: (BlobHash) -> [UInt8]?, bytes: () -> [UInt8]) throws
            -> (SweepSpec, Design)
        {
            let key = "\(hash.hex)/\(points)"
            if let entry = lock.withLock({ entries[key] }) { return entry }
            let spec = try SweepSpecBlob.decode(bytes(), blob: blob)
            let design = try spec.makeDesign(points: points)
            lock.withLock {
                if entries.count > 64 { entries.removeAll() }
                entries[key] = (spec, design)
            }
            return (spec, design)
        }
    }
}

/// A sweep point's result on the wire: the row's cells and what the summary counts.
///
///     {"cells": ["0", "1", ...], "kind": "stable", "precisionMet": true, "jobs": 10000}
public enum SweepPointResult {
    public static func encode(_ row: SweepRow) -> [UInt8] {
        var members: [JSON.Member] = [JSON.Member("cells", .array(row.cells.map(JSON.string)))]
        switch row.kind {
        case .stable(let precisionMet):
            members.append(JSON.Member("kind", "stable"))
            members.append(JSON.Member("precisionMet", .bool(precisionMet)))
        case .unstable: members.append(JSON.Member("kind", "unstable"))
        case .invalid: members.append(JSON.Member("kind", "invalid"))
        }
        members.append(JSON.Member("jobs", .integer(row.jobs)))
        return JSON.object(members).bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> SweepRow {
        guard let json = try? JSON.parse(bytes, maxDepth: 4), case .array(let items)? = json["cells"] else {
            throw TaskFailure("a sweep-point result is not {\"cells\": [...], ...} JSON")
        }
        var cells: [String] = []
        cells.reserveCapacity(items.count)
        for item in items {
            guard case .string(let cell) = item else { throw TaskFailure("a sweep-point result has a cell that is not text") }
            cells.append(cell)
        }
        let kind: SweepRow.Kind
        switch json["kind"] {
        case .string("stable")?:
            var met = true
            if case .bool(let flag)? = json["precisionMet"] { met = flag }
            kind = .stable(precisionMet: met)
        case .string("unstable")?: kind = .unstable
        case .string("invalid")?: kind = .invalid
        default: throw TaskFailure("a sweep-point result has no valid \"kind\"")
        }
        var jobs = 0
        if case .integer(let count)? = json["jobs"] { jobs = count }
        return SweepRow(cells: cells, kind: kind, jobs: jobs)
    }
}

