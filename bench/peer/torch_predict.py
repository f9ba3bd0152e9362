"""The forward pass of examples/mnist_mlp.nn (784-512-256-10, ReLU, dropout off) under torch.no_grad() on the
10,000 MNIST digits, one thread, in batches of 256 (as nn predict): the in-process time of the forward passes only
(data already in a tensor). Prints one JSON line."""
import time

t0 = time.perf_counter()
import sys  # noqa: E402
import torch  # noqa: E402
from torch_mlp import digits, report  # noqa: E402


def main():
    torch.set_num_threads(1)
    x, _ = digits(scale=1.0)  # pixels; the forward divides by 255 as nn's network does
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10)).eval()
    start = time.perf_counter()
    with torch.no_grad():
        out = torch.cat([torch.softmax(model(x[i:i + 256] / 255.0), 1) for i in range(0, x.shape[0], 256)])
    report(t0, train_s=time.perf_counter() - start, rows=int(out.shape[0]))


if __name__ == "__main__":
    sys.exit(main())
