// The inner loops of fitting a hidden Markov model of binned arrival counts
// (Simulation's MMPPFit.swift): one expectation step of Baum-Welch. In C, built
// with optimisation in every configuration, because a fit walks tens of thousands
// of bins hundreds of times and the tests run debug builds.
#ifndef DUET_HIDDEN_MARKOV_KERNELS_H
#define DUET_HIDDEN_MARKOV_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// One E step over `n` bins and `k` levels. In level l, batches arrive as a Poisson
/// process at `rates[l]` per second over bins of `width` seconds and carry shifted
/// geometric sizes of mean `batch_means[l]` (>= 1); bin t saw `batches[t]` batches
/// of `jobs[t]` jobs in all. `transitions` is the k x k per-bin matrix (row-major),
/// `initial` the level probabilities of bin 0.
///
/// Writes the expected number of transitions from each level to each (`pairs`, k x k),
/// and per level its expected bins (`weight`), batches and jobs (`weighted_batches`,
/// `weighted_jobs`) and its probability at bin 0 (`first`). `scratch` holds
/// 3 n k + 2 n doubles. Returns the log-likelihood, up to terms that do not depend
/// on the parameters (the same for every k).
double duet_hmm_expectation(int n, int k, const double *batches, const double *jobs, double width,
                            const double *rates, const double *batch_means, const double *transitions,
                            const double *initial, double *scratch, double *pairs, double *weight,
                            double *weighted_batches, double *weighted_jobs, double *first);

#ifdef __cplusplus
}
#endif

#endif
