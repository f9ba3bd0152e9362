"""The `lstm` network of examples/adding.nn in PyTorch: nn.LSTM(2, 32, batch_first=True), the last step's h through
Linear(32, 1), MSE, Adam lr 1e-2, batch 64, on the adding problem's 12,000 sequences of 50 steps (the first 80%
trained, shuffled each epoch; the last 20% evaluated after each epoch, as nn's `validation = 0.2`), one thread.
`torch_lstm.py [epochs] [steps]`: trains `epochs` (default 2), then times `steps` (default 200) training steps and as
many forward passes (torch.no_grad(), as nn's prediction graph) on one fixed batch of 64, each the median of 7
blocks. Prints one JSON line like torch_mlp.py, with step_ms and forward_ms per step (wall time) and step_cpu_ms and
forward_cpu_ms (the thread's CPU time)."""
import time

t0 = time.perf_counter()
import os, statistics, sys  # noqa: E401, E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch_mlp import report  # noqa: E402


class Lstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(2, 32, batch_first=True)
        self.dense = torch.nn.Linear(32, 1)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.dense(h[:, -1, :])


def adding():
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data")
    x = torch.from_numpy(np.load(os.path.join(data, "adding50-x.npy")).astype(np.float32))
    y = torch.from_numpy(np.load(os.path.join(data, "adding50-y.npy")).astype(np.float32)).reshape(-1, 1)
    return x, y


def median_ms(fn, steps, blocks=7):
    """The median over `blocks` of the mean time of `steps` calls of fn, in milliseconds (after one warm block), in
    wall time and in this thread's CPU time (time.thread_time(), which a busy machine inflates less)."""
    wall, cpu = [], []
    for i in range(blocks + 1):
        t, c = time.perf_counter(), time.thread_time()
        for _ in range(steps):
            fn()
        if i > 0:
            wall.append((time.perf_counter() - t) / steps * 1e3)
            cpu.append((time.thread_time() - c) / steps * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    torch.set_num_threads(1)
    torch.manual_seed(3)
    x, y = adding()
    n_train = len(x) * 4 // 5
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    model = Lstm()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.MSELoss()
    val_loss, epoch_s, last = [], [], float("nan")

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    start = time.perf_counter()
    for _ in range(epochs):
        t = time.perf_counter()
        order = torch.randperm(n_train)
        total, count = 0.0, 0
        model.train()
        for i in range(0, n_train, 64):
            ids = order[i:i + 64]
            total += step(xt[ids], yt[ids]).item()
            count += 1
        model.eval()
        with torch.no_grad():
            val_loss.append(sum(loss_fn(model(xv[i:i + 256]), yv[i:i + 256]).item() * len(yv[i:i + 256])
                                for i in range(0, len(yv), 256)) / len(yv))
        last = total / count
        epoch_s.append(time.perf_counter() - t)
    train_s = time.perf_counter() - start
    xb, yb = xt[:64].clone(), yt[:64].clone()
    step_ms, step_cpu_ms = median_ms(lambda: step(xb, yb), steps)
    with torch.no_grad():
        forward_ms, forward_cpu_ms = median_ms(lambda: model(xb), steps)
    report(t0, train_s=train_s, epoch_s=epoch_s, loss=last, val_loss=val_loss[-1] if val_loss else None,
           step_ms=step_ms, forward_ms=forward_ms, step_cpu_ms=step_cpu_ms, forward_cpu_ms=forward_cpu_ms)


if __name__ == "__main__":
    sys.exit(main())
