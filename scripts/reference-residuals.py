#!/usr/bin/env python3
"""How far the references of `--target-scaling analytic` and `analytic-delays` sit from
simulation: the mean and spread (standard deviation) of log(simulated / reference) of
the end-to-end and each station's meanResponse, the residual the network learns.

References: QNA's response (`analytic`); QNA plus the fluid wait of an on/off burst
(`SurrogateFeatures.fluidBurstWaits`); and QNA plus that wait plus the cold start
paid after a gap longer than keepAlive (`analytic-delays`). The script takes the gap
between batches as exponential, so for arrivals of scv other than 1 its cold-start
term approximates the one `duet` computes from the gaps' own distribution. A smaller
spread leaves the network less to learn. Standard library only.
    duet evaluate MODEL DATA.csv --rows ROWS.csv        # any model: for QNA's columns
    python3 scripts/reference-residuals.py DATA.csv ROWS.csv
"""
import csv, math, statistics, sys

data = {}
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f):
        if r['meanResponse']:  # `duet evaluate` skips unstable rows
            data.setdefault(r['point'], []).append(r)
seen = {}
residuals = {}
for row in csv.DictReader(open(sys.argv[2])):
    k = row['point']; i = seen.get(k, 0); seen[k] = i + 1
    config = data[k][i]
    on = float(config['arrival.onFraction'] or 1)
    rate_multiplier, burst = 1 / on, float(config['arrival.meanOn'] or 0)
    batch_rate = float(config['arrival.rate'])
    delays = []
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
        delays.append((wait, cold))
    targets = [('meanResponse', delays)] + [(f'stations.{s}.meanResponse', [delays[s - 1]]) for s in (1, 2)]
    for target, added in targets:
        if not row[target + '.qna']:
            continue
        simulated, qna = float(row[target + '.simulated']), float(row[target + '.qna'])
        wait = sum(w for w, _ in added); cold = sum(c for _, c in added)
        for name, reference in (('QNA', qna), ('QNA + burst wait', qna + wait),
                                ('QNA + burst wait + cold start', qna + wait + cold)):
            residuals.setdefault((target, name), []).append(math.log(simulated / reference))
print('| target | reference | rows | mean | spread |')
print('|---|---|---|---|---|')
for (target, name), values in residuals.items():
    print(f'| {target} | {name} | {len(values)} | {statistics.mean(values):.3f} | {statistics.pstdev(values):.3f} |')
