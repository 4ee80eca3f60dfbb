#!/usr/bin/env python3
"""How far the references of `--target-scaling analytic` and `analytic-delays` sit from
simulation: the mean and spread (standard deviation) of log(simulated / reference) of
the end-to-end and each station's meanResponse, the residual the network learns.

References: QNA's response (`analytic`); QNA plus the fluid wait of an on/off burst
(`SurrogateFeatures.fluidBurstWaits`); QNA plus that wait plus the cold start paid
after a gap longer than keepAlive (`analytic-delays`); and those plus the wait behind
the jobs of one's own arriving group (`SurrogateFeatures.groupWaits`,
`analytic-group-delays`). The script takes the gap between batches as exponential, so
for arrivals of scv other than 1 its cold-start term approximates the one `duet`
computes from the gaps' own distribution, and it takes a later station's groups from
the simulated `meanBatchSize` of the station before, where `duet` uses QNA's. A
smaller spread leaves the network less to learn. Standard library only.
    duet evaluate MODEL DATA.csv --rows ROWS.csv        # any model: for QNA's columns
    python3 scripts/reference-residuals.py DATA.csv ROWS.csv
"""
import csv, math, statistics, sys

data = {}
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f):
        if r['meanResponse']:  # `duet evaluate` skips unstable rows
            data.setdefault(r['point'], []).append(r)

def sizes(config):
    """The arriving batches' sizes and their probabilities."""
    mean = float(config['batch.mean']); dist = config['batch.dist']
    if dist == 'deterministic':
        return {int(round(mean)): 1.0}
    if dist == 'uniform':
        upper = max(1, int(round(2 * mean - 1)))
        return {size: 1 / upper for size in range(1, upper + 1)}
    if dist == 'geometric':
        if mean <= 1:
            return {1: 1.0}
        p, out, size, q = 1 / mean, {}, 1, 1 / mean
        while q > 1e-12:
            out[size] = q; size += 1; q *= 1 - p
        return out
    raise SystemExit(f'batch.dist {dist}: this script knows deterministic, uniform and geometric')


def group_wait(groups, servers, max_batch, invocation):
    """Light-traffic wait behind one's own group (see SurrogateFeatures.groupWaits)."""
    def pairs(size):
        beyond = max(0, size // max_batch - servers)
        return beyond * (beyond + 1) / 2
    mean = sum(size * p for size, p in groups.items())
    return invocation / servers * max_batch * sum(pairs(size) * p for size, p in groups.items()) / mean


seen = {}
residuals = {}
for row in csv.DictReader(open(sys.argv[2])):
    k = row['point']; i = seen.get(k, 0); seen[k] = i + 1
    config = data[k][i]
    on = float(config['arrival.onFraction'] or 1)
    rate_multiplier, burst = 1 / on, float(config['arrival.meanOn'] or 0)
    batch_rate = float(config['arrival.rate'])
    delays = []
    groups = sizes(config)
    for s in (1, 2):
        station = lambda name: float(config[f'stations.{s}.{name}'])
        load, keep_alive = station('load'), station('keepAlive')
        wait = 0.0
        if on < 1:
            burst_load = rate_multiplier * load
            wait = max(0.0, burst_load - 1) * burst
            if burst_load > 1:  # passed on at capacity: the same work, longer
                burst *= burst_load; rate_multiplier = 1 / load
        cold = math.exp(-batch_rate * keep_alive) * station('coldStart.mean') if math.isfinite(keep_alive) else 0.0
        max_batch = int(station('maxBatch'))
        group = group_wait(groups, int(station('servers')), max_batch,
                           station('setup') + max_batch * station('service.mean'))
        delays.append((wait, cold, group))
        # The next station's groups: this one's invocations, of two whole sizes around the mean.
        size = max(1.0, station('meanBatchSize')); low = math.floor(size)
        groups = {low: 1 - (size - low), low + 1: size - low} if size > low else {low: 1.0}
    targets = [('meanResponse', delays)] + [(f'stations.{s}.meanResponse', [delays[s - 1]]) for s in (1, 2)]
    for target, added in targets:
        if not row[target + '.qna']:
            continue
        simulated, qna = float(row[target + '.simulated']), float(row[target + '.qna'])
        wait, cold, group = (sum(d[i] for d in added) for i in range(3))
        for name, reference in (('QNA', qna), ('QNA + burst wait', qna + wait),
                                ('QNA + burst wait + cold start', qna + wait + cold),
                                ('QNA + burst wait + cold start + group wait', qna + wait + cold + group)):
            residuals.setdefault((target, name), []).append(math.log(simulated / reference))
print('| target | reference | rows | mean | spread |')
print('|---|---|---|---|---|')
for (target, name), values in residuals.items():
    print(f'| {target} | {name} | {len(values)} | {statistics.mean(values):.3f} | {statistics.pstdev(values):.3f} |')
