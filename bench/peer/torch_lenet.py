"""examples/lenet.nn in PyTorch: LeNet (5x5 convolutions with `same` padding, 6 and 16 channels, ReLU, 2x2 max
pooling, dense 120-84-10), Adam lr 1e-3, batch 64, 10 epochs on the first 80% of the 10,000 MNIST digits, the last
20% evaluated after each epoch (as nn's `validation = 0.2`), one thread. Prints one JSON line like torch_mlp.py."""
import time

t0 = time.perf_counter()
import json, os, sys  # noqa: E401
import numpy as np
import torch
from torch_mlp import idx, openblas_core

import_s = time.perf_counter() - t0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.path.join(here, "..", "..", "examples", "data")
    torch.set_num_threads(1)
    torch.manual_seed(3)
    x = torch.from_numpy(idx(os.path.join(data, "mnist10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0)
    y = torch.from_numpy(idx(os.path.join(data, "mnist10k-labels-idx1-ubyte.gz")).astype(np.int64))
    x = x.unsqueeze(1)  # NCHW
    n_train = 8000
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(784, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    epochs, batch = 10, 64
    epoch_s, last, acc = [], float("nan"), float("nan")
    start = time.perf_counter()
    for _ in range(epochs):
        t = time.perf_counter()
        order = torch.randperm(n_train)
        total, steps = 0.0, 0
        model.train()
        for i in range(0, n_train, batch):
            ids = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[ids]), yt[ids])
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        model.eval()
        with torch.no_grad():
            acc = sum((model(xv[i:i + 256]).argmax(1) == yv[i:i + 256]).sum().item()
                      for i in range(0, len(yv), 256)) / len(yv)
        last = total / steps
        epoch_s.append(time.perf_counter() - t)
    train_s = time.perf_counter() - start
    print(json.dumps({"train_s": train_s, "epoch_s": epoch_s, "loss": last, "val_accuracy": acc,
                      "import_s": import_s, "torch": torch.__version__, "openblas": openblas_core(),
                      "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}))


if __name__ == "__main__":
    sys.exit(main())
