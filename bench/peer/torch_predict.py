"""The forward pass of examples/mnist_mlp.nn (784-512-256-10, ReLU, dropout off) under torch.no_grad() on the
10,000 MNIST digits, one thread, in batches of 256 (as nn predict): the in-process time of the forward passes only
(data already in a tensor). Prints one JSON line."""
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
    x = torch.from_numpy(idx(os.path.join(data, "mnist10k-images-idx3-ubyte.gz")).astype(np.float32))
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10)).eval()
    start = time.perf_counter()
    with torch.no_grad():
        out = torch.cat([torch.softmax(model(x[i:i + 256] / 255.0), 1) for i in range(0, x.shape[0], 256)])
    forward_s = time.perf_counter() - start
    print(json.dumps({"train_s": forward_s, "rows": int(out.shape[0]), "import_s": import_s,
                      "torch": torch.__version__, "openblas": openblas_core(),
                      "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}))


if __name__ == "__main__":
    sys.exit(main())
