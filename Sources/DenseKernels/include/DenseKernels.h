// One dense layer for one row, y = bias + x W, and the hidden layers' activations,
// with the widest vector unit the CPU has (chosen at run time, so one binary runs on
// any x86-64 and uses AVX-512 or AVX2 with FMA where they exist). Prediction spends
// most of its time here and in OpenBLAS's sgemm (batches).
#ifndef DUET_DENSE_KERNELS_H
#define DUET_DENSE_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction sets a kernel can use, narrowest first.
enum {
    DUET_DENSE_PORTABLE = 0,  ///< plain C (what the compiler vectorises for the baseline CPU)
    DUET_DENSE_AVX2_FMA = 1,  ///< 256-bit vectors and fused multiply-add
    DUET_DENSE_AVX512 = 2,    ///< 512-bit vectors (AVX-512F) and fused multiply-add
};

/// The widest level this CPU and operating system support (detected once).
int duet_dense_best_level(void);

/// y[j] = bias[j] + sum over i of x[i] * weights[i * outputs + j], for j < outputs:
/// `weights` is row-major, inputs x outputs. `y` must not overlap `x`, `weights` or
/// `bias`. Uses `duet_dense_best_level()`.
void duet_dense_forward(const float *x, int inputs, const float *weights, const float *bias,
                        int outputs, float *y);

/// The same at a given level, which must be at most `duet_dense_best_level()`
/// (tests run every level the machine has).
void duet_dense_forward_at(int level, const float *x, int inputs, const float *weights,
                           const float *bias, int outputs, float *y);

/// The level of the half-precision kernels: where the CPU converts float16 (F16C),
/// `DUET_DENSE_AVX512` if it also has AVX-512BW and VL (masked 16-bit loads), else
/// `DUET_DENSE_AVX2_FMA` (which sums in the same fused order as AVX-512); without
/// F16C or FMA, `DUET_DENSE_PORTABLE` (none: use the float weights).
int duet_dense_half_level(void);

/// `duet_dense_forward_at` with `weights` as float16 bit patterns, widened on load: the
/// same outputs as the float kernel of that level given the same (widened) weights,
/// from half the bytes. Returns 0, writing nothing, at `DUET_DENSE_PORTABLE` (no half
/// kernel there) and 1 otherwise; `level` must be at most `duet_dense_half_level()`.
int duet_dense_forward_half_at(int level, const float *x, int inputs, const unsigned short *weights,
                               const float *bias, int outputs, float *y);

/// The activations, in the order of Surrogate's `Activation` (the output layer's
/// identity first).
enum {
    DUET_ACTIVATION_IDENTITY = 0,
    DUET_ACTIVATION_RELU = 1,
    DUET_ACTIVATION_SILU = 2,   ///< x * sigmoid(x)
    DUET_ACTIVATION_TANH = 3,
};

/// x[r * cols + j] = f(x[r * cols + j] + bias[j]) in place for r < rows, j < cols
/// (`bias` may be NULL: no bias). The exponential is Surrogate's `fastExp` (the same
/// polynomial, within float rounding of its values), so predictions agree with the
/// Swift kernels to about 1e-7 relative. Uses `duet_dense_best_level()`.
void duet_bias_activate(int activation, float *x, int rows, int cols, const float *bias);

/// The same at a given level, at most `duet_dense_best_level()`.
void duet_bias_activate_at(int level, int activation, float *x, int rows, int cols, const float *bias);

#ifdef __cplusplus
}
#endif

#endif
