"""examples/lenet.nn in PyTorch: LeNet (5x5 convolutions with `same` padding, 6 and 16 channels, ReLU, 2x2 max
pooling, dense 120-84-10), Adam lr 1e-3, batch 64, 10 epochs on the first 80% of the 10,000 MNIST digits, the last
20% evaluated after each epoch (as nn's `validation = 0.2`), one thread. Prints one JSON line like torch_mlp.py."""
import time

t0 = time.perf_counter()
import sys  # noqa: E402

import torch  # noqa: E402
from torch_mlp import digits, report, train  # noqa: E402


def main():
    torch.set_num_threads(1)
    torch.manual_seed(3)
    x, y = digits()
    x = x.unsqueeze(1)  # NCHW
    n_train = 8000
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(784, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    accuracy = []

    def validate():
        model.eval()
        with torch.no_grad():
            right = sum((model(xv[i:i + 256]).argmax(1) == yv[i:i + 256]).sum().item() for i in range(0, len(yv), 256))
        accuracy.append(right / len(yv))

    train_s, epoch_s, last = train(model, opt, xt, yt, epochs=10, batch=64, after_epoch=validate)
    report(t0, train_s=train_s, epoch_s=epoch_s, loss=last, val_accuracy=accuracy[-1])


if __name__ == "__main__":
    sys.exit(main())
