// Hidden-layer activations and the elementwise kernels of the forward and backward
// passes. The loops are plain pointer loops over contiguous rows with no calls, so
// the compiler vectorises them; `exp` is a branch-free polynomial for that reason
// (libm's `expf` is a call per element and dominated batch prediction with SiLU).
// Prediction's kernels are in C (DenseKernels), with the same polynomial in the
// CPU's widest vectors.

import DenseKernels

/// The nonlinearity of every hidden layer (the output layer is linear).
public enum Activation: String, Codable, Sendable, CaseIterable {
    case relu, silu, tanh

    /// He initialisation suits the rectifier family, Glorot the symmetric tanh.
    var usesHeInitialisation: Bool { self != .tanh }
}

/// e^x within 1.4 ulp: x = n ln 2 + r with |r| <= ln 2 / 2 (Cody-Waite, Cephes'
/// constants), e^r = 1 + r + r^2 P(r) with P of degree 4 fitted minimax on that
/// interval (max relative error 8.0e-8 in Float arithmetic over [-87, 88], the same
/// as Cephes' degree-5 P with two operations fewer). Arguments are clamped to
/// [-87, 88] so the result stays a normal finite float, which every caller tolerates
/// (sigmoid and tanh saturate long before). Only wrapping integer and float
/// operations: vectorisable.
@inline(__always)
func fastExp(_ x: Float) -> Float {
    let x = min(max(x, -87), 88)
    // Round x / ln 2 to nearest by adding 1.5 * 2^23: the integer lands in the low bits.
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = (x - n * 0.693_359_375) - n * -2.121_944_4e-4
    var p: Float = 1.381_461_275_741_458e-3
    p = p * r + 8.368_710_055_947_304e-3
    p = p * r + 4.166_838_899_254_799e-2
    p = p * r + 1.666_652_113_199_234e-1
    p = p * r + 4.999_999_403_953_552e-1
    let er = p * (r * r) + r + 1
    let exponent = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000 &+ 127
    return er * Float(bitPattern: UInt32(bitPattern: exponent << 23))
}

/// The logistic function 1 / (1 + e^-x).
@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

/// tanh from e^(-2|x|), with its Taylor series near 0 where 1 - e^(-2|x|) cancels.
@inline(__always)
func fastTanh(_ x: Float) -> Float {
    let ax = abs(x)
    let e = fastExp(-2 * ax)
    let far = (1 - e) / (1 + e)
    let x2 = ax * ax
    let near = ax * (1 + x2 * (-1.0 / 3 + x2 * (2.0 / 15 + x2 * (-17.0 / 315))))
    let t = ax < 0.0625 ? near : far
    return x < 0 ? -t : t
}

extension Activation {
    /// The activation of one value (tests); training's kernels' formulas, bit for bit,
    /// and prediction's (DenseKernels) to float rounding.
    @inline(__always)
    func apply(_ z: Float) -> Float {
        switch self {
        case .relu: return max(z, 0)
        case .silu: return z * sigmoid(z)
        case .tanh: return fastTanh(z)
        }
    }

    /// The derivative from what the forward pass keeps: the activation `a` and, for
    /// silu, `s` = sigmoid(z). relu' = [a > 0], silu' = s + a (1 - s) (as
    /// s (1 + z (1 - s)) with a = z s), tanh' = 1 - a^2: no exp in the backward pass.
    @inline(__always)
    func derivative(a: Float, s: Float) -> Float {
        switch self {
        case .relu: return a > 0 ? 1 : 0
        case .silu: return s + a * (1 - s)
        case .tanh: return 1 - a * a
        }
    }
}

extension Activation? {
    /// The activation's number in DenseKernels.h (`DUET_ACTIVATION_*`; nil is the identity).
    var kernelCode: Int32 {
        switch self {
        case nil: return Int32(DUET_ACTIVATION_IDENTITY)
        case .relu: return Int32(DUET_ACTIVATION_RELU)
        case .silu: return Int32(DUET_ACTIVATION_SILU)
        case .tanh: return Int32(DUET_ACTIVATION_TANH)
        }
    }
}

/// Elementwise kernels over `rows` rows of `cols` contiguous floats: training's in
/// Swift (they keep what the backward pass needs), prediction's through DenseKernels.
enum Kernels {
    /// Training forward: v = z + bias (per column), a = f(v), and z is overwritten
    /// with what the backward pass needs: sigmoid(v) for silu (relu and tanh need only
    /// `a`, and z is left as v). With `activation` nil (the linear output layer), a = v.
    static func addBiasActivate(
        _ activation: Activation?, rows: Int, cols: Int, bias: UnsafePointer<Float>,
        z: UnsafeMutablePointer<Float>, a: UnsafeMutablePointer<Float>
    ) {
        // One loop per activation, so each inner loop is branch-free.
        for r in 0..<rows {
            let zr = z + r * cols, ar = a + r * cols
            switch activation {
            case nil:
                for j in 0..<cols { let v = zr[j] + bias[j]; zr[j] = v; ar[j] = v }
            case .relu:
                for j in 0..<cols { let v = zr[j] + bias[j]; zr[j] = v; ar[j] = max(v, 0) }
            case .silu:
                for j in 0..<cols { let v = zr[j] + bias[j]; let s = sigmoid(v); zr[j] = s; ar[j] = v * s }
            case .tanh:
                for j in 0..<cols { let v = zr[j] + bias[j]; zr[j] = v; ar[j] = fastTanh(v) }
            }
        }
    }

    /// Prediction forward, in place: x = f(x + bias) per row (nil: x + bias), in the
    /// CPU's widest vectors (`DenseKernels`; the same formulas to float rounding).
    static func addBiasActivate(_ activation: Activation?, rows: Int, cols: Int, bias: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>) {
        duet_bias_activate(activation.kernelCode, x, Int32(rows), Int32(cols), bias)
    }

    /// x = f(x) in place over `count` values (one row of prediction; `DenseKernels`).
    static func activate(_ activation: Activation, count: Int, _ x: UnsafeMutablePointer<Float>) {
        duet_bias_activate(Optional(activation).kernelCode, x, 1, Int32(count), nil)
    }

    /// delta *= f'(z), from the activations `a` and the kept `s` (see the training
    /// `addBiasActivate`), elementwise over `count` values.
    static func multiplyDerivative(
        _ activation: Activation, count: Int, s: UnsafePointer<Float>, a: UnsafePointer<Float>,
        delta: UnsafeMutablePointer<Float>
    ) {
        switch activation {
        case .relu:
            for i in 0..<count { delta[i] = a[i] > 0 ? delta[i] : 0 }
        case .silu:
            for i in 0..<count { delta[i] *= s[i] + a[i] * (1 - s[i]) }
        case .tanh:
            for i in 0..<count { delta[i] *= 1 - a[i] * a[i] }
        }
    }
}
