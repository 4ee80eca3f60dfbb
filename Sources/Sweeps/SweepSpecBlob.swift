// A sweep spec as the self-contained text a run carries as its spec blob, so that a
// worker on another host, without the spec's files, rebuilds exactly the same
// `SweepSpec` and therefore the same points, seeds and rows.
//
// The text is one JSON object (ClusterCore's deterministic writer, so equal specs give
// equal bytes and therefore equal blob hashes). Every number that is not a count is
// written as a string of Swift's shortest round-tripping form ("0.1", "inf"): JSON
// numbers cannot say infinity, and the round trip must be exact. It includes the
// spec's fingerprint (`SweepSpec.fingerprint`, which covers the dataset's columns);
// a worker whose build rebuilds another fingerprint refuses the task, so a client and
// workers of different duet versions never mix rows silently.
//
// A base that replays a trace names the trace file by its SHA-256 (`base.trace.blob`,
// with the trace settings); the file itself travels as a blob of the run, and a
// worker rebuilds the trace from it.
//
//     {"format": "duet-sweep-spec/1", "fingerprint": "…",
//      "base": {"interArrival": {"mean": "1", "scv": "1"}, "batch": {...}, "stations": [...], "run": {...}},
//      "vary": [{"path": "arrival.scv", "range": "loguniform", "low": "0.25", "high": "4"}, ...],
//      "design": {"method": "sobol", "points": 40, "seed": "1"},
//      "run": {"jobs": 5000, "precision": null, "replications": 2, "warmup": "0.1", "maxJobs": 2000000}}

import ClusterCore
import Foundation
import Search
import Simulation

public enum SweepSpecBlob {
    public static let format = "duet-sweep-spec/1"

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
    /// (`traceFile`: read again here unless given).
    public static func encode(_ spec: SweepSpec, traceFile file: [UInt8]? = nil) -> [UInt8] {
        var base = config(spec.base)
        if let trace = spec.base.trace, case .object(var members) = base {
            let bytes = file ?? (try? traceFile(spec)) ?? nil
            let settings = trace.settings
            members.append(JSON.Member("trace", [
                "blob": .string(bytes.map { BlobHash(of: $0).hex } ?? ""), "path": .string(settings.path),
                "time": .string(settings.timeColumn), "timeUnit": .string(settings.timeUnit.rawValue),
                "work": settings.workColumn.map(JSON.string) ?? .null, "workScale": number(settings.workScale),
                "batchWindow": number(settings.batchWindow),
            ]))
            base = .object(members)
        }
        let json: JSON = [
            "format": .string(format),
            "fingerprint": .string(spec.fingerprint),
            "base": base,
            "vary": .array(spec.parameters.map(parameter)),
            "design": [
                "method": .string(spec.design.method.rawValue), "points": .integer(spec.design.points),
                "seed": .string(String(spec.design.seed)),
            ],
            "run": [
                "jobs": .integer(spec.run.jobs), "precision": spec.run.precision.map(number) ?? .null,
                "replications": .integer(spec.run.replications), "warmup": number(spec.run.warmup),
                "maxJobs": .integer(spec.run.maxJobs),
            ],
        ]
        return json.bytes
    }

    /// Rebuilds the spec and checks that it has the fingerprint it was sent with.
    /// `blob` gives the bytes of a blob of the run (the trace file of a trace base).
    public static func decode(_ bytes: [UInt8], blob: (BlobHash) -> [UInt8]? = { _ in nil }) throws -> SweepSpec {
        let json: JSON
        do { json = try JSON.parse(bytes, maxDepth: 16) } catch { throw BlobError("not JSON: \(error)") }
        let reader = Reader(json: json, path: "")
        let formatText = try reader.string("format")
        guard formatText == format else {
            throw BlobError("format \"\(formatText)\" is not \(format); this worker's duet is older or newer than the client's")
        }
        let base = try config(reader.object("base"), blob: blob)
        var parameters: [SweepParameter] = []
        for (i, item) in try reader.array("vary").enumerated() {
            parameters.append(try parameter(Reader(json: item, path: "vary[\(i)]")))
        }
        let design = try reader.object("design")
        let methodText = try design.string("method")
        guard let method = DesignMethod(rawValue: methodText) else { throw design.fail("method", "unknown method") }
        let run = try reader.object("run")
        let spec = SweepSpec(
            base: base, parameters: parameters,
            design: SweepDesignSettings(method: method, points: try design.int("points"), seed: try design.uint64("seed")),
            run: SweepRunSettings(
                jobs: try run.int("jobs"), precision: try run.optionalDouble("precision"),
                replications: try run.int("replications"), warmup: try run.double("warmup"), maxJobs: try run.int("maxJobs")))
        let expected = try reader.string("fingerprint")
        guard spec.fingerprint == expected else {
            throw BlobError(
                "the spec rebuilt here has fingerprint \(spec.fingerprint.prefix(12)), not the client's \(expected.prefix(12)): "
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

    // MARK: Writing

    static func number(_ value: Double) -> JSON { .string("\(value)") }

    static func moment(_ moment: MomentSpec) -> JSON { ["mean": number(moment.mean), "scv": number(moment.scv)] }

    static func config(_ config: TandemConfig) -> JSON {
        let batch: JSON
        switch config.batch {
        case .deterministic(let size): batch = ["dist": "deterministic", "size": .integer(size)]
        case .geometric(let mean): batch = ["dist": "geometric", "mean": number(mean)]
        case .uniform(let mean): batch = ["dist": "uniform", "mean": number(mean)]
        case .empirical(let values, let weights):
            batch = [
                "dist": "empirical", "values": .array(values.map { .integer($0) }), "weights": .array(weights.map(number)),
            ]
        }
        let stations: [JSON] = config.stations.map { s in
            [
                "name": s.name.map(JSON.string) ?? .null, "servers": .integer(s.servers), "service": moment(s.service),
                "setup": number(s.setup), "maxBatch": .integer(s.maxBatch), "timeout": number(s.timeout),
                "coldStart": moment(s.coldStart), "keepAlive": number(s.keepAlive),
            ]
        }
        let run = config.run
        return [
            "interArrival": moment(config.interArrival),
            "onOff": config.onOff.map { ["onFraction": number($0.onFraction), "meanOn": number($0.meanOn)] } ?? .null,
            "batch": batch, "stations": .array(stations),
            "run": [
                "jobs": .integer(run.jobs), "replications": .integer(run.replications), "warmup": number(run.warmup),
                "seed": .string(String(run.seed)), "precision": run.precision.map(number) ?? .null,
                "maxJobs": .integer(run.maxJobs), "threads": run.threads.map { .integer($0) } ?? .null,
            ],
        ]
    }

    static func parameter(_ parameter: SweepParameter) -> JSON {
        var members: [JSON.Member] = [JSON.Member("path", .string(parameter.target.description))]
        switch parameter.range {
        case .uniform(let low, let high), .loguniform(let low, let high):
            let name = if case .uniform = parameter.range { "uniform" } else { "loguniform" }
            members += [JSON.Member("range", .string(name)), JSON.Member("low", number(low)), JSON.Member("high", number(high))]
        case .int(let low, let high), .logint(let low, let high):
            let name = if case .int = parameter.range { "int" } else { "logint" }
            members += [
                JSON.Member("range", .string(name)), JSON.Member("low", .integer(low)), JSON.Member("high", .integer(high)),
            ]
        case .choice(let values):
            let items: [JSON] = values.map { value in
                switch value {
                case .number(let x): return ["number": number(x)]
                case .name(let name): return ["name": .string(name)]
                }
            }
            members += [JSON.Member("range", "choice"), JSON.Member("values", .array(items))]
        }
        return .object(members)
    }

    // MARK: Reading

    struct Reader {
        let json: JSON
        let path: String

        func fail(_ key: String, _ reason: String) -> BlobError { BlobError("\(path)\(path.isEmpty ? "" : ".")\(key): \(reason)") }

        func value(_ key: String) throws -> JSON {
            guard let value = json[key] else { throw fail(key, "missing") }
            return value
        }

        func object(_ key: String) throws -> Reader {
            let value = try value(key)
            guard case .object = value else { throw fail(key, "expected an object") }
            return Reader(json: value, path: path.isEmpty ? key : "\(path).\(key)")
        }

        func array(_ key: String) throws -> [JSON] {
            guard case .array(let items) = try value(key) else { throw fail(key, "expected an array") }
            return items
        }

        func string(_ key: String) throws -> String {
            guard case .string(let text) = try value(key) else { throw fail(key, "expected a string") }
            return text
        }

        func int(_ key: String) throws -> Int {
            guard case .integer(let number) = try value(key) else { throw fail(key, "expected an integer") }
            return number
        }

        func optionalInt(_ key: String) throws -> Int? {
            if json[key] == nil || json[key] == .null { return nil }
            return try int(key)
        }

        func uint64(_ key: String) throws -> UInt64 {
            guard let number = UInt64(try string(key)) else { throw fail(key, "expected a whole number as text") }
            return number
        }

        func double(_ key: String) throws -> Double {
            guard let number = Double(try string(key)) else { throw fail(key, "expected a number as text") }
            return number
        }

        func optionalDouble(_ key: String) throws -> Double? {
            if json[key] == nil || json[key] == .null { return nil }
            return try double(key)
        }
    }

    static func moment(_ reader: Reader) throws -> MomentSpec {
        MomentSpec(mean: try reader.double("mean"), scv: try reader.double("scv"))
    }

    static func config(_ reader: Reader, blob: (BlobHash) -> [UInt8]? = { _ in nil }) throws -> TandemConfig {
        let batchReader = try reader.object("batch")
        let batch: BatchSizeSpec
        switch try batchReader.string("dist") {
        case "deterministic": batch = .deterministic(try batchReader.int("size"))
        case "geometric": batch = .geometric(mean: try batchReader.double("mean"))
        case "uniform": batch = .uniform(mean: try batchReader.double("mean"))
        case "empirical":
            var values: [Int] = []
            for item in try batchReader.array("values") {
                guard case .integer(let value) = item else { throw batchReader.fail("values", "expected integers") }
                values.append(value)
            }
            var weights: [Double] = []
            for item in try batchReader.array("weights") {
                guard case .string(let text) = item, let weight = Double(text) else {
                    throw batchReader.fail("weights", "expected numbers as text")
                }
                weights.append(weight)
            }
            batch = .empirical(values: values, weights: weights)
        case let other: throw batchReader.fail("dist", "unknown distribution \"\(other)\"")
        }
        var stations: [StationConfig] = []
        for (i, item) in try reader.array("stations").enumerated() {
            let s = Reader(json: item, path: "\(reader.path).stations[\(i)]")
            var name: String?
            if case .string(let text)? = s.json["name"] { name = text }
            stations.append(
                StationConfig(
                    name: name, servers: try s.int("servers"), service: try moment(s.object("service")),
                    setup: try s.double("setup"), maxBatch: try s.int("maxBatch"), timeout: try s.double("timeout"),
                    coldStart: try moment(s.object("coldStart")), keepAlive: try s.double("keepAlive")))
        }
        let run = try reader.object("run")
        var config = TandemConfig(
            arrivalRate: 1, batch: batch, stations: stations,
            run: RunSettings(
                jobs: try run.int("jobs"), replications: try run.int("replications"), warmup: try run.double("warmup"),
                seed: try run.uint64("seed"), precision: try run.optionalDouble("precision"), maxJobs: try run.int("maxJobs"),
                threads: try run.optionalInt("threads")))
        // The inter-arrival moments as stored: rebuilding them from a rate could move the mean by an ulp.
        config.interArrival = try moment(reader.object("interArrival"))
        if let value = reader.json["onOff"], value != .null {
            let onOff = try reader.object("onOff")
            config.onOff = OnOffSpec(onFraction: try onOff.double("onFraction"), meanOn: try onOff.double("meanOn"))
        }
        if reader.json["trace"] != nil {
            config = try traceConfig(reader.object("trace"), stations: stations, run: config.run, blob: blob)
        }
        return config
    }

    /// A trace base: the trace rebuilt from the run's blob with the stored settings.
    static func traceConfig(_ reader: Reader, stations: [StationConfig], run: RunSettings,
                            blob: (BlobHash) -> [UInt8]?) throws -> TandemConfig {
        let hex = try reader.string("blob")
        guard let hash = BlobHash(hex: hex) else { throw reader.fail("blob", "not a SHA-256 hash: \"\(hex)\"") }
        guard let bytes = blob(hash) else {
            throw reader.fail("blob", "the trace file \(hash.short) is not among the run's blobs")
        }
        guard let unit = TraceTimeUnit(rawValue: try reader.string("timeUnit")) else {
            throw reader.fail("timeUnit", "unknown unit")
        }
        var work: String?
        if case .string(let column)? = reader.json["work"] { work = column }
        let settings = TraceSettings(
            path: try reader.string("path"), timeColumn: try reader.string("time"), timeUnit: unit, workColumn: work,
            workScale: try reader.double("workScale"), batchWindow: try reader.double("batchWindow"))
        let trace: ArrivalTrace
        do {
            trace = try ArrivalTrace.parse(Data(bytes), settings: settings)
        } catch {
            throw reader.fail("blob", "the trace does not parse: \(error)")
        }
        return TandemConfig(trace: trace, stations: stations, run: run)
    }

    static func target(_ path: String) -> SweepTarget? {
        switch path {
        case "arrival.rate": return .arrivalRate
        case "arrival.scv": return .arrivalScv
        case "arrival.onOff.onFraction": return .arrivalOnFraction
        case "arrival.onOff.meanOn": return .arrivalMeanOn
        case "batch.mean": return .batchMean
        case "batch.dist": return .batchDist
        default:
            let parts = path.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, parts[0] == "stations", let k = Int(parts[1]), k >= 1,
                let parameter = SweepTarget.StationParameter(rawValue: String(parts[2]))
            else { return nil }
            return .station(k - 1, parameter)
        }
    }

    static func parameter(_ reader: Reader) throws -> SweepParameter {
        let path = try reader.string("path")
        guard let target = target(path) else { throw reader.fail("path", "unknown input \"\(path)\"") }
        let range: SweepRange
        switch try reader.string("range") {
        case "uniform": range = .uniform(try reader.double("low"), try reader.double("high"))
        case "loguniform": range = .loguniform(try reader.double("low"), try reader.double("high"))
        case "int": range = .int(try reader.int("low"), try reader.int("high"))
        case "logint": range = .logint(try reader.int("low"), try reader.int("high"))
        case "choice":
            var values: [SweepValue] = []
            for item in try reader.array("values") {
                if case .string(let text)? = item["number"], let x = Double(text) {
                    values.append(.number(x))
                } else if case .string(let name)? = item["name"] {
                    values.append(.name(name))
                } else {
                    throw reader.fail("values", "expected {\"number\": \"x\"} or {\"name\": \"n\"} items")
                }
            }
            range = .choice(values)
        case let other: throw reader.fail("range", "unknown range \"\(other)\"")
        }
        return SweepParameter(target: target, range: range)
    }
}
