// A sweep spec as the self-contained text a run carries as its spec blob, so that a
// worker on another host, without the spec's files, rebuilds exactly the same
// `SweepSpec` and therefore the same points, seeds and rows.
//
// The text is the spec's `Codable` form (the configuration types' and the sweep
// settings' own conformances) as JSON with sorted keys, so equal specs give equal
// bytes and therefore equal blob hashes. Infinity is written "inf"; doubles are
// written in their shortest round-tripping form, so the round trip is exact. The
// vary keys travel as their paths (`stations.2.servers`), read back through
// `SweepTarget.parse` against the base's station count. It includes the spec's
// fingerprint (`SweepSpec.fingerprint`, which covers the dataset's columns); a
// worker whose build rebuilds another fingerprint refuses the task, so a client and
// workers of different duet versions never mix rows silently.
//
// A base that replays a trace names the trace file by its SHA-256 (`base.trace.blob`,
// with the trace settings); the file itself travels as a blob of the run, and a
// worker rebuilds the trace from it.
//
//     {"base": {"batch": {...}, "interArrival": {"mean": 1, "scv": 1}, "run": {...}, "stations": [...]},
//      "design": {"method": "sobol", "points": 40, "seed": 1}, "fingerprint": "…",
//      "format": "duet-sweep-spec/2", "run": {...},
//      "vary": [{"path": "arrival.scv", "range": {"loguniform": {"_0": 0.25, "_1": 4}}}, ...]}

import ClusterCore
import DuetSupport
import Foundation
import Search
import Simulation

public enum SweepSpecBlob {
    public static let format = "duet-sweep-spec/2"

    /// The bytes of the trace file a spec's base replays (read from its path), or nil
    /// when the base has no trace.
    public static func traceFile(_ spec: SweepSpec) throws -> [UInt8]? {
        guard let trace = spec.base.trace else { return nil }
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: trace.settings.path)))
        } catch {
            throw BlobError("cannot read the trace \(trace.settings.path): \(error.localizedDescription)")
        }
    }

    /// The spec's canonical text. A base with a trace names the trace file's hash
    /// (`traceFile`: read again here unless given). `chosen` lists the points of a run of
    /// chosen points (`duet sweep --adaptive`): a coordinator knows a run again by its
    /// kind, spec bytes and task count, so two rounds choosing as many points of one spec
    /// must differ in their bytes, or the second would be served the first's results.
    public static func encode(_ spec: SweepSpec, traceFile file: [UInt8]? = nil, chosen: [Int]? = nil) -> [UInt8] {
        let base = spec.base
        var trace: Wire.Trace?
        if let replay = base.trace {
            let bytes = file ?? (try? traceFile(spec)) ?? nil
            trace = Wire.Trace(blob: bytes.map { BlobHash(of: $0).hex } ?? "", settings: replay.settings,
                               rateMultiplier: base.rateMultiplier)
        }
        let wire = Wire(
            format: format, fingerprint: spec.fingerprint,
            base: Wire.Base(interArrival: base.interArrival, onOff: base.onOff, mmpp: base.mmpp,
                            rateMultiplier: base.mmpp != nil && base.rateMultiplier != 1 ? base.rateMultiplier : nil,
                            holdMultiplier: base.mmpp != nil && base.holdMultiplier != 1 ? base.holdMultiplier : nil,
                            batch: base.batch, stations: base.stations, run: base.run, trace: trace),
            vary: spec.parameters.map { Wire.Parameter(path: $0.target.description, range: $0.range) },
            design: spec.design, run: spec.run, chosen: chosen)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .infAndNanAsWords
        // Every value of a spec is encodable (infinity and nan have their words).
        return Array(try! encoder.encode(wire))
    }

    /// Rebuilds the spec and checks that it has the fingerprint it was sent with.
    /// `blob` gives the bytes of a blob of the run (the trace file of a trace base).
    public static func decode(_ bytes: [UInt8], blob: (BlobHash) -> [UInt8]? = { _ in nil }) throws -> SweepSpec {
        struct Format: Decodable { var format: String }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .infAndNanAsWords
        let formatText: String
        do {
            formatText = try decoder.decode(Format.self, from: Data(bytes)).format
        } catch {
            throw BlobError("not a spec blob: \(error)")
        }
        guard formatText == format else {
            throw BlobError("format \"\(formatText)\" is not \(format); this worker's duet is older or newer than the client's")
        }
        let wire: Wire
        do {
            wire = try decoder.decode(Wire.self, from: Data(bytes))
        } catch {
            throw BlobError("cannot be read: \(error)")
        }
        var base = TandemConfig(arrivalRate: 1, batch: wire.base.batch, stations: wire.base.stations, run: wire.base.run)
        // The inter-arrival moments as stored: rebuilding them from a rate could move the mean by an ulp.
        base.interArrival = wire.base.interArrival
        base.onOff = wire.base.onOff
        base.mmpp = wire.base.mmpp
        if base.mmpp != nil {
            base.restoreMultipliers(rate: wire.base.rateMultiplier ?? 1, hold: wire.base.holdMultiplier ?? 1)
        }
        if let trace = wire.base.trace {
            base = try traceConfig(trace, stations: base.stations, run: base.run, blob: blob)
        }
        var parameters: [SweepParameter] = []
        for (i, parameter) in wire.vary.enumerated() {
            switch SweepTarget.parse(parameter.path, stations: base.stations.count) {
            case .success(let target): parameters.append(SweepParameter(target: target, range: parameter.range))
            case .failure(let error): throw BlobError("vary[\(i)].path: \(error) (\"\(parameter.path)\")")
            }
        }
        let spec = SweepSpec(base: base, parameters: parameters, design: wire.design, run: wire.run)
        guard spec.fingerprint == wire.fingerprint else {
            throw BlobError(
                "the spec rebuilt here has fingerprint \(spec.fingerprint.prefix(12)), not the client's \(wire.fingerprint.prefix(12)): "
                    + "this worker's duet writes other dataset columns or reads specs differently; "
                    + "run the same duet version on the workers as on the client")
        }
        return spec
    }

    /// True when `spec` survives the trip through its text unchanged (checked by the
    /// client before it submits, so a spec the text cannot express is never sent).
    public static func roundTrips(_ spec: SweepSpec, traceFile file: [UInt8]? = nil) -> Bool {
        let file = file ?? (try? traceFile(spec)) ?? nil
        guard let back = try? decode(encode(spec, traceFile: file), blob: { hash in
            file.flatMap { BlobHash(of: $0) == hash ? $0 : nil }
        }) else { return false }
        return back.base == spec.base && back.parameters == spec.parameters && back.design == spec.design
            && back.run == spec.run
    }

    public struct BlobError: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = "sweep spec blob: " + description }
    }

    // MARK: The text

    /// The blob's JSON: the spec's parts in their `Codable` forms.
    struct Wire: Codable {
        var format: String
        var fingerprint: String
        var base: Base
        var vary: [Parameter]
        var design: SweepDesignSettings
        var run: SweepRunSettings
        /// The points of a run of chosen points; absent for a whole design (whose bytes
        /// are then those of blobs written before it). Workers read the points from the
        /// run's payload: this copy is for the run's identity.
        var chosen: [Int]?

        /// A `TandemConfig`: a trace travels as its settings and the hash of its file.
        struct Base: Codable {
            var interArrival: MomentSpec
            var onOff: OnOffSpec?
            /// Absent in blobs written before it.
            var mmpp: MMPPSpec?
            /// With `mmpp`, the multipliers already applied to it; absent: 1.
            var rateMultiplier: Double?
            var holdMultiplier: Double?
            var batch: BatchSizeSpec
            var stations: [StationConfig]
            var run: RunSettings
            var trace: Trace?
        }

        struct Trace: Codable {
            var blob: String
            var settings: TraceSettings
            /// Absent in blobs written before it: 1.
            var rateMultiplier: Double?
        }

        struct Parameter: Codable {
            var path: String
            var range: SweepRange
        }
    }

    /// A trace base: the trace rebuilt from the run's blob with the stored settings.
    static func traceConfig(_ trace: Wire.Trace, stations: [StationConfig], run: RunSettings,
                            blob: (BlobHash) -> [UInt8]?) throws -> TandemConfig {
        guard let hash = BlobHash(hex: trace.blob) else {
            throw BlobError("base.trace.blob: not a SHA-256 hash: \"\(trace.blob)\"")
        }
        guard let bytes = blob(hash) else {
            throw BlobError("base.trace.blob: the trace file \(hash.short) is not among the run's blobs")
        }
        let replay: ArrivalTrace
        do {
            replay = try ArrivalTrace.parse(Data(bytes), settings: trace.settings)
        } catch {
            throw BlobError("base.trace.blob: the trace does not parse: \(error)")
        }
        return TandemConfig(trace: replay, rateMultiplier: trace.rateMultiplier ?? 1, stations: stations, run: run)
    }
}
