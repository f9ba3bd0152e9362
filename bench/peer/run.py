"""Runs nn and PyTorch on the same job in pairs (A B A B ...) and prints medians and ratios (bench/peer/run.sh)."""
import csv, glob, json, os, statistics, subprocess, sys, time  # noqa: E401

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEER = os.path.join(ROOT, "bench", "peer")


def run_nn():
    t = time.perf_counter()
    out = subprocess.run([os.path.join(ROOT, "nn"), "train", "mlp.nn", "--threads", "1"], cwd=PEER,
                         capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t
    folder = [l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("run folder:")][0]
    rows = list(csv.DictReader(open(os.path.join(PEER, folder, "metrics.csv"))))
    epochs = [float(r["seconds"]) for r in rows]
    return {"wall": wall, "train": sum(epochs), "first": epochs[0], "last": epochs[-1],
            "loss": float(rows[-1]["loss"])}


def run_torch():
    t = time.perf_counter()
    out = subprocess.run([sys.executable, os.path.join(PEER, "torch_mlp.py")], capture_output=True, text=True,
                         check=True).stdout
    wall = time.perf_counter() - t
    r = json.loads(out.strip().splitlines()[-1])
    return {"wall": wall, "train": r["train_s"], "first": r["epoch_s"][0], "last": r["epoch_s"][-1],
            "loss": r["loss"], "info": r}


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    nn, torch = [], []
    for i in range(pairs):
        nn.append(run_nn())
        torch.append(run_torch())
        print(f"pair {i + 1}: nn {nn[-1]['wall']:.3f} s whole / {nn[-1]['train']:.3f} s training; "
              f"torch {torch[-1]['wall']:.3f} s whole / {torch[-1]['train']:.3f} s training", flush=True)
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    info = torch[-1]["info"]
    print(f"\njob: 784-256-10 ReLU, batch 64, SGD momentum 0.9, 8 epochs of 10,000 MNIST digits, 1 thread")
    print(f"peer: torch {info['torch']}, OpenBLAS kernel {info['openblas']}, "
          f"OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'median of ' + str(pairs):<34}{'nn':>10}{'PyTorch':>10}{'nn/PyTorch':>12}")
    for label, key in [("whole process (s)", "wall"), ("training, in-process (s)", "train"),
                       ("first epoch (s)", "first"), ("last epoch (s)", "last")]:
        a, b = med(nn, key), med(torch, key)
        print(f"{label:<34}{a:>10.3f}{b:>10.3f}{a / b:>12.2f}")
    print(f"{'nn whole / PyTorch training':<34}{'':>20}{med(nn, 'wall') / med(torch, 'train'):>12.2f}   (goal <= 0.8)")
    print(f"{'nn first epoch / last epoch':<34}{'':>20}{med(nn, 'first') / med(nn, 'last'):>12.2f}   (goal <= 1.15)")
    print(f"final loss: nn {med(nn, 'loss'):.4f}, PyTorch {med(torch, 'loss'):.4f}")


if __name__ == "__main__":
    main()
