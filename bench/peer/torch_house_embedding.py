"""examples/house_embedding.nn in PyTorch, for the figures in its comments: houses.csv, the last 20% of the rows as
validation, the 4 number columns standardized with the training rows' mean and (population) std; `location` either
embedded (ids 1..6 in sorted order, nn.Embedding(7, 3) initialised uniform in ±0.05 as Keras and nn do) or one-hot
(6 columns in sorted order, as house_prices.nn); then the MLP 64-64 ReLU (PyTorch's default initializers), mse,
Adam 1e-2, batch 32, 300 epochs, rows shuffled every epoch, one thread. Prints one JSON line with the validation RMSE
and MAPE (in percent) after the last epoch of each variant.
Run: /usr/bin/python3 bench/peer/torch_house_embedding.py [seed]"""
import csv
import json
import os
import sys

import torch


def table():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data", "houses.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    numbers = torch.tensor([[float(r[c]) for c in ["sqft", "bedrooms", "age", "distance_km"]] for r in rows])
    places = sorted({r["location"] for r in rows})
    ids = torch.tensor([places.index(r["location"]) + 1 for r in rows])
    price = torch.tensor([[float(r["price_k"])] for r in rows])
    return numbers, ids, price


class Model(torch.nn.Module):
    def __init__(self, embedded):
        super().__init__()
        self.embedded = embedded
        if embedded:
            self.table = torch.nn.Embedding(7, 3)
            torch.nn.init.uniform_(self.table.weight, -0.05, 0.05)
        width = 4 + (3 if embedded else 6)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(width, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                       torch.nn.ReLU(), torch.nn.Linear(64, 1))

    def forward(self, x, ids):
        place = self.table(ids) if self.embedded else torch.nn.functional.one_hot(ids - 1, 6).float()
        return self.mlp(torch.cat([x, place], 1))


def run(embedded, seed):
    torch.manual_seed(seed)
    x, ids, y = table()
    split = int(round(x.shape[0] * 0.8))
    mean, std = x[:split].mean(0), x[:split].std(0, unbiased=False)
    x = (x - mean) / std
    model = Model(embedded)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        order = torch.randperm(split)
        for i in range(0, split, 32):
            b = order[i:i + 32]
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x[b], ids[b]), y[b]).backward()
            opt.step()
    with torch.no_grad():
        p, t = model(x[split:], ids[split:]), y[split:]
        return ((p - t) ** 2).mean().sqrt().item(), 100 * ((p - t).abs() / t.abs()).mean().item()


def main():
    torch.set_num_threads(1)
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    (rmse_e, mape_e), (rmse_o, mape_o) = run(True, seed), run(False, seed)
    print(json.dumps({"seed": seed, "embedded_rmse": round(rmse_e, 2), "embedded_mape": round(mape_e, 2),
                      "onehot_rmse": round(rmse_o, 2), "onehot_mape": round(mape_o, 2)}))


if __name__ == "__main__":
    sys.exit(main())
