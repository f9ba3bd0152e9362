"""The job of bench/peer/mlp.nn in PyTorch: 784-256-10 with ReLU, batch 64, SGD with momentum 0.9 and lr 0.05,
8 epochs over the 10,000 MNIST digits (shuffled each epoch), one thread. Prints one JSON line: the in-process
training time (the epochs only, data already in tensors), each epoch's time, the last epoch's mean loss, the import
time, and the BLAS kernel OpenBLAS chose."""
import time

t0 = time.perf_counter()
import ctypes, gzip, json, os, sys  # noqa: E401
import numpy as np
import torch

import_done = time.perf_counter()


def idx(path):
    data = gzip.open(path, "rb").read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def openblas_core():
    """The kernel OpenBLAS picked (e.g. Zen, SkylakeX, Haswell), asked of the BLAS library torch loaded."""
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps")
                   if "/" in line and ("blas" in line.split()[-1].rsplit("/", 1)[-1])})
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "none: torch runs " + (", ".join(libs) or "no BLAS library")


def digits(scale=255.0):
    """The 10,000 MNIST digits of examples/data as float tensors (pixels divided by `scale`) and their labels."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data")
    x = torch.from_numpy(idx(os.path.join(data, "mnist10k-images-idx3-ubyte.gz")).astype(np.float32) / scale)
    y = torch.from_numpy(idx(os.path.join(data, "mnist10k-labels-idx1-ubyte.gz")).astype(np.int64))
    return x, y


def train(model, opt, x, y, epochs, batch, after_epoch=None):
    """Mini-batch training with cross-entropy on rows shuffled each epoch (as nn's `shuffle`); `after_epoch` runs
    inside each epoch's time (nn's validation pass). The total time, each epoch's, and the last epoch's mean loss."""
    loss_fn = torch.nn.CrossEntropyLoss()
    n, epoch_s, last = x.shape[0], [], float("nan")
    start = time.perf_counter()
    for _ in range(epochs):
        t = time.perf_counter()
        order = torch.randperm(n)
        total, steps = 0.0, 0
        model.train()
        for i in range(0, n, batch):
            ids = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[ids]), y[ids])
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        if after_epoch is not None:
            after_epoch()
        last = total / steps
        epoch_s.append(time.perf_counter() - t)
    return time.perf_counter() - start, epoch_s, last


def report(started, **fields):
    """One JSON line: the job's figures, the time from `started` (the script's first line) to its imports' end, and
    the peer's versions and BLAS kernel."""
    fields.update(import_s=import_done - started, torch=torch.__version__, openblas=openblas_core(),
                  OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE"))
    print(json.dumps(fields))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x, y = digits()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    train_s, epoch_s, last = train(model, opt, x, y, epochs=8, batch=64)
    report(t0, train_s=train_s, epoch_s=epoch_s, loss=last)


if __name__ == "__main__":
    sys.exit(main())
