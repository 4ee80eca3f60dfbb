// Adam and AdamW over the flat parameter array.

import Foundation

/// First and second moment estimates and the step count: the optimiser's whole state,
/// a value so that a trainer snapshot carries it.
struct AdamState: Sendable, Equatable {
    static let beta1 = 0.9, beta2 = 0.999, epsilon: Float = 1e-8

    var kind: OptimizerKind
    var firstMoment: [Float]
    var secondMoment: [Float]
    var step = 0

    init(kind: OptimizerKind, parameterCount: Int) {
        self.kind = kind
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// One update of `parameters` from `gradients`. Weight decay (`decay`) touches only
    /// the weight ranges of `slots`, never biases.
    mutating func update(
        parameters: inout [Float], gradients: UnsafeBufferPointer<Float>, slots: [LayerSlot],
        learningRate: Double, decay: Double
    ) {
        precondition(parameters.count == gradients.count && parameters.count == firstMoment.count, "AdamState: parameter count mismatch")
        step += 1
        // Bias corrections folded into the step size (Kingma and Ba, section 2); in Double
        // because beta2^t approaches 1 slowly.
        let c1 = 1 - pow(Self.beta1, Double(step)), c2 = 1 - pow(Self.beta2, Double(step))
        let stepSize = Float(learningRate * c2.squareRoot() / c1)
        let epsilon = Self.epsilon * Float(c2.squareRoot())
        let b1 = Float(Self.beta1), b2 = Float(Self.beta2)
        let l2 = kind == .adam ? Float(decay) : 0
        let shrink = kind == .adamw ? Float(1 - learningRate * decay) : 1
        parameters.withUnsafeMutableBufferPointer { w in
            firstMoment.withUnsafeMutableBufferPointer { m in
                secondMoment.withUnsafeMutableBufferPointer { v in
                    for slot in slots {
                        Self.run(w, m, v, gradients, slot.weightOffset..<slot.weightOffset + slot.weightCount,
                                 b1, b2, stepSize, epsilon, l2, shrink)
                        Self.run(w, m, v, gradients, slot.biasOffset..<slot.biasOffset + slot.outputs,
                                 b1, b2, stepSize, epsilon, 0, 1)
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func run(
        _ w: UnsafeMutableBufferPointer<Float>, _ m: UnsafeMutableBufferPointer<Float>,
        _ v: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>, _ range: Range<Int>,
        _ b1: Float, _ b2: Float, _ stepSize: Float, _ epsilon: Float, _ l2: Float, _ shrink: Float
    ) {
        let w = w.baseAddress!, m = m.baseAddress!, v = v.baseAddress!, g = g.baseAddress!
        for i in range {
            let gi = g[i] + l2 * w[i]
            let mi = b1 * m[i] + (1 - b1) * gi
            let vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi
            v[i] = vi
            w[i] = shrink * w[i] - stepSize * mi / (vi.squareRoot() + epsilon)
        }
    }
}
