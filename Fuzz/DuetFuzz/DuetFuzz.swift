// libFuzzer entry point for Duet's input readers. One binary, one reader per run,
// chosen by DUET_FUZZ_TARGET (wire, config, sweep, search, trace, dataset, model);
// `make fuzz` builds it with -sanitize=fuzzer (libFuzzer's driver) and runs
// each target on its seed corpus in Fuzz/corpus/<target>/.
//
// A reader may throw whatever it likes; a trap (overflow, `Int(nan)`, an index out of
// range, a force unwrap) is a finding. Regression tests for findings live in the
// normal test suite, against the library APIs.

import CLibFuzzer
import ClusterCore
import Foundation
import Search
import Searches
import Simulation
import Surrogate

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// The entry point: SwiftPM links a Linux executable with `main` = `DuetFuzz_main`,
/// so this runs libFuzzer's driver (and libFuzzer's own `main` stays out).
@_cdecl("DuetFuzz_main")
public func duetFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzz)
}

enum FuzzTarget: String, CaseIterable {
    case wire, config, sweep, search, trace, dataset, model

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["DUET_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("set DUET_FUZZ_TARGET to one of: \(names); got \"\(name)\"\n".utf8))
            exit(2)
        }
        return target
    }()

    /// Relative names in specs (`base: x.yaml`, `arrival.trace`) resolve here: nowhere.
    static let directory = "/nonexistent-duet-fuzz"

    func run(_ bytes: [UInt8]) {
        switch self {
        case .wire: Self.wire(bytes)
        case .config: Self.config(bytes)
        case .sweep: Self.sweep(bytes)
        case .search: Self.search(bytes)
        case .trace: Self.trace(bytes)
        case .dataset: Self.dataset(bytes)
        case .model: Self.model(bytes)
        }
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// A configuration that loads is what `duet predict` then features and writes as
    /// a dataset row.
    static func config(_ bytes: [UInt8]) {
        guard let config = try? ConfigLoader.parse(text(bytes), source: "fuzz", baseDirectory: directory) else { return }
        _ = SurrogateFeatures.vector(config)
        _ = try? ConfigColumns.datasetView(config)
    }

    /// A spec that parses, and its points at the corners and the middle of the design.
    static func sweep(_ bytes: [UInt8]) {
        guard let spec = try? SweepSpec.parse(text(bytes), source: "fuzz", directory: directory) else { return }
        for u in [0, 0.5, 0.999_999] {
            _ = spec.point(0, coordinates: Array(repeating: u, count: spec.parameters.count))
        }
    }

    /// Frames separated by a line `--`: `DUET/1\n--\nHELLO\n--\n{...}`. Every decoder
    /// gets them; a message that decodes must encode to frames that decode to it.
    static func wire(_ bytes: [UInt8]) {
        var frames: [[UInt8]] = [[]]
        let separator = Array("\n--\n".utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i...].starts(with: separator) {
                frames.append([])
                i += separator.count
            } else {
                frames[frames.count - 1].append(bytes[i])
                i += 1
            }
        }
        if let message = try? WorkerMessage.decode(frames) {
            precondition((try? WorkerMessage.decode(message.encoded())) == message, "WorkerMessage round trip")
        }
        if let message = try? CoordinatorMessage.decode(frames) {
            precondition((try? CoordinatorMessage.decode(message.encoded())) == message, "CoordinatorMessage round trip")
        }
        if let message = try? ClientRequest.decode(frames) {
            precondition((try? ClientRequest.decode(message.encoded())) == message, "ClientRequest round trip")
        }
        if let message = try? ClientReply.decode(frames) {
            precondition((try? ClientReply.decode(message.encoded())) == message, "ClientReply round trip")
        }
    }

    /// A search spec that parses, its first trial's hyperparameters, its rungs, its
    /// expected epochs, and the training settings they make, as `duet search` draws a
    /// trial.
    static func search(_ bytes: [UInt8]) {
        let vocabulary = TrainerSearchSpace.vocabulary
        guard let spec = try? SearchSpec.parse(text(bytes), source: "fuzz", vocabulary: vocabulary) else { return }
        _ = spec.algorithm.rungs
        _ = SearchSession(spec: spec, now: 0).expectedEpochs(trials: spec.budget.trials ?? 1)
        let values = spec.makeDesign().map { spec.hyperparameters(at: $0.point(0)) } ?? spec.fixed
        _ = try? TrainerSearchSpace.settings(values, seed: SearchSpec.trialSeed(searchSeed: spec.seed, trial: 0),
                                             maxEpochs: spec.algorithm.maxEpochs)
    }

    /// The first byte picks the settings a configuration would give (work column,
    /// time unit, batch window); the rest is the CSV. A trace that reads is fitted
    /// and described as a dataset row, as `duet fit-trace` and a sweep over it do.
    static func trace(_ bytes: [UInt8]) {
        let knob = bytes.first ?? 0
        let settings = TraceSettings(
            path: "fuzz.csv", timeColumn: "time", timeUnit: TraceTimeUnit.allCases[Int(knob % 3)],
            workColumn: knob & 4 != 0 ? "work" : nil, workScale: 1, batchWindow: knob & 8 != 0 ? 0.5 : 0)
        guard let trace = try? ArrivalTrace.parse(Data(bytes.dropFirst()), settings: settings) else { return }
        _ = TraceFit(trace).json
        let station = StationConfig(service: MomentSpec(mean: 0.1))
        _ = try? ConfigColumns.datasetView(TandemConfig(trace: trace, stations: [station, station]))
    }

    /// A dataset as `duet train` reads it, with the input domain a model records.
    static func dataset(_ bytes: [UInt8]) {
        guard let dataset = try? SurrogateDataset.parse(bytes: bytes, source: "fuzz.csv") else { return }
        let split = dataset.split()
        _ = dataset.inputDomain(of: split.train)
    }

    /// A model file as `duet predict` reads it, then one prediction and domain check.
    static func model(_ bytes: [UInt8]) {
        guard let file = try? ModelFile.decode(Data(bytes), file: "fuzz.json"),
              let model = try? SurrogateModel(file: file, source: "fuzz.json") else { return }
        let config = TandemConfig(arrivalRate: 0.5, stations: [
            StationConfig(servers: 2, service: MomentSpec(mean: 0.3)), StationConfig(service: MomentSpec(mean: 0.1)),
        ])
        _ = model.predict(config)
        _ = model.domainWarnings(config)
    }
}
