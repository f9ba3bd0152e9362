"""examples/finetune.nn in PyTorch, for the figures in brackets: an autoencoder 784-128-32-128-784 (ReLU, sigmoid
output, mse, Adam 1e-3, batch 128, 10 epochs) on the 10,000 digits without labels; then the same classifier (the
encoder + a 10-way layer) trained on the first 1,000 labelled digits and measured on the other 9,000, started three
ways: encoder frozen (Adam 1e-2, batch 32, 30 epochs), then everything unfrozen from there (Adam 1e-3, 30 epochs),
and from scratch (Adam 1e-3, 50 epochs). PyTorch's default initializers; rows shuffled every epoch. Prints one JSON
line with the three validation accuracies (after the last epoch) and the autoencoder's last loss."""
import copy
import sys

import torch

from torch_mlp import digits, report, t0


def encoder():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 32), torch.nn.ReLU())


def fit(model, params, loss_fn, x, y, lr, batch, epochs):
    opt = torch.optim.Adam(params, lr=lr)
    last = float("nan")
    for _ in range(epochs):
        order = torch.randperm(x.shape[0])
        total, steps = 0.0, 0
        for i in range(0, x.shape[0], batch):
            ids = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[ids]), y[ids])
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        last = total / steps
    return last


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main():
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x, y = digits()
    enc = encoder()
    decoder = torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.ReLU(), torch.nn.Linear(128, 784),
                                  torch.nn.Sigmoid(), torch.nn.Unflatten(1, (28, 28)))
    auto = torch.nn.Sequential(enc, decoder)
    ae_loss = fit(auto, auto.parameters(), torch.nn.MSELoss(), x, x, 1e-3, 128, 10)
    xt, yt, xv, yv = x[:1000], y[:1000], x[1000:], y[1000:]
    ce = torch.nn.CrossEntropyLoss()
    frozen = torch.nn.Sequential(copy.deepcopy(enc), torch.nn.Linear(32, 10))
    for p in frozen[0].parameters():
        p.requires_grad_(False)
    fit(frozen, frozen[1].parameters(), ce, xt, yt, 1e-2, 32, 30)
    frozen_acc = accuracy(frozen, xv, yv)
    for p in frozen.parameters():
        p.requires_grad_(True)
    fit(frozen, frozen.parameters(), ce, xt, yt, 1e-3, 32, 30)
    unfrozen_acc = accuracy(frozen, xv, yv)
    scratch = torch.nn.Sequential(encoder(), torch.nn.Linear(32, 10))
    fit(scratch, scratch.parameters(), ce, xt, yt, 1e-3, 32, 50)
    report(t0, autoencoder_loss=ae_loss, frozen=frozen_acc, unfrozen=unfrozen_acc, scratch=accuracy(scratch, xv, yv))


if __name__ == "__main__":
    sys.exit(main())
