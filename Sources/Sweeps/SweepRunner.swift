// Runs a sweep: every point of the design simulated once, on all cores, written to
// the dataset CSV in point order.
//
// Rows are written as soon as they are contiguous (a completion that overtakes an
// earlier, slower point waits in a RowSequencer), one write per row, so an
// interrupted sweep leaves a valid file of complete rows. Running again with the
// same output resumes: the points already in the file are skipped and the rest
// appended, which gives the same file as an uninterrupted run.
//
// Which spec made a file is kept beside it in `<out>.spec.json` (the "sidecar"):
// the SHA-256 fingerprint of the spec's canonical sections (`SweepSpec.canonical-
// Sections`: base configuration, each varied key and range in order, design method
// and seed, run settings, dataset columns), those sections in readable form, and
// the point count. A resume with a different fingerprint is refused, naming the
// sections that differ. The point count is separate: a Sobol or random design can
// be extended (its first points do not depend on the count), a Latin hypercube
// cannot.

import Analytic
import Dispatch
import DuetSupport
import Foundation
import Search
import Simulation

/// `<out>.spec.json`: which spec made a dataset.
public struct SweepSidecar: Codable, Equatable, Sendable {
    public struct Section: Codable, Equatable, Sendable {
        public var name: String
        public var text: String
    }

    public static let currentFormat = "duet-sweep-spec/1"

    public var format: String
    public var sha256: String
    public var method: String
    /// As text: JSON numbers are not safe beyond 2^53.
    public var seed: String
    public var points: Int
    public var sections: [Section]

    public init(spec: SweepSpec, points: Int) {
        format = Self.currentFormat
        sha256 = spec.fingerprint
        method = spec.design.method.rawValue
        seed = String(spec.design.seed)
        self.points = points
        sections = spec.canonicalSections.map { Section(name: $0.name, text: $0.text) }
    }

    /// The sidecar path of a dataset path.
    public static func path(for dataset: String) -> String { dataset + ".spec.json" }

    public static func read(path: String) throws -> SweepSidecar {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SweepError("cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode(SweepSidecar.self, from: data)
        } catch {
            throw SweepError("\(path) is not a sweep spec fingerprint (\(error.localizedDescription)); "
                                 + "delete it together with its dataset to start over")
        }
    }

    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SweepError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Names of the sections that differ from `other`'s (added, removed or changed).
    public func differingSections(from other: SweepSidecar) -> [String] {
        var names: [String] = []
        let mine = Dictionary(sections.map { ($0.name, $0.text) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(other.sections.map { ($0.name, $0.text) }, uniquingKeysWith: { a, _ in a })
        for section in sections where theirs[section.name] != section.text { names.append(section.name) }
        for section in other.sections where mine[section.name] == nil { names.append(section.name) }
        return names
    }
}

/// A sweep that cannot start or continue, with what to do about it.
public struct SweepError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SweepError: LocalizedError {
    public var errorDescription: String? { description }
}

/// What a sweep run did.
public struct SweepSummary: Sendable, Equatable {
    /// Points in the design.
    public var total: Int
    /// Points already in the file at the start.
    public var alreadyDone: Int
    /// Rows written by this run.
    public var simulated: Int
    /// Of those: simulated and found unstable, and not simulated (invalid inputs or
    /// an offered load >= 1 known up front).
    public var unstable: Int
    public var invalid: Int
    /// Of those: stable, but the precision target was not met by `maxJobs`.
    public var precisionMissed: Int
    /// Jobs simulated in the final round of every point, all replications.
    public var jobs: Int
    public var threads: Int
    public var seconds: Double

    /// Points per second of this run.
    public var pointsPerSecond: Double { seconds > 0 ? Double(simulated) / seconds : 0 }
}

/// One point's dataset row, and what the summary counts about it.
public struct SweepRow: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case stable(precisionMet: Bool)
        case unstable
        /// Not simulated: invalid inputs, or an offered load >= 1 known up front.
        case invalid
    }

    public var cells: [String]
    public var kind: Kind
    /// Jobs simulated in the final round, all replications.
    public var jobs: Int

    public init(cells: [String], kind: Kind, jobs: Int) {
        self.cells = cells
        self.kind = kind
        self.jobs = jobs
    }
}

/// Computes a sweep's points somewhere other than this process's threads (a
/// cluster). The runner keeps the output file, the order of rows and the summary.
public protocol SweepExecutor {
    /// Computes `points` (design indices of `runner.design`, ascending) and calls
    /// `deliver(position, row)` once per finished point, `position` being its place in
    /// `points`, from any thread; a nil row leaves a point that could not be computed
    /// out of the file (the executor reports why). Stops early when `deliver` returns
    /// false (the sweep was interrupted). Returns how many points ran at once, for the
    /// summary.
    func execute(points: [Int], of runner: SweepRunner, deliver: @escaping @Sendable (Int, SweepRow?) -> Bool) throws
        -> Int
}

/// Runs a spec's points and writes the dataset. Use once.
public final class SweepRunner: @unchecked Sendable {
    public let spec: SweepSpec
    public let outputPath: String
    public let design: Design
    public let threads: Int

    private let lock = NSLock()
    private var writer: DatasetWriter?
    private var sequencer = RowSequencer<[String]?>()
    private var nextClaim = 0
    private var stopped = false
    private var failure: Error?
    private var written = 0
    private var summary: SweepSummary
    private var meter: SweepProgress

    /// The design indices this sweep writes: every point of the design, or the chosen
    /// ones (adaptive points, `AdaptiveDesign`).
    public let indices: [Int]

    /// `points` overrides the design's point count; `threads` defaults to all cores.
    /// `only` limits the sweep to those design indices (ascending, each below the
    /// design's point count).
    public init(spec: SweepSpec, outputPath: String, threads: Int? = nil, points: Int? = nil, only: [Int]? = nil) throws {
        self.spec = spec
        self.outputPath = outputPath
        do {
            design = try spec.makeDesign(points: points)
        } catch let error as DesignError {
            throw SweepError(error.description)
        }
        indices = only ?? Array(0..<design.points)
        precondition(zip(indices, indices.dropFirst()).allSatisfy { $0 < $1 } && (indices.last ?? 0) < design.points,
                     "SweepRunner: indices must ascend and lie in the design")
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        summary = SweepSummary(total: indices.count, alreadyDone: 0, simulated: 0, unstable: 0, invalid: 0,
                               precisionMissed: 0, jobs: 0, threads: self.threads, seconds: 0)
        meter = SweepProgress(total: indices.count, alreadyDone: 0, started: 0)
    }

    /// Runs the points not yet in the output file. `log` gets one-line notes
    /// ("resuming: ..."); `progress` gets the figures after every finished point
    /// (called under a lock: keep it short). `executor` computes the points
    /// elsewhere (a cluster); by default they run on this process's threads.
    public func run(
        log: (String) -> Void = { _ in },
        progress: @escaping @Sendable (SweepProgress) -> Void = { _ in },
        now: @escaping @Sendable () -> Double = monotonicSeconds,
        executor: (any SweepExecutor)? = nil
    ) throws -> SweepSummary {
        let started = now()
        let (writer, done) = try openOutput(log: log)
        let remaining = indices.filter { !done.contains($0) }
        let workers = min(threads, remaining.count)
        lock.withLock {
            self.writer = writer
            summary.alreadyDone = indices.count - remaining.count
            summary.threads = max(1, workers)
            meter = SweepProgress(total: indices.count, alreadyDone: summary.alreadyDone, started: started)
        }
        if let executor, !remaining.isEmpty {
            progress(lock.withLock { meter })
            let parallel = try executor.execute(points: remaining, of: self) { position, row in
                self.record(position, row, progress: progress)
            }
            lock.withLock { summary.threads = max(1, parallel) }
        } else if workers > 0 {
            progress(lock.withLock { meter })
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while let position = claim(remaining.count) {
                    guard record(position, simulate(remaining[position]), progress: progress) else { return }
                }
            }
        }
        return try lock.withLock {
            try? self.writer?.close()
            self.writer = nil
            if let failure { throw failure }
            summary.seconds = now() - started
            return summary
        }
    }

    /// Stops writing at once (for Ctrl-C): no row is written after this returns, and
    /// the file holds only complete rows. Returns the points in the file.
    @discardableResult
    public func interrupt() -> Int {
        lock.withLock {
            stopped = true
            try? writer?.close()
            writer = nil
            return summary.alreadyDone + written
        }
    }

    private func claim(_ count: Int) -> Int? {
        lock.withLock {
            guard !stopped, nextClaim < count else { return nil }
            nextClaim += 1
            return nextClaim - 1
        }
    }

    /// Writes the rows that `row` (the point at `position` of the remaining points)
    /// makes contiguous and counts it. A nil row is a point left out of the file.
    /// False once the sweep is stopped.
    private func record(_ position: Int, _ row: SweepRow?, progress: @Sendable (SweepProgress) -> Void) -> Bool {
        lock.withLock {
            guard !stopped else { return false }
            meter.done += 1
            do {
                for case let cells? in sequencer.complete(position, row?.cells) {
                    try self.writer?.append(cells)
                    written += 1
                }
            } catch {
                failure = failure ?? error
                stopped = true
            }
            guard let row else {
                progress(meter)
                return !stopped
            }
            summary.simulated += 1
            summary.jobs += row.jobs
            switch row.kind {
            case .stable(let precisionMet): if !precisionMet { summary.precisionMissed += 1 }
            case .unstable: summary.unstable += 1
            case .invalid: summary.invalid += 1
            }
            progress(meter)
            return !stopped
        }
    }

    /// One point's row (simulated on this thread).
    private func simulate(_ index: Int) -> SweepRow { Self.row(index, spec: spec, design: design) }

    /// The row of point `index` of `design`, simulated on the calling thread: what
    /// every way of running a sweep (these threads, a cluster's workers) writes.
    public static func row(_ index: Int, spec: SweepSpec, design: Design) -> SweepRow {
        let point = spec.point(index, of: design)
        if let problem = point.problem {
            return SweepRow(cells: DatasetFile.invalidRow(point: index, config: point.config, reason: problem),
                            kind: .invalid, jobs: 0)
        }
        let report = Simulator.simulate(point.config, controls: ControlVariates.coefficients(for: point.config))
        let kind: SweepRow.Kind = report.stable ? .stable(precisionMet: report.precisionMet ?? true) : .unstable
        return SweepRow(cells: DatasetFile.row(point: index, config: point.config, report: report), kind: kind,
                        jobs: report.jobs)
    }

    // MARK: The output file

    /// Creates the dataset and its sidecar, or checks an existing pair and returns
    /// the points it already holds.
    private func openOutput(log: (String) -> Void) throws -> (DatasetWriter, Set<Int>) {
        let sidecarPath = SweepSidecar.path(for: outputPath)
        let sidecar = SweepSidecar(spec: spec, points: design.points)
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: outputPath) else {
            try sidecar.write(path: sidecarPath)
            return (try DatasetWriter(creating: outputPath, header: spec.datasetHeader), [])
        }
        guard fileManager.fileExists(atPath: sidecarPath) else {
            throw SweepError("\(outputPath) exists but \(sidecarPath) does not, so the spec that made it is unknown; "
                                 + "move or delete \(outputPath), or choose another --out")
        }
        let existing = try SweepSidecar.read(path: sidecarPath)
        let startOver = "use another --out, or delete \(outputPath) and \(sidecarPath) to start over"
        guard existing.sha256 == sidecar.sha256 else {
            let differing = existing.format == sidecar.format ? sidecar.differingSections(from: existing) : []
            let detail = differing.isEmpty
                ? (existing.format == sidecar.format ? "the vary keys are in another order" : "another sidecar format")
                : "\(differing.joined(separator: ", ")) differ\(differing.count == 1 ? "s" : "")"
            throw SweepError("\(outputPath) was made by a different spec (\(detail)); \(startOver)")
        }
        if existing.points != design.points {
            guard design.isExtensible else {
                throw SweepError("\(outputPath) was made with \(existing.points) points, and a Latin hypercube's "
                                     + "points all depend on their number, so it cannot be resumed with "
                                     + "\(design.points); \(startOver)")
            }
            try sidecar.write(path: sidecarPath)
        }

        if try DatasetWriter.dropIncompleteLastLine(path: outputPath) {
            log("dropped an incomplete last row of \(outputPath) (the sweep was cut off while writing it)")
        }
        let table: DatasetTable
        do {
            table = try DatasetTable.read(path: outputPath)
        } catch let error as DataFileError where error.row == nil && error.message.hasPrefix("the file is empty") {
            // Created but cut off before the header: start it again.
            return (try DatasetWriter(creating: outputPath, header: spec.datasetHeader), [])
        }
        guard table.header == spec.datasetHeader else {
            throw SweepError("\(outputPath) has other columns than this version of duet writes; \(startOver)")
        }
        var done = Set<Int>()
        var beyond = 0
        for row in table.rows {
            let point = try row.int("point")
            guard point >= 0, done.insert(point).inserted else {
                throw SweepError("\(outputPath): row \(row.number) repeats or misnumbers point \(point); \(startOver)")
            }
            if point >= design.points { beyond += 1 }
        }
        done = done.filter { $0 < design.points }
        let wanted = indices.count == design.points ? done.count : Set(indices).intersection(done).count
        var note = "resuming: \(wanted) of \(indices.count) points already done"
        if existing.points != design.points {
            note += " (the file was made for \(existing.points) points)"
        }
        if beyond > 0 { note += "; the file also holds \(beyond) points beyond \(design.points)" }
        log(note)
        return (try DatasetWriter(appendingTo: outputPath), done)
    }
}
