// The one-row dense layer in C (DenseKernels): every instruction-set level this
// machine has computes y = bias + x W against a hand-built layer whose sums are exact
// in Float (small integers and halves), so fused and separate multiply-adds agree
// exactly and any wrong index, tail or block shows. The activations are checked
// against libm's functions in Double.

import DenseKernels
import DuetSupport
import Foundation
import Testing

@testable import Surrogate

@Suite("Dense kernels")
struct DenseKernelTests {
    /// x[i] = i mod 5 - 2, W[i][j] = (i + 2j) mod 7 - 3 halved, bias[j] = j mod 3:
    /// every product and partial sum is a multiple of 1/2 far below 2^24.
    static func layer(inputs: Int, outputs: Int) -> (x: [Float], weights: [Float], bias: [Float], expected: [Float]) {
        let x = (0..<inputs).map { Float($0 % 5 - 2) }
        var weights = [Float](repeating: 0, count: inputs * outputs)
        for i in 0..<inputs {
            for j in 0..<outputs { weights[i * outputs + j] = Float((i + 2 * j) % 7 - 3) / 2 }
        }
        let bias = (0..<outputs).map { Float($0 % 3) }
        // The sum by hand, in Double from the formulas (not through the weights array).
        func handSum(_ j: Int) -> Float {
            var sum = Double(j % 3)
            for i in 0..<inputs {
                let xi = Double(i % 5 - 2), wij = Double((i + 2 * j) % 7 - 3) / 2
                sum += xi * wij
            }
            return Float(sum)
        }
        let expected = (0..<outputs).map(handSum)
        return (x, weights, bias, expected)
    }

    /// Shapes that reach each path: blocks of 128 and 64 outputs, single vectors of 16
    /// and 8, masked and scalar tails, one input, and the shipped model's layers.
    static let shapes: [(inputs: Int, outputs: Int)] = [
        (1, 1), (3, 7), (5, 8), (9, 15), (4, 16), (6, 17), (31, 64), (2, 100),
        (31, 128), (128, 128), (128, 8), (13, 129), (40, 300), (7, 256), (3, 512), (9, 400),
    ]

    @Test("every level this CPU supports computes the hand-built layer exactly, for every shape")
    func everyLevelMatchesTheHandSum() {
        let best = Int(duet_dense_best_level())
        #expect((0...2).contains(best), "levels are 0 (portable), 1 (AVX2 and FMA), 2 (AVX-512)")
        for level in 0...best {
            for shape in Self.shapes {
                let layer = Self.layer(inputs: shape.inputs, outputs: shape.outputs)
                var y = [Float](repeating: .nan, count: shape.outputs)
                duet_dense_forward_at(Int32(level), layer.x, Int32(shape.inputs), layer.weights, layer.bias,
                                      Int32(shape.outputs), &y)
                #expect(y == layer.expected, "level \(level), \(shape.inputs) inputs x \(shape.outputs) outputs")
            }
        }
    }

    @Test("the kernel writes exactly its outputs: the floats after y are left alone")
    func writesOnlyItsOutputs() {
        let layer = Self.layer(inputs: 6, outputs: 21)
        for level in 0...Int(duet_dense_best_level()) {
            var y = [Float](repeating: -99, count: 21 + 16)
            duet_dense_forward_at(Int32(level), layer.x, 6, layer.weights, layer.bias, 21, &y)
            #expect(Array(y[..<21]) == layer.expected, "level \(level)")
            #expect(y[21...].allSatisfy { $0 == -99 }, "level \(level) wrote past its outputs")
        }
    }

    // MARK: Weights as float16

    @Test("the half-weight kernels compute the hand-built layer exactly (its weights are float16s), and write only their outputs")
    func halfKernelsMatchTheHandSum() {
        let half = Int(duet_dense_half_level())
        #expect(half <= Int(duet_dense_best_level()), "the half kernels run at most at the float kernels' level")
        var y = [Float](repeating: -99, count: 4)
        let none: [UInt16] = [0, 0, 0, 0]
        #expect(duet_dense_forward_half_at(0, [1], 1, none, [0, 0, 0, 0], 4, &y) == 0 && y.allSatisfy { $0 == -99 },
                "the portable level has no half kernel and writes nothing")
        guard half > 0 else { return }
        for level in 1...half {
            for shape in Self.shapes {
                let layer = Self.layer(inputs: shape.inputs, outputs: shape.outputs)
                let halves = layer.weights.map { Float16($0).bitPattern }
                var y = [Float](repeating: -99, count: shape.outputs + 16)
                let ran = duet_dense_forward_half_at(Int32(level), layer.x, Int32(shape.inputs), halves, layer.bias,
                                                     Int32(shape.outputs), &y)
                #expect(ran == 1 && Array(y[..<shape.outputs]) == layer.expected,
                        "level \(level), \(shape.inputs) inputs x \(shape.outputs) outputs")
                #expect(y[shape.outputs...].allSatisfy { $0 == -99 }, "level \(level) wrote past its outputs")
            }
        }
    }

    @Test("with weights that are float16s, the half-weight kernel gives the float kernel's outputs bit for bit, sums rounded and all")
    func halfKernelsAreTheFloatKernels() {
        let half = Int(duet_dense_half_level())
        guard half > 0 else { return }
        // Inputs and weights of every magnitude, so that the sums round at every step and
        // any other order of the multiply-adds would show in the last bits.
        var random = SplitMix64(seed: 16)
        for level in 1...half {
            for shape in Self.shapes {
                let x = (0..<shape.inputs).map { _ in Float.random(in: -3...3, using: &random) }
                let halves = (0..<shape.inputs * shape.outputs).map { _ in Float16(Float.random(in: -2...2, using: &random)) }
                let weights = halves.map { Float($0) }
                let bias = (0..<shape.outputs).map { _ in Float.random(in: -1...1, using: &random) }
                var fromFloats = [Float](repeating: 0, count: shape.outputs), fromHalves = fromFloats
                duet_dense_forward_at(Int32(level), x, Int32(shape.inputs), weights, bias, Int32(shape.outputs), &fromFloats)
                duet_dense_forward_half_at(Int32(level), x, Int32(shape.inputs), halves.map(\.bitPattern), bias,
                                           Int32(shape.outputs), &fromHalves)
                #expect(fromFloats.map(\.bitPattern) == fromHalves.map(\.bitPattern),
                        "level \(level), \(shape.inputs) inputs x \(shape.outputs) outputs")
            }
        }
    }

    @Test("a predictor reads weights as halves only when every weight is a float16, each the float it was")
    func halfWeightsOnlyWhenExactAndLarge() {
        func network(width: Int, halves: Bool) -> Network {
            var network = Network(architecture: NetworkArchitecture(inputs: 20, hidden: [width, width], outputs: 6, activation: .silu))
            for i in network.parameters.indices {
                let value = Float(i % 97) / 97 - 0.5 + 1e-4
                network.parameters[i] = halves ? Float(Float16(value)) : value
            }
            return network
        }
        #expect(Predictor.halfWeights(of: [network(width: 64, halves: true), network(width: 32, halves: true)]) != nil)
        #expect(Predictor.halfWeights(of: [network(width: 64, halves: false)]) == nil, "weights that are no float16s")
        #expect(Predictor.halfWeights(of: [network(width: 64, halves: true), network(width: 32, halves: false)]) == nil,
                "one member's weights that are no float16s")
        let halves = Predictor.halfWeights(of: [network(width: 64, halves: true)])![0]
        let floats = network(width: 64, halves: true)
        for slot in floats.slots {
            let range = slot.weightOffset..<(slot.weightOffset + slot.weightCount)
            #expect(range.allSatisfy { Float(Float16(bitPattern: halves[$0])) == floats.parameters[$0] })
        }
    }

    /// relu, silu and tanh in Double from libm, the reference for the kernels.
    static func exact(_ activation: Activation, _ v: Double) -> Double {
        switch activation {
        case .relu: return max(v, 0)
        case .silu: return v / (1 + Foundation.exp(-v))
        case .tanh: return Foundation.tanh(v)
        }
    }

    @Test("every level's activations, with and without a bias, match libm to 1e-6 relative over -85 to 85",
          arguments: Activation.allCases)
    func activationsMatchLibm(_ activation: Activation) {
        // Dense near 0 (tanh's series switches at 1/16), sparse out to saturation (the
        // exponential clamps its argument at -87: silu is not to the ulp below that);
        // 37 columns reach full vectors and tails at every width. The error allowed is
        // the polynomial's 1.4 ulp, grown by 1 - e^(-2x)'s cancellation in tanh just
        // above 1/16.
        let values: [Float] = (-300...300).map { Float($0) / 100 } + (-85...85).map { Float($0) } + [0.0625, -0.0625, 0.0624, 1e-6, -1e-6]
        let cols = 37, rows = (values.count + cols - 1) / cols
        let bias = (0..<cols).map { Float($0 % 4) / 8 - 0.25 }
        var inputs = [Float](repeating: 0, count: rows * cols)
        for (i, v) in values.enumerated() { inputs[i] = v }
        for level in 0...Int(duet_dense_best_level()) {
            for withBias in [false, true] {
                var x = inputs
                bias.withUnsafeBufferPointer { b in
                    duet_bias_activate_at(Int32(level), Optional(activation).kernelCode, &x, Int32(rows), Int32(cols),
                                          withBias ? b.baseAddress : nil)
                }
                var worst = 0.0
                for i in 0..<x.count {
                    let v = Double(inputs[i] + (withBias ? bias[i % cols] : 0))
                    let expected = Self.exact(activation, v)
                    worst = max(worst, abs(Double(x[i]) - expected) / max(abs(expected), 1e-30))
                }
                #expect(worst < 1e-6,
                        "\(activation) at level \(level)\(withBias ? " with a bias" : ""): worst relative error \(worst)")
            }
        }
    }

    @Test("the identity only adds the bias, and a layer's floats beyond its columns are left alone")
    func identityAddsTheBias() {
        for level in 0...Int(duet_dense_best_level()) {
            var x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, -7]
            let bias: [Float] = (0..<20).map { Float($0) / 2 }
            duet_bias_activate_at(Int32(level), Int32(DUET_ACTIVATION_IDENTITY), &x, 1, 20, bias)
            let expected: [Float] = (0..<20).map { j in Float(j + 1) + Float(j) / 2 }
            #expect(Array(x[..<20]) == expected, "level \(level)")
            #expect(x[20] == -7, "level \(level) wrote past its columns")
        }
    }
}
