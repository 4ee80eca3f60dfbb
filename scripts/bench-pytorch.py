#!/usr/bin/env python3
# Compare with `duet bench train`: run in a venv with PyTorch installed
#   python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch && /tmp/tv/bin/python scripts/bench-pytorch.py
# The reference network of `duet bench train` in PyTorch on 2 CPU threads (training,
# then batch and one-row inference):
# 20 inputs, 3 hidden layers of 128 SiLU, 6 outputs, batch 256, 50,000 rows, AdamW.
import time, torch
torch.set_num_threads(2)
torch.manual_seed(7)
n = 50_000
x = torch.rand(n, 20) * 2 - 1
y = torch.stack([torch.sin(x[:, i]) + x[:, (i + 1) % 20] ** 2 / 2 for i in range(6)], dim=1)
model = torch.nn.Sequential(
    torch.nn.Linear(20, 128), torch.nn.SiLU(), torch.nn.Linear(128, 128), torch.nn.SiLU(),
    torch.nn.Linear(128, 128), torch.nn.SiLU(), torch.nn.Linear(128, 6))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-5)
loss_fn = torch.nn.MSELoss()
def epoch():
    perm = torch.randperm(n)
    for i in range(0, n, 256):
        idx = perm[i:i + 256]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
epoch()  # warm-up
best = float("inf")
for _ in range(3):
    t = time.perf_counter(); epoch(); best = min(best, time.perf_counter() - t)
print(f"pytorch {torch.__version__}: {n / best:,.0f} samples/s (best of 3 epochs, 2 threads)")

# Inference, as `duet bench train` times Predictor.predictBatch: 200,000 rows in one
# call, no gradients, best of three.
rows = x.repeat(4, 1)
with torch.inference_mode():
    model(rows[:1000])  # warm-up
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter(); model(rows); best = min(best, time.perf_counter() - t)
    one = rows[:1]
    latencies = []
    for i in range(2000):
        t = time.perf_counter(); model(one); latencies.append(time.perf_counter() - t)
latencies.sort()
print(f"pytorch {torch.__version__}: batch prediction {rows.shape[0] / best:,.0f} rows/s (best of 3, 2 threads), "
      f"one row {latencies[len(latencies) // 2] * 1e6:.1f} us (median)")
