// Register-blocked dense layers for one row (DenseKernels.h).
//
// The product walks W row by row (contiguous loads) and keeps a block of y in
// registers across all inputs: eight (or, with AVX-512 on 256 outputs, sixteen)
// vector accumulators hide the latency of the fused multiply-adds, and y is stored
// once per block instead of once per input.
// The sum over inputs runs in input order for every output, at every level; levels
// differ only in rounding (fused or separate multiply and add).

#include "DenseKernels.h"

#include <immintrin.h>

static void forward_portable(const float *restrict x, int inputs, const float *restrict w,
                             const float *restrict bias, int outputs, float *restrict y) {
    for (int j = 0; j < outputs; j++) y[j] = bias[j];
    for (int i = 0; i < inputs; i++) {
        const float xi = x[i];
        const float *row = w + (long)i * outputs;
        for (int j = 0; j < outputs; j++) y[j] += xi * row[j];
    }
}

// The vector kernels are written once per instruction set and made for float weights
// and for float16 weights (below): the two differ only in how a vector of weights is
// loaded, so their multiply-adds are the same, in the same order, by construction.
// WEIGHT is the weights' element type; LOADV(p) loads a vector of weights at p as
// floats; LOADM(m, p) the same under mask m (AVX-512); SCALAR(v) one weight as a float.

#define DENSE_AVX2(NAME, TARGET, WEIGHT, LOADV, SCALAR)                                           \
    __attribute__((target(TARGET))) static void NAME(const float *restrict x, int inputs,          \
        const WEIGHT *restrict w, const float *restrict bias, int outputs, float *restrict y) {    \
        int j = 0;                                                                                  \
        for (; j + 64 <= outputs; j += 64) { /* eight 8-float accumulators */                       \
            __m256 a[8];                                                                            \
            for (int k = 0; k < 8; k++) a[k] = _mm256_loadu_ps(bias + j + 8 * k);                  \
            const WEIGHT *p = w + j;                                                                \
            for (int i = 0; i < inputs; i++, p += outputs) {                                        \
                const __m256 xi = _mm256_broadcast_ss(x + i);                                       \
                for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(xi, LOADV(p + 8 * k), a[k]);     \
            }                                                                                       \
            for (int k = 0; k < 8; k++) _mm256_storeu_ps(y + j + 8 * k, a[k]);                      \
        }                                                                                           \
        for (; j + 8 <= outputs; j += 8) {                                                          \
            __m256 a = _mm256_loadu_ps(bias + j);                                                   \
            const WEIGHT *p = w + j;                                                                \
            for (int i = 0; i < inputs; i++, p += outputs)                                          \
                a = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i), LOADV(p), a);                       \
            _mm256_storeu_ps(y + j, a);                                                             \
        }                                                                                           \
        for (; j < outputs; j++) { /* fewer than 8 left */                                          \
            float a = bias[j];                                                                      \
            for (int i = 0; i < inputs; i++) a = __builtin_fmaf(x[i], SCALAR(w[(long)i * outputs + j]), a); \
            y[j] = a;                                                                               \
        }                                                                                           \
    }

/* Blocks of COUNT 16-float accumulators while they fit in the outputs left. */
#define DENSE_AVX512_BLOCKS(COUNT, WEIGHT, LOADV)                                                 \
    for (; j + 16 * (COUNT) <= outputs; j += 16 * (COUNT)) {                                        \
        __m512 a[COUNT];                                                                            \
        for (int k = 0; k < (COUNT); k++) a[k] = _mm512_loadu_ps(bias + j + 16 * k);               \
        const WEIGHT *p = w + j;                                                                    \
        for (int i = 0; i < inputs; i++, p += outputs) {                                            \
            const __m512 xi = _mm512_set1_ps(x[i]);                                                 \
            for (int k = 0; k < (COUNT); k++) a[k] = _mm512_fmadd_ps(xi, LOADV(p + 16 * k), a[k]);  \
        }                                                                                           \
        for (int k = 0; k < (COUNT); k++) _mm512_storeu_ps(y + j + 16 * k, a[k]);                   \
    }

#define DENSE_AVX512(NAME, TARGET, WEIGHT, LOADV, LOADM)                                          \
    __attribute__((target(TARGET))) static void NAME(const float *restrict x, int inputs,          \
        const WEIGHT *restrict w, const float *restrict bias, int outputs, float *restrict y) {    \
        int j = 0;                                                                                  \
        /* sixteen accumulators, so that a 256-wide layer's rows are read whole, then eight */      \
        DENSE_AVX512_BLOCKS(16, WEIGHT, LOADV)                                                      \
        DENSE_AVX512_BLOCKS(8, WEIGHT, LOADV)                                                       \
        for (; j < outputs; j += 16) { /* 16 at a time, the last block masked */                    \
            const int left = outputs - j;                                                           \
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);     \
            __m512 a = _mm512_maskz_loadu_ps(m, bias + j);                                          \
            const WEIGHT *p = w + j;                                                                \
            for (int i = 0; i < inputs; i++, p += outputs)                                          \
                a = _mm512_fmadd_ps(_mm512_set1_ps(x[i]), LOADM(m, p), a);                          \
            _mm512_mask_storeu_ps(y + j, m, a);                                                     \
        }                                                                                           \
    }

#define FLOAT_AS_IS(v) (v)
DENSE_AVX2(forward_avx2, "avx2,fma", float, _mm256_loadu_ps, FLOAT_AS_IS)
DENSE_AVX512(forward_avx512, "avx512f", float, _mm512_loadu_ps, _mm512_maskz_loadu_ps)

// MARK: Weights in half precision
//
// The same products with the weights read as float16 and widened on load (exact:
// every float16 is a float), so the same outputs from half the bytes. A large model's
// one-row prediction is bound by reading its weights from the last-level cache, not
// by the arithmetic. The masked loads of 16-bit halves need AVX-512BW and VL.

#define HALVES8(q) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(q)))
#define HALVES16(q) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(q)))
#define HALVES16_MASKED(m, q) _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((m), (q)))
DENSE_AVX2(forward_avx2_half, "avx2,fma,f16c", unsigned short, HALVES8, _cvtsh_ss)
DENSE_AVX512(forward_avx512_half, "avx512f,avx512bw,avx512vl,f16c", unsigned short, HALVES16, HALVES16_MASKED)

int duet_dense_half_level(void) {
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level >= 0) return level;
    __builtin_cpu_init();
    const int best = duet_dense_best_level();
    if (!__builtin_cpu_supports("f16c") || best == DUET_DENSE_PORTABLE) level = DUET_DENSE_PORTABLE;
    else if (best == DUET_DENSE_AVX512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        level = DUET_DENSE_AVX512;
    else level = DUET_DENSE_AVX2_FMA;  // fused multiply-adds in the same order as AVX-512's: the same sums
    __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    return level;
}

int duet_dense_forward_half_at(int level, const float *x, int inputs, const unsigned short *weights,
                               const float *bias, int outputs, float *y) {
    switch (level) {
    case DUET_DENSE_AVX512: forward_avx512_half(x, inputs, weights, bias, outputs, y); return 1;
    case DUET_DENSE_AVX2_FMA: forward_avx2_half(x, inputs, weights, bias, outputs, y); return 1;
    default: return 0;
    }
}

int duet_dense_best_level(void) {
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level >= 0) return level;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) level = DUET_DENSE_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = DUET_DENSE_AVX2_FMA;
    else level = DUET_DENSE_PORTABLE;
    __atomic_store_n(&cached, level, __ATOMIC_RELAXED);  // every thread computes the same value
    return level;
}

void duet_dense_forward_at(int level, const float *x, int inputs, const float *weights,
                           const float *bias, int outputs, float *y) {
    switch (level) {
    case DUET_DENSE_AVX512: forward_avx512(x, inputs, weights, bias, outputs, y); break;
    case DUET_DENSE_AVX2_FMA: forward_avx2(x, inputs, weights, bias, outputs, y); break;
    default: forward_portable(x, inputs, weights, bias, outputs, y); break;
    }
}

void duet_dense_forward(const float *x, int inputs, const float *weights, const float *bias,
                        int outputs, float *y) {
    duet_dense_forward_at(duet_dense_best_level(), x, inputs, weights, bias, outputs, y);
}

// MARK: Activations
//
// e^x as Surrogate's fastExp (Activation.swift): x = n ln 2 + r (Cody-Waite, Cephes'
// constants), e^r = 1 + r + r^2 P(r) with P of degree 4, arguments clamped to
// [-87, 88] so the result stays a normal float. tanh from e^(-2|x|), with its Taylor
// series below |x| = 1/16 where 1 - e^(-2|x|) cancels.

#define EXP_MAGIC 12582912.0f  // 1.5 * 2^23: adding it rounds to an integer in the low bits
#define EXP_P0 1.381461275741458e-3f
#define EXP_P1 8.368710055947304e-3f
#define EXP_P2 4.166838899254799e-2f
#define EXP_P3 1.666652113199234e-1f
#define EXP_P4 4.999999403953552e-1f

static inline float exp_portable(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float shifted = x * 1.44269504f + EXP_MAGIC;
    const float n = shifted - EXP_MAGIC;
    const float r = (x - n * 0.693359375f) - n * -2.1219444e-4f;
    float p = EXP_P0;
    p = p * r + EXP_P1; p = p * r + EXP_P2; p = p * r + EXP_P3; p = p * r + EXP_P4;
    const float er = p * (r * r) + r + 1.0f;
    union { float f; int i; } s = { shifted }, scale;
    scale.i = (s.i - 0x4B400000 + 127) << 23;
    return er * scale.f;
}

static inline float activate_portable(int activation, float v) {
    switch (activation) {
    case DUET_ACTIVATION_RELU: return v > 0 ? v : 0;
    case DUET_ACTIVATION_SILU: return v / (1.0f + exp_portable(-v));
    case DUET_ACTIVATION_TANH: {
        const float ax = v < 0 ? -v : v, e = exp_portable(-2.0f * ax), x2 = ax * ax;
        const float t = ax < 0.0625f ? ax * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315))))
                                     : (1.0f - e) / (1.0f + e);
        return v < 0 ? -t : t;
    }
    default: return v;
    }
}

static void bias_activate_portable(int activation, float *x, int rows, int cols, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int j = 0; j < cols; j++) row[j] = activate_portable(activation, row[j] + (bias ? bias[j] : 0.0f));
    }
}

__attribute__((target("avx512f")))
static inline __m512 exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 shifted = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), _mm512_set1_ps(EXP_MAGIC));
    const __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(EXP_MAGIC));
    const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.1219444e-4f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x));
    __m512 p = _mm512_set1_ps(EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P4));
    const __m512 er = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512i exponent = _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000)), _mm512_set1_epi32(127));
    return _mm512_mul_ps(er, _mm512_castsi512_ps(_mm512_slli_epi32(exponent, 23)));
}

__attribute__((target("avx512f")))
static inline __m512 activate_avx512(int activation, __m512 v) {
    const __m512 one = _mm512_set1_ps(1.0f);
    switch (activation) {
    case DUET_ACTIVATION_RELU: return _mm512_max_ps(v, _mm512_setzero_ps());
    case DUET_ACTIVATION_SILU: return _mm512_div_ps(v, _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    case DUET_ACTIVATION_TANH: {
        const __m512 ax = _mm512_abs_ps(v), x2 = _mm512_mul_ps(ax, ax);
        const __m512 e = exp_avx512(_mm512_mul_ps(_mm512_set1_ps(-2.0f), ax));
        const __m512 far = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));
        __m512 q = _mm512_fmadd_ps(x2, _mm512_set1_ps(-17.0f / 315), _mm512_set1_ps(2.0f / 15));
        q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.0f / 3));
        const __m512 near = _mm512_mul_ps(ax, _mm512_fmadd_ps(x2, q, one));
        const __m512 t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.0625f), _CMP_LT_OQ), far, near);
        // The sign of v on |tanh|: or in v's sign bit.
        const __m512i sign = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u));
        return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), sign));
    }
    default: return v;
    }
}

__attribute__((target("avx512f")))
static void bias_activate_avx512(int activation, float *x, int rows, int cols, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int j = 0; j < cols; j += 16) {
            const int left = cols - j;
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            __m512 v = _mm512_maskz_loadu_ps(m, row + j);
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + j));
            _mm512_mask_storeu_ps(row + j, m, activate_avx512(activation, v));
        }
    }
}

__attribute__((target("avx2,fma")))
static inline __m256 exp_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), _mm256_set1_ps(EXP_MAGIC));
    const __m256 n = _mm256_sub_ps(shifted, _mm256_set1_ps(EXP_MAGIC));
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.1219444e-4f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x));
    __m256 p = _mm256_set1_ps(EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P4));
    const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i exponent = _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000)), _mm256_set1_epi32(127));
    return _mm256_mul_ps(er, _mm256_castsi256_ps(_mm256_slli_epi32(exponent, 23)));
}

__attribute__((target("avx2,fma")))
static inline __m256 activate_avx2(int activation, __m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f);
    switch (activation) {
    case DUET_ACTIVATION_RELU: return _mm256_max_ps(v, _mm256_setzero_ps());
    case DUET_ACTIVATION_SILU: return _mm256_div_ps(v, _mm256_add_ps(one, exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), v))));
    case DUET_ACTIVATION_TANH: {
        const __m256 signBit = _mm256_set1_ps(-0.0f);
        const __m256 ax = _mm256_andnot_ps(signBit, v), x2 = _mm256_mul_ps(ax, ax);
        const __m256 e = exp_avx2(_mm256_mul_ps(_mm256_set1_ps(-2.0f), ax));
        const __m256 far = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
        __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(-17.0f / 315), _mm256_set1_ps(2.0f / 15));
        q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-1.0f / 3));
        const __m256 near = _mm256_mul_ps(ax, _mm256_fmadd_ps(x2, q, one));
        const __m256 t = _mm256_blendv_ps(far, near, _mm256_cmp_ps(ax, _mm256_set1_ps(0.0625f), _CMP_LT_OQ));
        return _mm256_or_ps(t, _mm256_and_ps(signBit, v));
    }
    default: return v;
    }
}

__attribute__((target("avx2,fma")))
static void bias_activate_avx2(int activation, float *x, int rows, int cols, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        int j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256 v = _mm256_loadu_ps(row + j);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(row + j, activate_avx2(activation, v));
        }
        for (; j < cols; j++) row[j] = activate_portable(activation, row[j] + (bias ? bias[j] : 0.0f));
    }
}

void duet_bias_activate_at(int level, int activation, float *x, int rows, int cols, const float *bias) {
    switch (level) {
    case DUET_DENSE_AVX512: bias_activate_avx512(activation, x, rows, cols, bias); break;
    case DUET_DENSE_AVX2_FMA: bias_activate_avx2(activation, x, rows, cols, bias); break;
    default: bias_activate_portable(activation, x, rows, cols, bias); break;
    }
}

void duet_bias_activate(int activation, float *x, int rows, int cols, const float *bias) {
    duet_bias_activate_at(duet_dense_best_level(), activation, x, rows, cols, bias);
}
