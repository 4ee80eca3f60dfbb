// The one-row dense layer in C (DenseKernels): every instruction-set level this
// machine has computes y = bias + x W against a hand-built layer whose sums are exact
// in Float (small integers and halves), so fused and separate multiply-adds agree
// exactly and any wrong index, tail or block shows.

import DenseKernels
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
        (31, 128), (128, 128), (128, 8), (13, 129), (40, 300),
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
}
