// Baum-Welch's expectation step with scaled forward and backward passes
// (Rabiner, "A tutorial on hidden Markov models", 1989, section V.A).

#include "HiddenMarkovKernels.h"

#include <math.h>

double duet_hmm_expectation(int n, int k, const double *batches, const double *jobs, double width,
                            const double *rates, const double *batch_means, const double *transitions,
                            const double *initial, double *scratch, double *pairs, double *weight,
                            double *weighted_batches, double *weighted_jobs, double *first) {
    double *emission = scratch, *forward = scratch + (long)n * k, *backward = scratch + 2L * n * k;
    double *scale = scratch + 3L * n * k, *shift = scale + n;
    // log P(bin | level): Poisson batches, then the jobs given the batches, a sum of b
    // shifted geometric sizes: p^b (1 - p)^(j - b), p = 1 / mean (binomial factor dropped).
    for (int t = 0; t < n; t++) {
        const double b = batches[t], extra = jobs[t] - batches[t];
        double largest = -INFINITY;
        for (int l = 0; l < k; l++) {
            double value = b * log(rates[l] * width) - rates[l] * width;
            if (b > 0) {
                value += -b * log(batch_means[l]);
                if (extra > 0) value += batch_means[l] > 1 ? extra * log(1 - 1 / batch_means[l]) : -INFINITY;
            }
            emission[(long)t * k + l] = value;
            if (value > largest) largest = value;
        }
        // Relative to the largest, so exp() cannot underflow for every level at once.
        shift[t] = isfinite(largest) ? largest : 0;
        for (int l = 0; l < k; l++) emission[(long)t * k + l] = exp(emission[(long)t * k + l] - shift[t]);
    }
    // Forward, scaled to sum 1 in every bin.
    for (int t = 0; t < n; t++) {
        double sum = 0;
        for (int l = 0; l < k; l++) {
            double into = 0;
            if (t == 0) {
                into = initial[l];
            } else {
                for (int j = 0; j < k; j++) into += forward[(long)(t - 1) * k + j] * transitions[j * k + l];
            }
            const double value = into * emission[(long)t * k + l];
            forward[(long)t * k + l] = value;
            sum += value;
        }
        scale[t] = sum > 0 ? sum : 1e-300;
        for (int l = 0; l < k; l++) forward[(long)t * k + l] /= scale[t];
    }
    // Backward, with the same scales.
    for (int l = 0; l < k; l++) backward[(long)(n - 1) * k + l] = 1;
    for (int t = n - 2; t >= 0; t--) {
        for (int l = 0; l < k; l++) {
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += transitions[l * k + j] * emission[(long)(t + 1) * k + j] * backward[(long)(t + 1) * k + j];
            }
            backward[(long)t * k + l] = sum / scale[t + 1];
        }
    }
    for (int i = 0; i < k * k; i++) pairs[i] = 0;
    for (int l = 0; l < k; l++) {
        weight[l] = weighted_batches[l] = weighted_jobs[l] = 0;
        first[l] = forward[l] * backward[l];
    }
    double log_likelihood = 0;
    for (int t = 0; t < n; t++) {
        log_likelihood += log(scale[t]) + shift[t];
        for (int l = 0; l < k; l++) {
            const double share = forward[(long)t * k + l] * backward[(long)t * k + l];
            weight[l] += share;
            weighted_batches[l] += share * batches[t];
            weighted_jobs[l] += share * jobs[t];
            if (t + 1 < n) {
                const double from = forward[(long)t * k + l] / scale[t + 1];
                for (int j = 0; j < k; j++) {
                    pairs[l * k + j] += from * transitions[l * k + j] * emission[(long)(t + 1) * k + j]
                                        * backward[(long)(t + 1) * k + j];
                }
            }
        }
    }
    return log_likelihood;
}
