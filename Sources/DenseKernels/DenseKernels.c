// Register-blocked dense layers for one row (DenseKernels.h).
//
// The product walks W row by row (contiguous loads) and keeps a block of y in
// registers across all inputs: eight vector accumulators hide the latency of the
// fused multiply-adds, and y is stored once per block instead of once per input.
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

__attribute__((target("avx2,fma")))
static void forward_avx2(const float *restrict x, int inputs, const float *restrict w,
                         const float *restrict bias, int outputs, float *restrict y) {
    int j = 0;
    for (; j + 64 <= outputs; j += 64) {  // eight 8-float accumulators
        __m256 a0 = _mm256_loadu_ps(bias + j), a1 = _mm256_loadu_ps(bias + j + 8);
        __m256 a2 = _mm256_loadu_ps(bias + j + 16), a3 = _mm256_loadu_ps(bias + j + 24);
        __m256 a4 = _mm256_loadu_ps(bias + j + 32), a5 = _mm256_loadu_ps(bias + j + 40);
        __m256 a6 = _mm256_loadu_ps(bias + j + 48), a7 = _mm256_loadu_ps(bias + j + 56);
        const float *p = w + j;
        for (int i = 0; i < inputs; i++, p += outputs) {
            const __m256 xi = _mm256_broadcast_ss(x + i);
            a0 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p), a0);
            a1 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p + 8), a1);
            a2 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p + 16), a2);
            a3 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p + 24), a3);
            a4 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p + 32), a4);
            a5 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p + 40), a5);
            a6 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p + 48), a6);
            a7 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(p + 56), a7);
        }
        _mm256_storeu_ps(y + j, a0); _mm256_storeu_ps(y + j + 8, a1);
        _mm256_storeu_ps(y + j + 16, a2); _mm256_storeu_ps(y + j + 24, a3);
        _mm256_storeu_ps(y + j + 32, a4); _mm256_storeu_ps(y + j + 40, a5);
        _mm256_storeu_ps(y + j + 48, a6); _mm256_storeu_ps(y + j + 56, a7);
    }
    for (; j + 8 <= outputs; j += 8) {
        __m256 a = _mm256_loadu_ps(bias + j);
        const float *p = w + j;
        for (int i = 0; i < inputs; i++, p += outputs) a = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i), _mm256_loadu_ps(p), a);
        _mm256_storeu_ps(y + j, a);
    }
    for (; j < outputs; j++) {  // fewer than 8 left
        float a = bias[j];
        for (int i = 0; i < inputs; i++) a = __builtin_fmaf(x[i], w[(long)i * outputs + j], a);
        y[j] = a;
    }
}

__attribute__((target("avx512f")))
static void forward_avx512(const float *restrict x, int inputs, const float *restrict w,
                           const float *restrict bias, int outputs, float *restrict y) {
    int j = 0;
    for (; j + 128 <= outputs; j += 128) {  // eight 16-float accumulators
        __m512 a0 = _mm512_loadu_ps(bias + j), a1 = _mm512_loadu_ps(bias + j + 16);
        __m512 a2 = _mm512_loadu_ps(bias + j + 32), a3 = _mm512_loadu_ps(bias + j + 48);
        __m512 a4 = _mm512_loadu_ps(bias + j + 64), a5 = _mm512_loadu_ps(bias + j + 80);
        __m512 a6 = _mm512_loadu_ps(bias + j + 96), a7 = _mm512_loadu_ps(bias + j + 112);
        const float *p = w + j;
        for (int i = 0; i < inputs; i++, p += outputs) {
            const __m512 xi = _mm512_set1_ps(x[i]);
            a0 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p), a0);
            a1 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p + 16), a1);
            a2 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p + 32), a2);
            a3 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p + 48), a3);
            a4 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p + 64), a4);
            a5 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p + 80), a5);
            a6 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p + 96), a6);
            a7 = _mm512_fmadd_ps(xi, _mm512_loadu_ps(p + 112), a7);
        }
        _mm512_storeu_ps(y + j, a0); _mm512_storeu_ps(y + j + 16, a1);
        _mm512_storeu_ps(y + j + 32, a2); _mm512_storeu_ps(y + j + 48, a3);
        _mm512_storeu_ps(y + j + 64, a4); _mm512_storeu_ps(y + j + 80, a5);
        _mm512_storeu_ps(y + j + 96, a6); _mm512_storeu_ps(y + j + 112, a7);
    }
    for (; j < outputs; j += 16) {  // 16 at a time, the last block masked
        const int left = outputs - j;
        const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 a = _mm512_maskz_loadu_ps(m, bias + j);
        const float *p = w + j;
        for (int i = 0; i < inputs; i++, p += outputs)
            a = _mm512_fmadd_ps(_mm512_set1_ps(x[i]), _mm512_maskz_loadu_ps(m, p), a);
        _mm512_mask_storeu_ps(y + j, m, a);
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
