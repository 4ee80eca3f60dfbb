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
 * Built with -DMETRICS it also keeps every metric MODEL.md asks of this tandem, the
 * way the simulator keeps them (see `measure` and `record`), and prints them: the
 * yardstick for a simulator that must compute them all. The mean response is the
 * same number either way (the same draws in the same order).
 *
 * Usage: bench-c-tandem [jobs] [repeats] [seed]    (cc -O2 [-DMETRICS] -o bench-c-tandem bench-c-tandem.c -lm)
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

#ifndef METRICS
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
#else
/*
 * With -DMETRICS: every metric MODEL.md asks of this tandem, as the simulator keeps
 * them, so that the yardstick does the work the simulator must do. Per station and
 * kept job: response, buffer wait and queue wait; per counted invocation: jobs, busy
 * time and whether it started cold, which needs rule 3's choice of instance (the most
 * recently freed idle one, else the first to free) rather than any free server; the
 * queue waits in windows of doubling length (the instability check); and per kept
 * job its response in an HDR histogram of nanoseconds with three significant digits
 * (the percentiles).
 */
#define KEEP_ALIVE INFINITY
typedef struct {
    double response, bufferWait, queueWait, busy;
    long keptJobs, invocations, invocationJobs, coldStarts;
    double windowSum; long windowCount, windowLength, windowsDone;
} sums;
static sums stationSums[2];
static int64_t *histogram;       /* HDR counts: 54 buckets of 1,024 sub-buckets, 2,048 in the first */
#define HDR_HALF_MAGNITUDE 10    /* 3 significant digits: 2,048 sub-buckets, half of them 1,024 */
#define HDR_LENGTH ((54 + 1) << HDR_HALF_MAGNITUDE)

static inline void record(double seconds) {
    double ns = seconds * 1e9;
    uint64_t v = ns < 4e18 ? (uint64_t)ns : ((uint64_t)1 << 62) - 1;
    int bucket = 53 - __builtin_clzll(v | 2047);
    long index = ((long)(bucket + 1) << HDR_HALF_MAGNITUDE) + (long)(v >> bucket) - (1L << HDR_HALF_MAGNITUDE);
    histogram[index]++;
}

/* Dispatch one job released at `release`: rule 3's instance, cold or warm. */
static inline double dispatch(station *st, double release, double service, double *completion, int *cold) {
    double ready = release > st->last ? release : st->last;
    int idle = -1, first = 0;
    double idleFree = -INFINITY, firstFree = INFINITY;
    for (int i = 0; i < SERVERS; i++) {
        double f = st->free[i];
        if (f <= ready) { if (idle < 0 || f > idleFree) { idle = i; idleFree = f; } }
        else if (f < firstFree) { firstFree = f; first = i; }
    }
    double start = ready;
    int slot = first;
    *cold = 0;
    if (idle >= 0) { slot = idle; *cold = idleFree == -INFINITY || ready - idleFree > KEEP_ALIVE; }
    else start = firstFree;
    st->last = start;
    *completion = start + service;
    st->free[slot] = *completion;
    return start;
}

/* A kept job's (and, one job an invocation, its invocation's) measurements at station k. */
static inline void measure(int k, double enter, double release, double start, double completion, int cold, int kept) {
    sums *m = &stationSums[k];
    if (kept) {
        m->response += completion - enter; m->bufferWait += release - enter; m->queueWait += start - release;
        m->keptJobs++;
        m->invocations++; m->invocationJobs++; m->coldStarts += cold; m->busy += completion - start;
    }
    m->windowSum += start - release;
    if (++m->windowCount == m->windowLength) { m->windowsDone++; m->windowSum = 0; m->windowCount = 0; m->windowLength *= 2; }
}
#endif

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
#ifndef METRICS
    dispatch(&st2, p.completion, expo(SERVICE_MEAN), &completion);
    if (p.job >= firstKept) { responseSum += completion - p.arrival; kept++; }
#else
    int cold;
    double start = dispatch(&st2, p.completion, expo(SERVICE_MEAN), &completion, &cold);
    int isKept = p.job >= firstKept;
    measure(1, p.completion, p.completion, start, completion, cold, isKept);
    if (isKept) { responseSum += completion - p.arrival; kept++; record(completion - p.arrival); }
#endif
}

static double run(long jobs, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) s[i] = splitmix(&x);
    station st1;
    for (int i = 0; i < SERVERS; i++) { st1.free[i] = -INFINITY; st2.free[i] = -INFINITY; }
    st1.last = st2.last = -INFINITY;
    heapCount = 0; kept = 0; responseSum = 0;
#ifdef METRICS
    for (int k = 0; k < 2; k++) stationSums[k] = (sums){.windowLength = 4096};
    if (!histogram) histogram = malloc(sizeof(int64_t) * HDR_LENGTH);
    for (long i = 0; i < HDR_LENGTH; i++) histogram[i] = 0;
#endif
    firstKept = (long)(WARMUP * (double)jobs);
    double clock = 0;
    long job = 0;
    while (job < jobs) {
        clock += expo(1 / RATE);
        for (int b = 0; b < BATCH && job < jobs; b++, job++) {
            double completion;
#ifndef METRICS
            double start = dispatch(&st1, clock, expo(SERVICE_MEAN), &completion);
#else
            int cold;
            double start = dispatch(&st1, clock, expo(SERVICE_MEAN), &completion, &cold);
            measure(0, clock, clock, start, completion, cold, job >= firstKept);
#endif
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
#ifdef METRICS
    /* The last run's other metrics, read so that none of their work can be left out. */
    for (int k = 0; k < 2; k++) {
        sums *m = &stationSums[k];
        printf("station %d:         response %.4f s, queue wait %.4f s, busy per job %.4f s, cold %.2g, wait windows %ld\n",
               k + 1, m->response / (double)m->keptJobs, m->queueWait / (double)m->keptJobs,
               m->busy / (double)m->invocationJobs, (double)m->coldStarts / (double)m->invocations, m->windowsDone);
    }
    int64_t total = 0, rank, seen = 0;
    for (long i = 0; i < HDR_LENGTH; i++) total += histogram[i];
    rank = (int64_t)ceil(0.95 * (double)total);
    for (long i = 0; i < HDR_LENGTH; i++) {
        seen += histogram[i];
        if (seen >= rank) {
            long bucket = (i >> HDR_HALF_MAGNITUDE) - 1, sub = i & ((1L << HDR_HALF_MAGNITUDE) - 1);
            if (bucket < 0) { bucket = 0; sub = i; } else sub += 1L << HDR_HALF_MAGNITUDE;
            printf("p95Response:       %.4f s (histogram bucket's low end)\n", (double)((uint64_t)sub << bucket) / 1e9);
            break;
        }
    }
#endif
    return 0;
}
