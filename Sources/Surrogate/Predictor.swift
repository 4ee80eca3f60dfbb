// Predictions from a model file: one row through the C kernels of DenseKernels (the
// CPU's widest vectors) with stack scratch (no heap allocation, safe to share across
// threads), or many rows through sgemm.
//
// An ensemble (`ModelFile.ensemble`) runs every member on the row and averages their
// standardised outputs before mapping them back: on log-transformed targets that is
// the geometric mean of the members' predictions. How far the members disagree (the
// spread) says how sure the ensemble is (`ErrorBands`).

import DenseKernels
import Foundation

/// A loaded surrogate. Inputs are raw feature values in `featureNames` order (the
/// predictor standardises them); outputs are metric values in `targetNames` order.
public struct Predictor: Sendable {
    /// The first member (the whole model for a single network).
    public var network: Network { members[0] }
    /// Every network whose outputs are averaged: one, or an ensemble's members.
    public let members: [Network]
    public let features: FeatureScaler
    public let transform: TargetTransform
    public let inputDomain: InputDomain
    /// Rows per sgemm block of a batch: big enough for BLAS to run at speed, small
    /// enough that a block's activations stay in L2.
    static let blockRows = 512
    private let means: [Double]
    private let stds: [Double]
    private let maxWidth: Int
    /// Each member's parameters as float16 bit patterns (the weights; biases stay
    /// float), which one-row prediction reads when every weight is a float16
    /// (`halfWeights(of:)`); nil otherwise, or on a CPU without the half kernels.
    private let halves: [[UInt16]]?
    /// The level `halves` run at (`duet_dense_half_level`).
    private let halfLevel: Int32

    public init(model: ModelFile) {
        self.init(members: model.networks, features: model.features, transform: model.targets, inputDomain: model.inputDomain)
    }

    /// Loads and checks a model file (errors name the file and the problem).
    public init(contentsOf url: URL) throws {
        self.init(model: try ModelFile.load(from: url))
    }

    public init(network: Network, features: FeatureScaler, transform: TargetTransform, inputDomain: InputDomain = InputDomain()) {
        self.init(members: [network], features: features, transform: transform, inputDomain: inputDomain)
    }

    /// An ensemble: `members` (at least one) take the same inputs and give the same
    /// outputs; their architectures may differ otherwise.
    public init(members: [Network], features: FeatureScaler, transform: TargetTransform, inputDomain: InputDomain = InputDomain()) {
        precondition(!members.isEmpty, "Predictor: no network")
        for network in members {
            precondition(features.count == network.architecture.inputs && transform.count == network.architecture.outputs,
                         "Predictor: features and targets do not match the network")
        }
        self.members = members
        self.features = features
        self.transform = transform
        self.inputDomain = inputDomain
        means = features.means
        stds = features.stds
        maxWidth = members.map(\.architecture.maxWidth).max()!
        halfLevel = duet_dense_half_level()
        halves = halfLevel == DUET_DENSE_PORTABLE ? nil : Self.halfWeights(of: members)
    }

    /// The members' weights as float16 bit patterns when every weight is a float16 (a
    /// model file of format 5 stores them so, `ModelFile.storeWeightsInHalfPrecision`),
    /// else nil. One row reads every weight once: the shipped ensemble's 5.5 MB of
    /// floats come from the shared last-level cache, and the arithmetic waits on them;
    /// as halves, the same products (each float16 widens to the very float it stands
    /// for) come from half the bytes. (A small model whose weights fit a core's cache
    /// lost nothing to the widening either: the fast model with its weights rounded and
    /// read as halves, 3.09 to 3.24 us a configuration against 3.23 to 3.30.)
    static func halfWeights(of members: [Network]) -> [[UInt16]]? {
        var halves: [[UInt16]] = []
        for network in members {
            var bits = [UInt16](repeating: 0, count: network.parameters.count)
            for slot in network.slots {
                for i in slot.weightOffset..<(slot.weightOffset + slot.weightCount) {
                    let weight = network.parameters[i]
                    let half = Float16(weight)
                    guard Float(half).bitPattern == weight.bitPattern else { return nil }
                    bits[i] = half.bitPattern
                }
            }
            halves.append(bits)
        }
        return halves
    }

    /// How one-row prediction reads the weights: "float16, widened on load (AVX-512)"
    /// (or AVX2) when every weight is a float16 and the CPU has the half kernels, else
    /// "float" (`duet bench predict` says which).
    public var oneRowWeights: String {
        guard halves != nil else { return "float" }
        return "float16, widened on load (\(halfLevel == DUET_DENSE_AVX512 ? "AVX-512" : "AVX2"))"
    }

    /// The members' count: 1 for a single network.
    public var memberCount: Int { members.count }

    public var featureNames: [String] { features.names }
    public var targetNames: [String] { transform.names }

    // MARK: One row

    /// Metric values for one row of raw features.
    public func predict(_ features: [Double]) -> [Double] {
        var values = [Double](repeating: 0, count: transform.count)
        predict(features, into: &values)
        return values
    }

    /// Metric values for one row of raw features, written into `values` (no allocation).
    public func predict(_ features: [Double], into values: inout [Double]) {
        let a = network.architecture
        precondition(features.count == a.inputs, "Predictor: \(features.count) features given, the model takes \(a.inputs) (\(featureNames.joined(separator: ", ")))")
        precondition(values.count == a.outputs, "Predictor: room for \(values.count) values, the model gives \(a.outputs)")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * maxWidth + a.inputs) { scratch in
            let input = scratch.baseAddress!, x = input + a.inputs
            for c in 0..<a.inputs { input[c] = Float((features[c] - means[c]) / stds[c]) }  // as FeatureScaler.standardize
            if members.count == 1 {
                x.update(from: input, count: a.inputs)
                let out = propagate(members[0], member: 0, x, scratch: x + maxWidth)
                for j in 0..<a.outputs { values[j] = transform.targets[j].real(out[j]) }
                return
            }
            let sum = x + 2 * maxWidth
            sum.initialize(repeating: 0, count: a.outputs)
            for (m, member) in members.enumerated() {
                x.update(from: input, count: a.inputs)
                let out = propagate(member, member: m, x, scratch: x + maxWidth)
                for j in 0..<a.outputs { sum[j] += out[j] }
            }
            let scale = 1 / Float(members.count)
            for j in 0..<a.outputs { values[j] = transform.targets[j].real(sum[j] * scale) }
        }
    }

    /// Metric values for one row of raw features and, per target, the members' spread:
    /// the standard deviation of their outputs on the scale the targets are learnt on
    /// (natural log units for log-transformed targets, so 0.1 is about 10%). The spread
    /// is 0 for a single network.
    public func predictWithSpread(_ features: [Double]) -> (values: [Double], spread: [Double]) {
        let a = network.architecture
        precondition(features.count == a.inputs, "Predictor: \(features.count) features given, the model takes \(a.inputs) (\(featureNames.joined(separator: ", ")))")
        var outputs = [[Float]]()
        outputs.reserveCapacity(members.count)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * maxWidth) { scratch in
            let x = scratch.baseAddress!
            for (m, member) in members.enumerated() {
                for c in 0..<a.inputs { x[c] = Float((features[c] - means[c]) / stds[c]) }
                let out = propagate(member, member: m, x, scratch: x + maxWidth)
                outputs.append(Array(UnsafeBufferPointer(start: out, count: a.outputs)))
            }
        }
        let combined = Self.combine(outputs, transform: transform)
        return (combined.values, combined.spread)
    }

    /// The mean of members' standardised outputs mapped back to metric values (summed in
    /// Float in member order, as `predict(_:into:)` does, so both give the same values),
    /// and the members' standard deviation in learnt units (`predictWithSpread`).
    static func combine(_ outputs: [[Float]], transform: TargetTransform) -> (values: [Double], spread: [Double]) {
        let scale = 1 / Float(outputs.count)
        var values = [Double](), spread = [Double]()
        for j in 0..<transform.count {
            var sum: Float = 0
            for output in outputs { sum += output[j] }
            let mean = outputs.reduce(0) { $0 + Double($1[j]) } / Double(outputs.count)
            let variance = outputs.reduce(0) { $0 + (Double($1[j]) - mean) * (Double($1[j]) - mean) } / Double(outputs.count)
            values.append(transform.targets[j].real(sum * scale))
            spread.append(variance.squareRoot() * transform.targets[j].std)
        }
        return (values, spread)
    }

    /// Standardised outputs (the members' mean) for one row of standardised inputs (no allocation).
    public func predictStandardized(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        let a = network.architecture
        precondition(input.count == a.inputs && output.count == a.outputs, "Predictor: expected \(a.inputs) inputs and room for \(a.outputs) outputs")
        output.initialize(repeating: 0)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * maxWidth) { scratch in
            let x = scratch.baseAddress!
            for (m, member) in members.enumerated() {
                x.update(from: input.baseAddress!, count: a.inputs)
                let out = propagate(member, member: m, x, scratch: x + maxWidth)
                for j in 0..<a.outputs { output[j] += out[j] }
            }
        }
        if members.count > 1 {
            let scale = 1 / Float(members.count)
            for j in 0..<a.outputs { output[j] *= scale }
        }
    }

    /// Runs the layers on the row in `x`, ping-ponging with `scratch` (each maxWidth
    /// long); returns whichever holds the output. y = x W + b with W row-major
    /// (inputs x outputs), in the CPU's widest vectors (`DenseKernels`).
    /// `member` is the network's position in `members` (for its half weights).
    @inline(__always)
    private func propagate(_ network: Network, member: Int, _ x: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let activation = network.architecture.activation
        return network.parameters.withUnsafeBufferPointer { parameters in
            let p = parameters.baseAddress!
            let halfWeights = halves?[member]
            return (halfWeights ?? []).withUnsafeBufferPointer { halfParameters in
                var x = x, y = scratch
                for (index, slot) in network.slots.enumerated() {
                    let n = slot.outputs
                    if halfWeights != nil, let h = halfParameters.baseAddress {
                        duet_dense_forward_half_at(halfLevel, x, Int32(slot.inputs), h + slot.weightOffset, p + slot.biasOffset,
                                                   Int32(n), y)
                    } else {
                        duet_dense_forward(x, Int32(slot.inputs), p + slot.weightOffset, p + slot.biasOffset, Int32(n), y)
                    }
                    if index < network.slots.count - 1 {
                        Kernels.activate(activation, count: n, y)
                    }
                    swap(&x, &y)
                }
                return x
            }
        }
    }

    // MARK: Many rows

    /// Metric values for a batch of raw feature rows (n x inputs) as an n x outputs
    /// matrix: standardises, runs the layers through sgemm in blocks of rows, maps the
    /// outputs back to metric values.
    ///
    /// The rows are split among `threads` workers, each running whole blocks (sgemm
    /// and activations) with OpenBLAS single-threaded (this sets its process-wide count
    /// to 1): the activations run in parallel too, which BLAS threading alone would
    /// leave serial, and no idle BLAS threads spin while the workers compute.
    public func predictBatch(_ features: Matrix, threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> Matrix {
        precondition(features.cols == network.architecture.inputs, "Predictor: rows of \(features.cols) features, the model takes \(network.architecture.inputs)")
        return run(features, threads: threads, standardizeInputs: true, realOutputs: true).mean
    }

    /// Standardised outputs (the members' mean) for a batch of standardised inputs.
    public func predictBatch(standardized inputs: Matrix, threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> Matrix {
        precondition(inputs.cols == network.architecture.inputs, "Predictor: rows of \(inputs.cols) inputs, the model takes \(network.architecture.inputs)")
        return run(inputs, threads: threads, standardizeInputs: false, realOutputs: false, spread: false).mean
    }

    /// `predictBatch(standardized:)` and, per row and target, the members' spread in
    /// learnt units (`predictWithSpread`); the spread is 0 for a single network.
    public func predictBatchWithSpread(standardized inputs: Matrix, threads: Int = ProcessInfo.processInfo.activeProcessorCount)
        -> (mean: Matrix, spread: Matrix)
    {
        precondition(inputs.cols == network.architecture.inputs, "Predictor: rows of \(inputs.cols) inputs, the model takes \(network.architecture.inputs)")
        let result = run(inputs, threads: threads, standardizeInputs: false, realOutputs: false, spread: true)
        return (result.mean, result.spread!)
    }

    private func run(_ inputs: Matrix, threads: Int, standardizeInputs: Bool, realOutputs: Bool,
                     spread wantsSpread: Bool = false) -> (mean: Matrix, spread: Matrix?) {
        precondition(threads >= 1, "Predictor: threads must be at least 1")
        let a = network.architecture, n = inputs.rows
        var out = Matrix(rows: n, cols: a.outputs)
        var spread = wantsSpread ? Matrix(rows: n, cols: a.outputs) : nil
        let blocks = (n + Self.blockRows - 1) / Self.blockRows
        let workers = min(threads, blocks)
        BLAS.setThreads(1)  // the workers are the parallelism (see predictBatch)
        let architectures = members.map(\.architecture)
        @Sendable func workspaces(_ capacity: Int) -> [Workspace] {
            architectures.map { Workspace(architecture: $0, capacity: capacity, training: false) }
        }
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                withOptionalBuffer(&spread) { s in
                    guard workers > 1 else {
                        return runBlocks(0..<n, x, y, s, workspaces(min(Self.blockRows, max(1, n))), standardizeInputs, realOutputs)
                    }
                    // Whole blocks per worker; each writes only its own rows of `y` and `s`.
                    let perWorker = (blocks + workers - 1) / workers * Self.blockRows
                    // Read-only input and disjoint output rows: safe to share with the workers.
                    nonisolated(unsafe) let x = x, y = y, s = s
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let rows = min(n, worker * perWorker)..<min(n, (worker + 1) * perWorker)
                        guard !rows.isEmpty else { return }
                        runBlocks(rows, x, y, s, workspaces(Self.blockRows), standardizeInputs, realOutputs)
                    }
                }
            }
        }
        return (out, spread)
    }

    /// Rows `rows` of `x` through every member into the same rows of `y` (the members'
    /// mean) and, when given, of `spread` (their standard deviation in learnt units), a
    /// block at a time. Members after the first are accumulated as differences from it,
    /// so that the spread of close members is not lost to rounding.
    private func runBlocks(
        _ rows: Range<Int>, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>,
        _ spread: UnsafeMutableBufferPointer<Float>?, _ workspaces: [Workspace], _ standardizeInputs: Bool, _ realOutputs: Bool
    ) {
        let d = network.architecture.inputs, k = network.architecture.outputs
        let first = workspaces[0], count = Float(members.count)
        // Sums of the later members' differences from the first, and of their squares.
        var differences = [Float](repeating: 0, count: members.count > 1 ? first.capacity * k : 0)
        var squares = differences
        means.withUnsafeBufferPointer { mean in
            stds.withUnsafeBufferPointer { std in
                var start = rows.lowerBound
                while start < rows.upperBound {
                    let m = min(first.capacity, rows.upperBound - start)
                    let input = first.input.baseAddress!, source = x.baseAddress! + start * d
                    if standardizeInputs {
                        for r in 0..<m {
                            for c in 0..<d { input[r * d + c] = Float((Double(source[r * d + c]) - mean[c]) / std[c]) }
                        }
                    } else {
                        input.update(from: source, count: m * d)
                    }
                    let target = y.baseAddress! + start * k
                    for (index, member) in members.enumerated() {
                        let workspace = workspaces[index]
                        if index > 0 { workspace.input.baseAddress!.update(from: input, count: m * d) }
                        member.parameters.withUnsafeBufferPointer { workspace.forward(parameters: $0, rows: m) }
                        let z = workspace.output.baseAddress!
                        if index == 0 {
                            target.update(from: z, count: m * k)
                            if members.count > 1 {
                                for i in 0..<m * k { differences[i] = 0; squares[i] = 0 }
                            }
                        } else {
                            for i in 0..<m * k {
                                let difference = z[i] - target[i]
                                differences[i] += difference
                                squares[i] += difference * difference
                            }
                        }
                    }
                    if members.count > 1 {
                        for i in 0..<m * k {
                            let meanDifference = differences[i] / count
                            if let spread {
                                let variance = max(0, squares[i] / count - meanDifference * meanDifference)
                                spread[start * k + i] = variance.squareRoot() * Float(transform.targets[i % k].std)
                            }
                            target[i] += meanDifference
                        }
                    } else if let spread {
                        for i in 0..<m * k { spread[start * k + i] = 0 }
                    }
                    if realOutputs {
                        for r in 0..<m {
                            for j in 0..<k { target[r * k + j] = Float(transform.targets[j].real(target[r * k + j])) }
                        }
                    }
                    start += m
                }
            }
        }
    }
}

/// `body` with the buffer of `matrix`, or nil when there is none.
private func withOptionalBuffer<R>(_ matrix: inout Matrix?, _ body: (UnsafeMutableBufferPointer<Float>?) -> R) -> R {
    guard matrix != nil else { return body(nil) }
    return matrix!.withUnsafeMutableBufferPointer { body($0) }
}
