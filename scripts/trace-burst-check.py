#!/usr/bin/env python3
"""How much of the Azure trace's queueing an on/off fit explains: a quick check.

Replays the trace's arrivals (one job per row, no batching) through one FCFS
station with 4, 5 or 6 servers and exponential service of mean 0.3 s, and compares
the mean response with two synthetic sources of the same length: the three-moment
on/off fit of `duet fit-trace TRACE --work GeneratedTokens` (on-rate 9.54 jobs/s,
on 16.87 s, off 45.83 s), and an on/off source whose on periods draw a gamma
intensity fitted to the trace's bursts (split at idle gaps over 5 s).
    python3 scripts/trace-burst-check.py data/azure-llm-2023/AzureLLMInferenceTrace_code.csv
docs/MODEL.md quotes its output. Standard library only; seeded.
"""
import heapq
import random
import sys
from datetime import datetime


def load(path):
    with open(path, newline="") as f:
        rows = f.read().splitlines()[1:]
    times = [datetime.strptime(r.split(",")[0][:26], "%Y-%m-%d %H:%M:%S.%f").timestamp() for r in rows if r]
    return [t - times[0] for t in times]


def mean_response(arrivals, servers, mean, rng):
    free = [0.0] * servers
    total = 0.0
    for a in arrivals:
        start = max(a, heapq.heappop(free))
        end = start + rng.expovariate(1 / mean)
        heapq.heappush(free, end)
        total += end - a
    return total / len(arrivals)


def on_off(n, rate_on, mean_on, mean_off, rng, intensity_scv=0.0):
    t, out = 0.0, []
    while len(out) < n:
        length = rng.expovariate(1 / mean_on)
        m = rng.gammavariate(1 / intensity_scv, intensity_scv) if intensity_scv > 0 else 1.0
        s = t
        while True:
            s += rng.expovariate(rate_on * m)
            if s > t + length:
                break
            out.append(s)
        t += length + rng.expovariate(1 / mean_off)
    return out[:n]


def main():
    ts = load(sys.argv[1])
    span = ts[-1]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    threshold = 5.0
    bursts, start = [], 0
    for i, g in enumerate(gaps):
        if g > threshold:
            bursts.append((start, i))
            start = i + 1
    bursts.append((start, len(ts) - 1))
    rates, lengths = [], []
    for a, b in bursts:
        d = ts[b] - ts[a]
        if b > a and d > 0:
            rates.append((b - a) / d)
            lengths.append(d)
    offs = [g for g in gaps if g > threshold]
    on_time = span - sum(offs)
    mean_rate = sum(r * w for r, w in zip(rates, lengths)) / sum(lengths)
    variance = sum(w * (r - mean_rate) ** 2 for r, w in zip(rates, lengths)) / sum(lengths)
    scv = variance / mean_rate ** 2
    print(f"{len(bursts)} bursts; on-rate {len(ts) / on_time:.2f} jobs/s, on {on_time / len(bursts):.2f} s, "
          f"off {sum(offs) / len(offs):.2f} s, intensity scv {scv:.3f}")
    for servers in (4, 5, 6):
        trace = sum(mean_response(ts, servers, 0.3, random.Random(s)) for s in range(5)) / 5
        fit = sum(mean_response(on_off(len(ts), 9.54, 16.87, 45.83, random.Random(s)), servers, 0.3,
                                random.Random(s + 9)) for s in range(20)) / 20
        gamma = sum(mean_response(on_off(len(ts), len(ts) / on_time, on_time / len(bursts), sum(offs) / len(offs),
                                         random.Random(s), scv), servers, 0.3, random.Random(s + 9))
                    for s in range(20)) / 20
        print(f"{servers} servers: trace {trace:.3f} s, on/off fit {fit:.3f} s, with gamma intensity {gamma:.3f} s")


if __name__ == "__main__":
    main()
