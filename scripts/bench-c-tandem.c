/*
 * A plain C sample-path recursion of Duet's reference tandem R1 (the scenario of
 * `duet bench simulate --scenario r1`), the yardstick for the simulator's speed.
 *
 * R1: batches of 4 jobs arrive as a Poisson process (0.2 batches/s); two FCFS
 * stations of 4 servers each, exponential service of mean 0.8 s, no batching,
 * setup or cold starts. Each job dispatches at its station when it is released,
 * every job ahead of it has dispatched and a server is free (Kiefer-Wolfowitz:
 * the earliest-free server); station 1's completions go on to station 2 in
 * completion order through a small heap, exactly as Duet's engine hands over.
 * Its own random numbers (xoshiro256** seeded through SplitMix64), so the mean
 * response agrees with Duet's only statistically.
 *
 * Output: jobs, seconds, jobs per second (wall clock, and per second of this
 * thread's CPU time, which a busy machine disturbs less) and the mean response of
 * the jobs after the first 10% (Duet's default warm-up). Best of `repeats` runs.
 *
 * Usage: bench-c-tandem [jobs] [repeats] [seed]    (cc -O2 -o bench-c-tandem bench-c-tandem.c -lm)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SERVERS 4
#define BATCH 4
#define RATE 0.2
#define SERVICE_MEAN 0.8
#define WARMUP 0.1

static uint64_t s[4];

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t next64(void) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

/* Exponential of mean m from a uniform on (0, 1]. */
static inline double expo(double m) { return -m * log((double)((next64() >> 11) + 1) * 0x1.0p-53); }

/* One FCFS station: when each server frees, and the last dispatch. */
typedef struct { double free[SERVERS]; double last; } station;

/* Dispatch at `release`: returns the start; the earliest-free server is taken. */
static inline double dispatch(station *st, double release, double service, double *completion) {
    int best = 0;
    for (int i = 1; i < SERVERS; i++) if (st->free[i] < st->free[best]) best = i;
    double start = release > st->last ? release : st->last;
    if (st->free[best] > start) start = st->free[best];
    st->last = start;
    *completion = start + service;
    st->free[best] = *completion;
    return start;
}

/* Station 1's jobs on their way to station 2: a min-heap on completion. */
typedef struct { double completion, arrival; long job; } pending;
static pending heap[SERVERS + 2];
static int heapCount;

static void push(pending p) {
    int c = heapCount++;
    heap[c] = p;
    while (c > 0) {
        int parent = (c - 1) / 2;
        if (heap[parent].completion <= heap[c].completion) break;
        pending t = heap[parent]; heap[parent] = heap[c]; heap[c] = t;
        c = parent;
    }
}

static pending pop(void) {
    pending top = heap[0];
    heap[0] = heap[--heapCount];
    int p = 0;
    for (;;) {
        int l = 2 * p + 1, b = l;
        if (l >= heapCount) break;
        if (l + 1 < heapCount && heap[l + 1].completion < heap[l].completion) b = l + 1;
        if (heap[p].completion <= heap[b].completion) break;
        pending t = heap[p]; heap[p] = heap[b]; heap[b] = t;
        p = b;
    }
    return top;
}

static station st2;
static long kept, firstKept;
static double responseSum;

static inline void toStation2(pending p) {
    double completion;
    dispatch(&st2, p.completion, expo(SERVICE_MEAN), &completion);
    if (p.job >= firstKept) { responseSum += completion - p.arrival; kept++; }
}

static double run(long jobs, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) s[i] = splitmix(&x);
    station st1;
    for (int i = 0; i < SERVERS; i++) { st1.free[i] = -INFINITY; st2.free[i] = -INFINITY; }
    st1.last = st2.last = -INFINITY;
    heapCount = 0; kept = 0; responseSum = 0;
    firstKept = (long)(WARMUP * (double)jobs);
    double clock = 0;
    long job = 0;
    while (job < jobs) {
        clock += expo(1 / RATE);
        for (int b = 0; b < BATCH && job < jobs; b++, job++) {
            double completion;
            double start = dispatch(&st1, clock, expo(SERVICE_MEAN), &completion);
            push((pending){completion, clock, job});
            /* Later dispatches start no earlier: whatever completed by now goes on. */
            while (heapCount > 0 && heap[0].completion <= start) toStation2(pop());
        }
    }
    while (heapCount > 0) toStation2(pop());
    return responseSum / (double)kept;
}

int main(int argc, char **argv) {
    long jobs = argc > 1 ? atol(argv[1]) : 20000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    uint64_t seed = argc > 3 ? strtoull(argv[3], 0, 10) : 1;
    if (jobs < 1 || repeats < 1) { fprintf(stderr, "usage: %s [jobs >= 1] [repeats >= 1] [seed]\n", argv[0]); return 2; }
    double best = INFINITY, bestCpu = INFINITY, mean = 0;
    for (int r = 0; r < repeats; r++) {
        struct timespec a, b, ca, cb;
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
        mean = run(jobs, seed + (uint64_t)r);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double t = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        double cpu = (double)(cb.tv_sec - ca.tv_sec) + 1e-9 * (double)(cb.tv_nsec - ca.tv_nsec);
        if (t < best) best = t;
        if (cpu < bestCpu) bestCpu = cpu;
    }
    printf("jobs:              %ld\n", jobs);
    printf("best time:         %.3f s (of %d)\n", best, repeats);
    printf("jobs per second:   %.2f million\n", (double)jobs / best / 1e6);
    printf("jobs per CPU second: %.2f million\n", (double)jobs / bestCpu / 1e6);
    printf("meanResponse:      %.4f s\n", mean);
    return 0;
}
