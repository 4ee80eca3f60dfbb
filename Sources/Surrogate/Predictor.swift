// Predictions from a model file: one row with plain loops and stack scratch (no heap
// allocation, safe to share across threads), or many rows through sgemm.

import Foundation

/// A loaded surrogate. Inputs are raw feature values in `featureNames` order (the
/// predictor standardises them); outputs are metric values in `targetNames` order.
public struct Predictor: Sendable {
    public let network: Network
    public let features: FeatureScaler
    public let transform: TargetTransform
    public let inputDomain: InputDomain
    /// Rows per sgemm block of a batch: big enough for BLAS to run at speed, small
    /// enough that a block's activations stay in L2.
    static let blockRows = 512
    private let means: [Double]
    private let stds: [Double]
    private let maxWidth: Int

    public init(model: ModelFile) {
        self.init(network: model.network, features: model.features, transform: model.targets, inputDomain: model.inputDomain)
    }

    /// Loads and checks a model file (errors name the file and the problem).
    public init(contentsOf url: URL) throws {
        self.init(model: try ModelFile.load(from: url))
    }

    public init(network: Network, features: FeatureScaler, transform: TargetTransform, inputDomain: InputDomain = InputDomain()) {
        precondition(features.count == network.architecture.inputs && transform.count == network.architecture.outputs,
                     "Predictor: features and targets do not match the network")
        self.network = network
        self.features = features
        self.transform = transform
        self.inputDomain = inputDomain
        means = features.means
        stds = features.stds
        maxWidth = network.architecture.maxWidth
    }

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
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * maxWidth) { scratch in
            let x = scratch.baseAddress!
            for c in 0..<a.inputs { x[c] = Float((features[c] - means[c]) / stds[c]) }  // as FeatureScaler.standardize
            let out = propagate(x, scratch: x + maxWidth)
            for j in 0..<a.outputs { values[j] = transform.targets[j].real(out[j]) }
        }
    }

    /// Standardised outputs for one row of standardised inputs (no allocation).
    public func predictStandardized(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        let a = network.architecture
        precondition(input.count == a.inputs && output.count == a.outputs, "Predictor: expected \(a.inputs) inputs and room for \(a.outputs) outputs")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * maxWidth) { scratch in
            let x = scratch.baseAddress!
            x.update(from: input.baseAddress!, count: a.inputs)
            let out = propagate(x, scratch: x + maxWidth)
            output.baseAddress!.update(from: out, count: a.outputs)
        }
    }

    /// Runs the layers on the row in `x`, ping-ponging with `scratch` (each maxWidth
    /// long); returns whichever holds the output. y = x W + b with W row-major
    /// (inputs x outputs): adding rows of W keeps the inner loop contiguous.
    @inline(__always)
    private func propagate(_ x: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let activation = network.architecture.activation
        return network.parameters.withUnsafeBufferPointer { parameters in
            let p = parameters.baseAddress!
            var x = x, y = scratch
            for (index, slot) in network.slots.enumerated() {
                let n = slot.outputs
                y.update(from: p + slot.biasOffset, count: n)
                var w = p + slot.weightOffset
                var i = 0
                // Four rows of W per sweep over y: a quarter of the loads and stores of y.
                while i + 4 <= slot.inputs {
                    let x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3]
                    let w1 = w + n, w2 = w + 2 * n, w3 = w + 3 * n
                    for j in 0..<n { y[j] += x0 * w[j] + x1 * w1[j] + x2 * w2[j] + x3 * w3[j] }
                    w += 4 * n
                    i += 4
                }
                while i < slot.inputs {
                    let xi = x[i]
                    for j in 0..<n { y[j] += xi * w[j] }
                    w += n
                    i += 1
                }
                if index < network.slots.count - 1 {
                    Kernels.activate(activation, count: n, y)
                }
                swap(&x, &y)
            }
            return x
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
        return run(features, threads: threads, standardizeInputs: true, realOutputs: true)
    }

    /// Standardised outputs for a batch of standardised inputs (the network alone).
    public func predictBatch(standardized inputs: Matrix, threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> Matrix {
        precondition(inputs.cols == network.architecture.inputs, "Predictor: rows of \(inputs.cols) inputs, the model takes \(network.architecture.inputs)")
        return run(inputs, threads: threads, standardizeInputs: false, realOutputs: false)
    }

    private func run(_ inputs: Matrix, threads: Int, standardizeInputs: Bool, realOutputs: Bool) -> Matrix {
        precondition(threads >= 1, "Predictor: threads must be at least 1")
        let a = network.architecture, n = inputs.rows
        var out = Matrix(rows: n, cols: a.outputs)
        let blocks = (n + Self.blockRows - 1) / Self.blockRows
        let workers = min(threads, blocks)
        BLAS.setThreads(1)  // the workers are the parallelism (see predictBatch)
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                guard workers > 1 else {
                    let workspace = Workspace(architecture: a, capacity: min(Self.blockRows, max(1, n)), training: false)
                    return runBlocks(0..<n, x, y, workspace, standardizeInputs, realOutputs)
                }
                // Whole blocks per worker; each writes only its own rows of `y`.
                let perWorker = (blocks + workers - 1) / workers * Self.blockRows
                // Read-only input and disjoint output rows: safe to share with the workers.
                nonisolated(unsafe) let x = x, y = y
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let rows = min(n, worker * perWorker)..<min(n, (worker + 1) * perWorker)
                    guard !rows.isEmpty else { return }
                    let workspace = Workspace(architecture: a, capacity: Self.blockRows, training: false)
                    runBlocks(rows, x, y, workspace, standardizeInputs, realOutputs)
                }
            }
        }
        return out
    }

    /// Rows `rows` of `x` through the network into the same rows of `y`, a block at a time.
    private func runBlocks(
        _ rows: Range<Int>, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>,
        _ workspace: Workspace, _ standardizeInputs: Bool, _ realOutputs: Bool
    ) {
        let d = network.architecture.inputs, k = network.architecture.outputs
        network.parameters.withUnsafeBufferPointer { parameters in
            means.withUnsafeBufferPointer { mean in
                stds.withUnsafeBufferPointer { std in
                    var start = rows.lowerBound
                    while start < rows.upperBound {
                        let m = min(workspace.capacity, rows.upperBound - start)
                        let input = workspace.input.baseAddress!, source = x.baseAddress! + start * d
                        if standardizeInputs {
                            for r in 0..<m {
                                for c in 0..<d { input[r * d + c] = Float((Double(source[r * d + c]) - mean[c]) / std[c]) }
                            }
                        } else {
                            input.update(from: source, count: m * d)
                        }
                        workspace.forward(parameters: parameters, rows: m)
                        let z = workspace.output.baseAddress!, target = y.baseAddress! + start * k
                        if realOutputs {
                            for r in 0..<m {
                                for j in 0..<k { target[r * k + j] = Float(transform.targets[j].real(z[r * k + j])) }
                            }
                        } else {
                            target.update(from: z, count: m * k)
                        }
                        start += m
                    }
                }
            }
        }
    }
}
