#!/usr/bin/env python3
"""The held-out table of docs/domain.md: a model's errors by load band and feature family.

Joins the rows `duet evaluate MODEL DATA.csv --rows ROWS.csv` wrote with the stable
rows of DATA.csv, line by line (the evaluation skips unstable ones), and prints, per
group, the rows, the MAPE of meanResponse and QNA's, the 95th percentile of the
absolute percentage error, the share of rows where the model is further off than QNA,
and the MAPE of p95Response and p99Response. The load of a row is the higher of its two
stations' (light rows, with a station below 0.05, are also counted apart); batching is
maxBatch above 1 at some station, cold starts a positive coldStart.mean at some
station, bursty an arrival scv above 1 or on/off arrivals; on/off rows are split by
whether some station's load during a burst (its load / onFraction) exceeds 1. Standard
library only.
    duet evaluate models/duet-tandem-v1.json heldout-all.csv --rows rows.csv
    python3 scripts/heldout-table.py heldout-all.csv rows.csv
"""
import csv, sys, math
# The evaluation skips unstable rows and keeps the rest in file order, so the stable rows
# of DATA.csv pair with ROWS.csv line by line (point numbers alone may repeat when
# several sweeps' rows are concatenated).
data = [r for r in csv.DictReader(open(sys.argv[1])) if r.get('stable', 'true') == 'true']
rows = list(csv.DictReader(open(sys.argv[2])))
if len(data) != len(rows) or any(d['point'] != r['point'] for d, r in zip(data, rows)):
    sys.exit(f'{sys.argv[2]} does not pair with the stable rows of {sys.argv[1]} '
             f'({len(rows)} against {len(data)}): was it evaluated on that file?')
out = list(zip(data, rows))
def ape(r, t):
    s = float(r[t + '.simulated']); p = float(r[t + '.predicted'])
    return abs(p / s - 1) * 100
def qape(r, t):
    q = r.get(t + '.qna', '')
    return abs(float(q) / float(r[t + '.simulated']) - 1) * 100 if q not in ('', 'nan') else float('inf')
def fl(x):
    try: return float(x)
    except: return 0.0
def onoff(d):
    return d.get('arrival.onFraction', '') not in ('', '1') and fl(d['arrival.onFraction']) < 1
def busiest(d):
    return max(fl(d['stations.1.load']), fl(d['stations.2.load']))
def lightest(d):
    return min(fl(d['stations.1.load']), fl(d['stations.2.load']))
def burst_load(d):
    # the higher station load while an on/off source is on (rate / onFraction)
    return busiest(d) / fl(d['arrival.onFraction'])
groups = [('all', lambda d: True),
          ('a station below 0.05', lambda d: lightest(d) < 0.05),
          ('load 0-0.5', lambda d: busiest(d) < 0.5),
          ('load 0.5-0.8', lambda d: 0.5 <= busiest(d) < 0.8),
          ('load 0.8-1', lambda d: busiest(d) >= 0.8),
          ('batching', lambda d: fl(d['stations.1.maxBatch']) > 1 or fl(d['stations.2.maxBatch']) > 1),
          ('cold starts', lambda d: fl(d['stations.1.coldStart.mean']) > 0 or fl(d['stations.2.coldStart.mean']) > 0),
          ('bursty', lambda d: fl(d['arrival.scv']) > 1 or onoff(d)),
          ('renewal arrivals', lambda d: not onoff(d)),
          ('on/off, stations keep up', lambda d: onoff(d) and burst_load(d) <= 1),
          ('on/off, a station outrun', lambda d: onoff(d) and burst_load(d) > 1)]
print('| rows | n | meanResponse | QNA | 95th pct of APE | worse than QNA | p95Response | p99Response |')
print('|---|---|---|---|---|---|---|---|')
for name, test in groups:
    sel = [(d, r) for d, r in out if test(d)]
    if not sel: continue
    m = [ape(r, 'meanResponse') for _, r in sel]
    q = [qape(r, 'meanResponse') for _, r in sel]
    m95 = sorted(m)[min(len(m) - 1, int(math.ceil(0.95 * len(m))) - 1)]
    worse = sum(1 for a, b in zip(m, q) if a > b) / len(m) * 100
    p95 = sum(ape(r, 'p95Response') for _, r in sel) / len(sel)
    p99 = sum(ape(r, 'p99Response') for _, r in sel) / len(sel)
    qm = sum(x for x in q if math.isfinite(x)) / max(1, sum(1 for x in q if math.isfinite(x)))
    print(f'| {name} | {len(sel)} | {sum(m)/len(m):.1f}% | {qm:.1f}% | {m95:.1f}% | {worse:.0f}% | {p95:.1f}% | {p99:.1f}% |')
