// The sweep's cluster pieces without a cluster: the spec blob and the sweep-point
// result round trip exactly.

import Cluster
import ClusterCore
import Foundation
import Search
import Simulation
import Testing

@testable import Sweeps

private let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite("Sweep tasks")
struct SweepTaskTests {
    @Test("a sweep spec survives its blob exactly: same fingerprint, same points", arguments: ["small-sweep", "quickstart-sweep", "azure-mmpp-growth-sweep"])
    func specBlobRoundTrip(_ name: String) throws {
        let spec = try SweepSpec.load(path: packageRoot.appendingPathComponent("examples/\(name).yaml").path)
        let bytes = SweepSpecBlob.encode(spec)
        let back = try SweepSpecBlob.decode(bytes)
        #expect(SweepSpecBlob.roundTrips(spec))
        #expect(back.fingerprint == spec.fingerprint)
        #expect(back.base == spec.base)
        #expect(back.parameters == spec.parameters)
        #expect(SweepSpecBlob.encode(back) == bytes, "the text is canonical: equal specs, equal bytes")
        let design = try spec.makeDesign(points: 64)
        let designBack = try back.makeDesign(points: 64)
        for index in 0..<64 {
            #expect(spec.point(index, of: design).config == back.point(index, of: designBack).config, "point \(index)")
        }
    }

    @Test("an MMPP base run faster keeps its multiplier through the blob, and its points their processes")
    func modulatedBaseWithAMultiplier() throws {
        func makeSpec(baseMultiplier: String) throws -> SweepSpec {
            try SweepSpec.parse("""
                base:
                  arrival: { mmpp: [{ rates: [1, 6], meanHolds: [4, 1] }]\(baseMultiplier) }
                  stations:
                    - { servers: 2, service: { mean: 0.1 } }
                vary:
                  arrival.rateMultiplier: { uniform: [0.5, 1] }
                  stations.1.servers: { int: [1, 3] }
                design: { method: sobol, points: 8, seed: 3 }
                """)
        }
        let spec = try makeSpec(baseMultiplier: ", rateMultiplier: 1.5, holdMultiplier: 2")
        let back = try SweepSpecBlob.decode(SweepSpecBlob.encode(spec))
        #expect(back.base == spec.base && back.base.rateMultiplier == 1.5 && back.base.holdMultiplier == 2)
        // Another base multiplier is another spec.
        #expect(try makeSpec(baseMultiplier: "").fingerprint != spec.fingerprint)
        let design = try spec.makeDesign(), backDesign = try back.makeDesign()
        for index in 0..<8 {
            let point = spec.point(index, of: design).config
            #expect(point == back.point(index, of: backDesign).config, "point \(index)")
            // The point's multiplier applies to the sources as written: [1, 6] at 2 batches a second.
            #expect(abs(point.arrivalRate - 2 * point.rateMultiplier) < 1e-12)
            #expect(point.rateMultiplier >= 0.5 && point.rateMultiplier <= 1)
        }
    }

    @Test("a trace base travels as a hash: with the file it survives the blob, without it the error says so")
    func specBlobTrace() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("duet-blob-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let traceText = "t,w\n0,1\n0.5,2\n0.5,1\n2,3\n3.25,1\n"
        try traceText.write(to: directory.appendingPathComponent("trace.csv"), atomically: true, encoding: .utf8)
        let spec = try SweepSpec.parse("""
            base:
              arrival: { trace: trace.csv, time: t, work: w, workScale: 0.5, batchWindow: 0.1 }
              stations:
                - { service: { mean: 0.1 } }
                - { servers: 2, service: { mean: 0.2 } }
            vary:
              stations.2.servers: { int: [2, 4] }
            design: { method: sobol, points: 4 }
            """, directory: directory.path)
        let file = Array(traceText.utf8)
        let bytes = SweepSpecBlob.encode(spec, traceFile: file)
        let back = try SweepSpecBlob.decode(bytes) { $0 == BlobHash(of: file) ? file : nil }
        #expect(back.base == spec.base && back.fingerprint == spec.fingerprint)
        #expect(back.base.trace?.jobCount == 5 && back.base.trace?.batchCount == 4)
        #expect(SweepSpecBlob.roundTrips(spec))
        #expect {
            try SweepSpecBlob.decode(bytes)
        } throws: { error in
            "\(error)".contains("base.trace.blob: the trace file \(BlobHash(of: file).short) is not among the run's blobs")
        }
    }

    @Test("on/off arrivals in the base and in vary survive the blob")
    func specBlobOnOff() throws {
        let text = """
            base:
              arrival: { rate: 3, onOff: { onFraction: 0.3, meanOn: 20 } }
              stations:
                - { service: { mean: 0.1 } }
                - { service: { mean: 0.2 } }
            vary:
              arrival.onOff.onFraction: { uniform: [0.1, 1] }
              arrival.onOff.meanOn: { loguniform: [1, 100] }
            design: { method: lhs, points: 8, seed: 3 }
            """
        let spec = try SweepSpec.parse(text)
        let back = try SweepSpecBlob.decode(SweepSpecBlob.encode(spec))
        #expect(back.base == spec.base)
        #expect(back.base.onOff == OnOffSpec(onFraction: 0.3, meanOn: 20))
        #expect(back.parameters == spec.parameters)
        #expect(back.fingerprint == spec.fingerprint)
        let design = try spec.makeDesign()
        for index in 0..<8 {
            #expect(spec.point(index, of: design).config == back.point(index, of: design).config, "point \(index)")
        }
    }

    @Test("infinite keepAlive and an arrival rate whose inverse is inexact survive the blob")
    func specBlobEdgeValues() throws {
        let text = """
            base:
              arrival: { rate: 3, scv: 0.7 }
              batch: { dist: empirical, values: [1, 2, 5], weights: [0.5, 0.3, 0.2] }
              stations:
                - { name: a, servers: 2, service: { mean: 0.1 } }
                - { servers: 3, service: { mean: 0.2, scv: 2 }, keepAlive: inf }
            vary:
              stations.2.load: { uniform: [0.1, 0.9] }
              stations.1.coldStart.mean: { choice: [0, 0.25] }
            design: { method: lhs, points: 8, seed: 12345678901234567 }
            """
        let spec = try SweepSpec.parse(text)
        let back = try SweepSpecBlob.decode(SweepSpecBlob.encode(spec))
        #expect(back.base == spec.base)
        #expect(back.base.stations[1].keepAlive == .infinity)
        #expect(back.design == spec.design)
        #expect(back.fingerprint == spec.fingerprint)
    }

    @Test("a three-station spec survives the blob; its stations.3 paths are read against the base's stations")
    func specBlobThreeStations() throws {
        let base = TandemConfig(arrivalRate: 1, batch: .geometric(mean: 2), stations: (0..<3).map { k in
            StationConfig(name: k == 2 ? "third" : nil, servers: 2, service: MomentSpec(mean: 0.2), maxBatch: k + 1,
                          keepAlive: k == 1 ? .infinity : 5)
        })
        let spec = SweepSpec(
            base: base,
            parameters: [
                SweepParameter(target: try SweepTarget.parse("stations.3.servers", stations: 3).get(), range: .int(1, 6)),
                SweepParameter(target: try SweepTarget.parse("stations.3.load", stations: 3).get(),
                               range: .uniform(0.1, 0.7)),
            ],
            design: SweepDesignSettings(method: .sobol, points: 8, seed: 4))
        let bytes = SweepSpecBlob.encode(spec)
        let back = try SweepSpecBlob.decode(bytes)
        #expect(back.base == spec.base && back.parameters == spec.parameters)
        #expect(back.fingerprint == spec.fingerprint)
        #expect(SweepSpecBlob.encode(back) == bytes)
        // The same vary keys over a two-station base: the error names the path and the count.
        var two = spec
        two.base.stations.removeLast()
        #expect {
            try SweepSpecBlob.decode(SweepSpecBlob.encode(two))
        } throws: { error in
            "\(error)".contains("vary[0].path: no such station: the base configuration has 2 stations")
        }
    }

    @Test("a blob from another build (other fingerprint) is refused with the reason")
    func specBlobFingerprintMismatch() throws {
        let spec = try SweepSpec.load(path: packageRoot.appendingPathComponent("examples/small-sweep.yaml").path)
        var text = String(decoding: SweepSpecBlob.encode(spec), as: UTF8.self)
        text = text.replacingOccurrences(of: spec.fingerprint, with: String(repeating: "0", count: 64))
        #expect(throws: SweepSpecBlob.BlobError.self) { try SweepSpecBlob.decode(Array(text.utf8)) }
    }

    @Test("a sweep-point result carries the row and its kind")
    func sweepPointResultRoundTrip() throws {
        for row in [
            SweepRow(cells: ["0", "1.5", "", "x,\"y\""], kind: .stable(precisionMet: false), jobs: 12),
            SweepRow(cells: ["3"], kind: .unstable, jobs: 7), SweepRow(cells: [], kind: .invalid, jobs: 0),
        ] {
            #expect(try SweepPointResult.decode(SweepPointResult.encode(row)) == row)
        }
        #expect(throws: TaskFailure.self) { try SweepPointResult.decode(Array("[1]".utf8)) }
    }
}
