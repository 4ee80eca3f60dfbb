import Foundation
import Simulation
import Testing

@testable import Surrogate

/// The exact activations in Double: the reference the Float kernels are checked against.
func exactActivation(_ activation: Activation, _ z: Double) -> Double {
    switch activation {
    case .relu: return max(z, 0)
    case .silu: return z / (1 + exp(-z))
    case .tanh: return tanh(z)
    }
}

/// An independent Double implementation of the network and its loss, written with
/// plain loops: finite differences of it are accurate to ~1e-10, far below Float noise.
func referenceLoss(_ architecture: NetworkArchitecture, _ parameters: [Double], inputs: Matrix, targets: Matrix) -> Double {
    let sizes = architecture.sizes
    var total = 0.0
    for r in 0..<inputs.rows {
        var x = (0..<inputs.cols).map { Double(inputs[r, $0]) }
        var offset = 0
        for l in 0..<architecture.layerCount {
            let (n, m) = (sizes[l], sizes[l + 1])
            let biases = offset + n * m
            var y = (0..<m).map { parameters[biases + $0] }
            for i in 0..<n {
                for j in 0..<m { y[j] += x[i] * parameters[offset + i * m + j] }
            }
            if l < architecture.layerCount - 1 { y = y.map { exactActivation(architecture.activation, $0) } }
            x = y
            offset = biases + m
        }
        for j in 0..<targets.cols { total += (x[j] - Double(targets[r, j])) * (x[j] - Double(targets[r, j])) }
    }
    return total / Double(inputs.rows * targets.cols)
}

/// A matrix of uniform values on [-scale, scale] from a seeded stream.
func randomMatrix(rows: Int, cols: Int, seed: UInt64, scale: Double = 1) -> Matrix {
    var random = RandomStream(seed: seed, substream: 9)
    return Matrix(rows: rows, cols: cols, storage: (0..<rows * cols).map { _ in Float((2 * random.nextOpenUnit() - 1) * scale) })
}

@Suite("BLAS layer")
struct BLASTests {
    /// Naive product in Double: the reference for every transpose combination.
    func naive(_ a: Matrix, _ ta: Bool, _ b: Matrix, _ tb: Bool) -> [Double] {
        let A = ta ? a.transposed() : a, B = tb ? b.transposed() : b
        var c = [Double](repeating: 0, count: A.rows * B.cols)
        for i in 0..<A.rows {
            for j in 0..<B.cols {
                for k in 0..<A.cols { c[i * B.cols + j] += Double(A[i, k]) * Double(B[k, j]) }
            }
        }
        return c
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaiveProduct(transposeA: Bool, transposeB: Bool) {
        // op(a) is 5 x 7, op(b) is 7 x 3.
        let a = randomMatrix(rows: transposeA ? 7 : 5, cols: transposeA ? 5 : 7, seed: 1)
        let b = randomMatrix(rows: transposeB ? 3 : 7, cols: transposeB ? 7 : 3, seed: 2)
        var c = Matrix(rows: 5, cols: 3, repeating: 1)
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c, alpha: 2, beta: 0.5)
        let expected = naive(a, transposeA, b, transposeB)
        // Seven products of magnitude <= 1: Float rounding stays below 1e-5.
        for i in 0..<15 { #expect(abs(Double(c.storage[i]) - (2 * expected[i] + 0.5)) < 1e-5) }
    }

    @Test func matrixBasics() {
        let m = Matrix(rows: [[1, 2, 3], [4, 5, 6]])
        #expect(m.rows == 2 && m.cols == 3 && m[1, 2] == 6)
        #expect(m.transposed()[2, 1] == 6)
        #expect(Array(m.row(1)) == [4, 5, 6])
        #expect(m.rows(at: [1, 0]).storage == [4, 5, 6, 1, 2, 3])
        #expect(gemm(m, m, transposeB: true).storage == [14, 32, 32, 77])
    }

    @Test func threadCountIsReadable() {
        // Reads only: the count is process-wide, and tests run in parallel; a test
        // that set it would change the conditions of every other one.
        #expect(BLAS.threads >= 1)
    }
}

@Suite("Activations and gradients")
struct GradientTests {
    @Test func fastExpIsAccurate() {
        // Designed for 8.0e-8 relative error (1.4 ulp); hold it to 1e-7 against Double exp.
        var worst = 0.0
        for i in 0...200_000 {
            let x = Float(-87 + 175 * Double(i) / 200_000)
            let got = Double(fastExp(x)), want = exp(Double(x))
            worst = max(worst, abs(got - want) / want)
        }
        #expect(worst < 1e-7, "worst relative error \(worst)")
        #expect(fastExp(-200) > 0 && fastExp(200).isFinite)
    }

    /// The training kernel on `z` (zero bias): returns (a, kept) where kept is what
    /// the backward pass reads from the z buffer.
    func trainingForward(_ activation: Activation, _ z: [Float]) -> (a: [Float], kept: [Float]) {
        var kept = z, a = [Float](repeating: 0, count: z.count)
        let zero = [Float](repeating: 0, count: z.count)
        kept.withUnsafeMutableBufferPointer { zp in
            a.withUnsafeMutableBufferPointer { ap in
                zero.withUnsafeBufferPointer { b in
                    Kernels.addBiasActivate(activation, rows: 1, cols: zp.count, bias: b.baseAddress!, z: zp.baseAddress!, a: ap.baseAddress!)
                }
            }
        }
        return (a, kept)
    }

    @Test(arguments: Activation.allCases)
    func activationMatchesExactFunction(_ activation: Activation) {
        // Float evaluation of a function of magnitude <= |z|: 1e-6 absolute plus 1e-6 relative.
        let z = (0...4000).map { Float(-12 + 24 * Double($0) / 4000) }
        let (a, _) = trainingForward(activation, z)
        // The in-place prediction kernel (bias 0.5 added to z - 0.5; DenseKernels, in
        // the CPU's vectors) meets the same bound on the same argument.
        var inPlace = z.map { $0 - 0.5 }
        let bias = [Float](repeating: 0.5, count: z.count)
        inPlace.withUnsafeMutableBufferPointer { x in
            bias.withUnsafeBufferPointer { Kernels.addBiasActivate(activation, rows: 1, cols: x.count, bias: $0.baseAddress!, x: x.baseAddress!) }
        }
        for (i, v) in z.enumerated() {
            let want = exactActivation(activation, Double(v))
            #expect(abs(Double(a[i]) - want) <= 1e-6 + 1e-6 * abs(want), "\(activation)(\(v)) = \(a[i]), want \(want)")
            #expect(a[i] == activation.apply(v))
            let argument = Double((v - 0.5) + 0.5), wantInPlace = exactActivation(activation, argument)
            #expect(abs(Double(inPlace[i]) - wantInPlace) <= 1e-6 + 1e-6 * abs(wantInPlace),
                     "in place: \(activation)(\(argument)) = \(inPlace[i]), want \(wantInPlace)")
        }
    }

    @Test(arguments: Activation.allCases)
    func activationDerivativeMatchesFiniteDifferences(_ activation: Activation) {
        // Central differences of the exact Double function, step 1e-5: truncation error
        // h^2 |f'''| / 6 < 1e-10 and rounding 1e-16 / 1e-5 = 1e-11, so the reference is
        // exact to Float precision; the Float derivative (from what the forward pass
        // kept) is held to 2e-6. Relu skips |z| < h, where the difference straddles the kink.
        let h = 1e-5
        let z = (0...2000).map { Float(-8 + 16 * Double($0) / 2000 + 0.0013) }
        let (a, kept) = trainingForward(activation, z)
        var delta = [Float](repeating: 1, count: z.count)
        kept.withUnsafeBufferPointer { sp in
            a.withUnsafeBufferPointer { ap in
                delta.withUnsafeMutableBufferPointer { dp in
                    Kernels.multiplyDerivative(activation, count: sp.count, s: sp.baseAddress!, a: ap.baseAddress!, delta: dp.baseAddress!)
                }
            }
        }
        for (i, v) in z.enumerated() where activation != .relu || abs(Double(v)) > h {
            let fd = (exactActivation(activation, Double(v) + h) - exactActivation(activation, Double(v) - h)) / (2 * h)
            #expect(abs(Double(delta[i]) - fd) < 2e-6, "\(activation)'(\(v)) = \(delta[i]), finite difference \(fd)")
            #expect(delta[i] == activation.derivative(a: a[i], s: sigmoid(v)))
        }
    }

    @Test func lossGradientMatchesFiniteDifferences() {
        // L = mean (y - t)^2 over m x k, so dL/dy = 2 (y - t) / (m k); an output bias
        // adds to one output column of every row, so its gradient is that column's sum
        // of dL/dy: difference the reference loss in each output bias.
        let architecture = NetworkArchitecture(inputs: 2, hidden: [3], outputs: 2, activation: .tanh)
        let network = Network(architecture: architecture, seed: 5)
        let inputs = randomMatrix(rows: 4, cols: 2, seed: 6), targets = randomMatrix(rows: 4, cols: 2, seed: 7)
        let workspace = Workspace(architecture: architecture, capacity: 4, training: true)
        workspace.input.baseAddress!.update(from: inputs.storage, count: 8)
        workspace.targets.baseAddress!.update(from: targets.storage, count: 8)
        network.parameters.withUnsafeBufferPointer { workspace.forward(parameters: $0, rows: 4) }
        let sse = workspace.loss(rows: 4, gradientScale: 2.0 / 8)
        let reference = referenceLoss(architecture, network.parameters.map(Double.init), inputs: inputs, targets: targets)
        #expect(abs(sse / 8 - reference) < 1e-6 * max(1, reference))
        // The output bias gradient is the column sum of dL/dy.
        network.parameters.withUnsafeBufferPointer { workspace.backward(parameters: $0, rows: 4) }
        let bias = network.slots[1].biasOffset
        for j in 0..<2 {
            var p = network.parameters.map(Double.init)
            let h = 1e-6
            p[bias + j] += h
            let up = referenceLoss(architecture, p, inputs: inputs, targets: targets)
            p[bias + j] -= 2 * h
            let down = referenceLoss(architecture, p, inputs: inputs, targets: targets)
            // The loss is quadratic in an output bias: central differences are exact up to rounding.
            #expect(abs(Double(workspace.gradients[bias + j]) - (up - down) / (2 * h)) < 1e-6)
        }
    }

    @Test func huberLossIsSquaredWithinDeltaAndLinearBeyond() {
        // One row, errors 0.2, -2 and 1 against zero targets, delta 0.5 (by hand):
        // 0.2^2 + (2 x 0.5 x 2 - 0.5^2) + (2 x 0.5 x 1 - 0.5^2) = 0.04 + 1.75 + 0.75 = 2.54,
        // and the error in the gradient clamped to [-0.5, 0.5]: 0.2, -0.5, 0.5. With one
        // row the output biases' gradients are those errors times the scale (1 here).
        let architecture = NetworkArchitecture(inputs: 1, hidden: [2], outputs: 3, activation: .tanh)
        let network = Network(architecture: architecture, seed: 1)
        let bias = network.slots[1].biasOffset
        let errors: [Float] = [0.2, -2, 1]
        for (delta, loss, gradient) in [(0.5, 2.54, [0.2, -0.5, 0.5]), (0, 5.04, [0.2, -2, 1])] as [(Float, Double, [Double])] {
            let workspace = Workspace(architecture: architecture, capacity: 1, training: true)
            workspace.input[0] = 0.3
            for j in 0..<3 { workspace.targets[j] = 0 }
            network.parameters.withUnsafeBufferPointer { workspace.forward(parameters: $0, rows: 1) }
            for j in 0..<3 { workspace.output[j] = errors[j] }
            let sum = workspace.loss(rows: 1, gradientScale: 1, huberDelta: delta)
            #expect(abs(sum - loss) < 1e-6, "delta \(delta): loss \(sum), expected \(loss)")
            network.parameters.withUnsafeBufferPointer { workspace.backward(parameters: $0, rows: 1) }
            for j in 0..<3 {
                let got = Double(workspace.gradients[bias + j])
                #expect(abs(got - gradient[j]) < 1e-6, "delta \(delta), output \(j): gradient \(got), expected \(gradient[j])")
            }
        }
    }

    @Test(arguments: Activation.allCases)
    func everyLayerGradientMatchesFiniteDifferences(_ activation: Activation) {
        // Three weight layers of different widths, a batch of 7: every weight and bias
        // of every layer against central differences of the Double reference loss.
        // Step 1e-4 for smooth activations (truncation ~1e-9); relu is piecewise linear in
        // each parameter, so a tiny step 1e-7 is exact unless a kink is crossed.
        // Tolerance: the Float backward pass carries relative error ~1e-6 from its sums
        // (6e-7 observed), so |analytic - numeric| <= 1e-4 (|numeric| + 1e-2 max |numeric|):
        // margin for rounding, while a derivative off by 0.1 % fails.
        let architecture = NetworkArchitecture(inputs: 4, hidden: [5, 6], outputs: 3, activation: activation)
        let network = Network(architecture: architecture, seed: 11)
        let m = 7
        let inputs = randomMatrix(rows: m, cols: 4, seed: 12, scale: 1.5), targets = randomMatrix(rows: m, cols: 3, seed: 13)
        let workspace = Workspace(architecture: architecture, capacity: 8, training: true)
        workspace.input.baseAddress!.update(from: inputs.storage, count: inputs.storage.count)
        workspace.targets.baseAddress!.update(from: targets.storage, count: targets.storage.count)
        network.parameters.withUnsafeBufferPointer { p in
            workspace.forward(parameters: p, rows: m)
            workspace.loss(rows: m, gradientScale: 2 / Float(m * 3))
            workspace.backward(parameters: p, rows: m)
        }
        let analytic = Array(workspace.gradients)
        let h = activation == .relu ? 1e-7 : 1e-4
        let base = network.parameters.map(Double.init)
        var numeric = [Double](repeating: 0, count: base.count)
        for i in base.indices {
            var p = base
            p[i] = base[i] + h
            let up = referenceLoss(architecture, p, inputs: inputs, targets: targets)
            p[i] = base[i] - h
            let down = referenceLoss(architecture, p, inputs: inputs, targets: targets)
            numeric[i] = (up - down) / (2 * h)
        }
        let scale = numeric.map(abs).max()!
        #expect(scale > 1e-3, "gradient vanished; the check would be vacuous")
        for (layer, slot) in network.slots.enumerated() {
            for i in slot.weightOffset..<slot.biasOffset + slot.outputs {
                let what = i < slot.biasOffset ? "weight \(i - slot.weightOffset)" : "bias \(i - slot.biasOffset)"
                #expect(
                    abs(Double(analytic[i]) - numeric[i]) <= 1e-4 * (abs(numeric[i]) + 1e-2 * scale),
                    "layer \(layer) \(what): backprop \(analytic[i]), finite difference \(numeric[i])")
            }
        }
    }

    @Test func workersSplittingABatchSumToTheWholeGradient() {
        // Three workers each take a share of a batch of 10 and their gradients are
        // summed: the same gradient as one worker, up to Float rounding of the sums.
        let architecture = NetworkArchitecture(inputs: 3, hidden: [8, 8], outputs: 2, activation: .silu)
        let network = Network(architecture: architecture, seed: 17)
        let inputs = randomMatrix(rows: 10, cols: 3, seed: 18), targets = randomMatrix(rows: 10, cols: 2, seed: 19)
        let rows = [9, 2, 4, 0, 7, 1, 8, 3, 6, 5]
        func gradient(threads: Int) -> ([Float], Double) {
            var settings = TrainingSettings()
            settings.batchSize = 10
            settings.threads = threads
            let scratch = Scratch(architecture: architecture, settings: settings)
            let loss = network.parameters.withUnsafeBufferPointer { p in
                rows.withUnsafeBufferPointer { r in
                    inputs.withUnsafeBufferPointer { x in
                        targets.withUnsafeBufferPointer { y in scratch.gradient(parameters: p, rows: r, inputs: x, targets: y) }
                    }
                }
            }
            return (Array(scratch.workspaces[0].gradients), loss)
        }
        let (one, oneLoss) = gradient(threads: 1), (three, threeLoss) = gradient(threads: 3)
        #expect(abs(oneLoss - threeLoss) <= 1e-6 * oneLoss)
        let scale = one.map { abs($0) }.max()!
        for i in one.indices { #expect(abs(one[i] - three[i]) <= 1e-5 * scale) }
        #expect(gradient(threads: 3).0 == three)
    }

    @Test func initialisationIsSeededAndScaled() {
        let architecture = NetworkArchitecture(inputs: 64, layers: 2, width: 256, outputs: 4, activation: .relu)
        let a = Network(architecture: architecture, seed: 3), b = Network(architecture: architecture, seed: 3)
        #expect(a.isBitIdentical(to: b))
        #expect(!a.isBitIdentical(to: Network(architecture: architecture, seed: 4)))
        // He: weight variance 2 / fan-in; 16384 draws give the sample variance to ~2%.
        let w = a.weights(layer: 0).map(Double.init)
        let variance = w.reduce(0) { $0 + $1 * $1 } / Double(w.count)
        #expect(abs(variance / (2.0 / 64) - 1) < 0.05)
        #expect(a.biases(layer: 0).allSatisfy { $0 == 0 })
        // Glorot-uniform output layer: |w| <= sqrt(6 / (256 + 4)).
        #expect(a.weights(layer: 2).allSatisfy { abs(Double($0)) <= (6.0 / 260).squareRoot() })
    }
}
