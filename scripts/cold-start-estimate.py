#!/usr/bin/env python3
"""How well a closed-form estimate of each station's cold-start fraction follows the
simulated one, beside the chance of a long gap between batches that feature version 4
gives the network (docs/domain.md, "A closed-form cold-start fraction").

    python3 scripts/cold-start-estimate.py DATA.csv

DATA.csv: a dataset of two-station tandems written by `duet sweep` (renewal arrivals;
rows with on/off arrivals, infinite keepAlive or no simulated fraction are left out).
Prints, per station, the rows used and each estimate's Pearson correlation with the
simulated `stations.K.coldStartFraction` and its mean absolute error.

The estimate: an invocation takes the most recently freed idle instance (MODEL.md rule
3), so the j-th of the invocations released at one instant takes the j-th most recently
freed, which has idled longer than keepAlive when fewer than j completions fell in the
last keepAlive seconds; completions are taken as a Poisson stream at the station's
invocation rate r: P(Poisson(r keepAlive) < j). A group of n jobs arriving at once (a
batch at station 1; the jobs of one station-1 invocation, of QNA's mean size, at
station 2) releases ceil(n / K) invocations without a timeout, floor(n / K) full ones
with one; positions beyond the servers are warm, and the whole is scaled by the chance
that an instance is idle, 1 - ErlangC(c, offered load). Invocation sizes are QNA's.
"""
import csv
import math
import sys


def poisson_below(mu, j):
    """P(Poisson(mu) < j)."""
    term, total = math.exp(-mu), 0.0
    for i in range(j):
        total += term
        term *= mu / (i + 1)
    return min(1.0, total)


def gap_survival(scv, t):
    """P(gap > t) for gaps of mean 1 drawn as the simulator draws them."""
    if scv < 1e-3:
        return 1.0 if t < 1 else 0.0
    if abs(scv - 1) < 1e-12:
        return math.exp(-t)
    if scv < 1:
        k = min(200, max(1, round(1 / scv)))
        return poisson_below(k * t, k)
    p = (1 + math.sqrt((scv - 1) / (scv + 1))) / 2
    return p * math.exp(-2 * p * t) + (1 - p) * math.exp(-2 * (1 - p) * t)


def batch_at_least(dist, mean, x):
    if x <= 1:
        return 1.0
    if dist == 'geometric':
        return 0.0 if mean <= 1 else (1 - 1 / mean) ** (x - 1)
    if dist == 'deterministic':
        return 1.0 if x <= round(mean) else 0.0
    upper = max(1, round(2 * mean - 1))  # uniform on 1 ... 2 mean - 1
    return max(0.0, (upper - x + 1) / upper)


def erlang_c(c, a):
    if a >= c:
        return 1.0
    b = 1.0
    for n in range(1, c + 1):
        b = a * b / (n + a * b)
    rho = a / c
    return b / (1 - rho + rho * b)


def invocation_size(k, timeout, group, job_rate):
    if k == 1:
        return 1.0
    fill = min(timeout, max(0.0, (k - group) / job_rate))
    return max(1.0, min(k, group + job_rate * fill))


def released(n, k, timeout):
    return -(-n // k) if k == 1 or timeout == 0 else max(1, n // k)


def estimate(row, station):
    rate = float(row['arrival.rate'])
    mean = float(row['batch.mean'])
    job_rate = mean  # jobs per mean gap between batches
    p = f'stations.{station}.'
    c = int(float(row[p + 'servers']))
    k = int(float(row[p + 'maxBatch']))
    timeout = float(row[p + 'timeout']) * rate
    keep_alive = float(row[p + 'keepAlive']) * rate
    service = float(row[p + 'service.mean']) * rate
    setup = float(row[p + 'setup']) * rate
    if station == 1:
        size = invocation_size(k, timeout, mean, job_rate)
        shares = []
        for j in range(1, 100000):
            x = 1 if j == 1 else ((j - 1) * k + 1 if k == 1 or timeout == 0 else j * k)
            q = batch_at_least(row['batch.dist'], mean, x)
            if q < 1e-12:
                break
            shares.append(q)
    else:
        k1 = int(float(row['stations.1.maxBatch']))
        group = invocation_size(k1, float(row['stations.1.timeout']) * rate, mean, job_rate)
        size = invocation_size(k, timeout, group, job_rate)
        low = max(1, math.floor(group))
        share = group - low
        top = released(low + 1, k, timeout)
        shares = [(1 - share) * (released(low, k, timeout) >= j) + share * (top >= j) for j in range(1, top + 1)]
    r = job_rate / size
    idle = 1 - erlang_c(c, r * (setup + size * service))
    cold = sum(q * poisson_below(r * keep_alive, j) for j, q in enumerate(shares, 1) if j <= c)
    return cold / sum(shares) * idle


def pearson(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get('stable') == 'true'
            and float(r.get('arrival.onFraction') or 1) >= 1]
    for station in (1, 2):
        p = f'stations.{station}.'
        used = [r for r in rows if math.isfinite(float(r[p + 'keepAlive'])) and r[p + 'coldStartFraction'] not in ('', 'nan')]
        simulated = [float(r[p + 'coldStartFraction']) for r in used]
        gap = [gap_survival(float(r['arrival.scv']), float(r[p + 'keepAlive']) * float(r['arrival.rate'])) for r in used]
        closed = [estimate(r, station) for r in used]
        for name, values in (('chance of a long gap', gap), ('closed-form estimate', closed)):
            mae = sum(abs(v - s) for v, s in zip(values, simulated)) / len(used)
            print(f'station {station}, {len(used)} rows, {name}: Pearson {pearson(values, simulated):.3f}, '
                  f'mean absolute error {mae:.3f}')


if __name__ == '__main__':
    main()
