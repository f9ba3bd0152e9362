"""Runs nn and PyTorch on the same job in pairs (A B A B ...) and prints medians and ratios (bench/peer/run.sh).
Jobs: mlp (bench/peer/mlp.nn, 8 epochs of 784-256-10), lenet (examples/lenet.nn, 10 epochs), predict (nn predict
with examples/mnist_mlp.nn on the 10,000 digits against PyTorch's torch.no_grad() forward), lstm (examples/adding.nn's
`lstm` against nn.LSTM: 2 epochs, then one batch's training step and forward pass in-process)."""
import csv, os, statistics, subprocess, sys, tempfile, time, json  # noqa: E401

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEER = os.path.join(ROOT, "bench", "peer")
EXAMPLES = os.path.join(ROOT, "examples")
# the nn command: ./nn, or another build given as NN="dotnet path/to/nn.dll" (for a figure before a change)
NN = os.environ.get("NN", os.path.join(ROOT, "nn")).split()
# the benchmark program (run.sh builds it for the lstm job)
BENCH = os.path.join(ROOT, "artifacts", "bin", "Bench", "release", "Nn.Bench.dll")
# the lstm job's per-step figures (milliseconds; wall time, and the thread's CPU time)
STEP_KEYS = ["step_ms", "step_cpu_ms", "forward_ms", "forward_cpu_ms"]


def timed(cmd, cwd, env=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return wall, p.stdout, p.stderr


def nn_train(file, cwd, extra=(), threads=1):
    wall, out, _ = timed(NN + ["train", file, "--threads", str(threads), *extra], cwd)
    folder = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("run folder:")][0]
    rows = list(csv.DictReader(open(os.path.join(cwd, folder, "metrics.csv"))))
    epochs = [float(r["seconds"]) for r in rows]
    return {"wall": wall, "inner": sum(epochs), "first": epochs[0], "last": epochs[-1],
            "loss": float(rows[-1]["loss"])}


def nn_predict(weights):
    """The whole process timed as a user runs it (without NN_TIMINGS: its marks read /proc and print, ~3.5 ms of the
    command here); then a second run with NN_TIMINGS=1 for the in-process figure (the forward passes' marks)."""
    out_file = os.path.join(tempfile.gettempdir(), "nn-peer-predictions.npy")
    cmd = NN + ["predict", "mnist_mlp.nn", "--weights", weights, "--input", "data/mnist10k-images-idx3-ubyte.gz",
                "--out", out_file, "--threads", "1"]
    plain = {k: v for k, v in os.environ.items() if k != "NN_TIMINGS"}
    wall, _, _ = timed(cmd, EXAMPLES, plain)
    _, _, err = timed(cmd, EXAMPLES, dict(plain, NN_TIMINGS="1"))
    marks = {line.split()[2]: float(line.split()[-2]) for line in err.splitlines() if line.startswith("nn: timing")}
    # a build without NN_TIMINGS (an older one) has no in-process figure
    inner = marks["forward"] - marks["executor"] if "forward" in marks else float("nan")
    return {"wall": wall, "inner": inner}


def nn_lstm(epochs):
    """adding.nn's `lstm` trained for `epochs` (whole process and epochs, as nn_train), then its step and forward
    pass timed in-process on one batch by the benchmark program (`bench lstm --json`)."""
    out_dir = os.path.join(tempfile.gettempdir(), "nn-peer-adding")
    res = nn_train("adding.nn", EXAMPLES, ["--network", "lstm", "--set", f"epochs={epochs}", "--out", out_dir,
                                           "--force"])
    _, out, _ = timed(["dotnet", BENCH, "lstm", "--json"], ROOT)
    res.update(json.loads(out.strip().splitlines()[-1]))
    return res


def torch_run(script, *args):
    wall, out, _ = timed([sys.executable, os.path.join(PEER, script), *args], PEER)
    r = json.loads(out.strip().splitlines()[-1])
    res = {"wall": wall, "inner": r["train_s"], "info": r}
    if "epoch_s" in r:
        res.update(first=r["epoch_s"][0], last=r["epoch_s"][-1], loss=r["loss"])
    res.update({k: r[k] for k in STEP_KEYS if k in r})
    return res


def main():
    job = sys.argv[1] if len(sys.argv) > 1 else "mlp"
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if job == "mlp":
        a, b, what = (lambda: nn_train("mlp.nn", PEER)), (lambda: torch_run("torch_mlp.py")), "training"
        title = "784-256-10 ReLU, batch 64, SGD momentum 0.9, 8 epochs of 10,000 MNIST digits, 1 thread"
    elif job == "lenet":
        a, b, what = (lambda: nn_train("lenet.nn", EXAMPLES)), (lambda: torch_run("torch_lenet.py")), "training"
        title = "examples/lenet.nn: LeNet, Adam, batch 64, 10 epochs of 8,000 digits + 2,000 validated, 1 thread"
    elif job == "predict":
        weights = os.path.join(tempfile.gettempdir(), "nn-peer-mnist-mlp")
        if not os.path.exists(os.path.join(weights, "checkpoint.safetensors")):
            timed(NN + ["train", "mnist_mlp.nn", "--set", "epochs=1", "--out", weights, "--force"], EXAMPLES)
        a, b, what = (lambda: nn_predict(weights)), (lambda: torch_run("torch_predict.py")), "forward"
        title = "inference: mnist_mlp (784-512-256-10) on the 10,000 digits, batches of 256, 1 thread"
    elif job == "lstm":
        a, b, what = (lambda: nn_lstm(2)), (lambda: torch_run("torch_lstm.py", "2", "200")), "training"
        title = ("examples/adding.nn `lstm` (LSTM 2 -> 32 units over 50 steps, dense 1 on the last), MSE, Adam, "
                 "batch 64, 2 epochs of 9,600 sequences + 2,400 validated, 1 thread; then one batch's step and "
                 "forward pass in-process")
    else:
        sys.exit(f"unknown job {job}: mlp, lenet, predict or lstm")
    nn, torch = [], []
    for i in range(pairs):
        nn.append(a())
        torch.append(b())
        print(f"pair {i + 1}: nn {nn[-1]['wall']:.3f} s whole / {nn[-1]['inner']:.3f} s {what}; "
              f"PyTorch {torch[-1]['wall']:.3f} s whole / {torch[-1]['inner']:.3f} s {what}"
              + (f"; step nn {nn[-1]['step_ms']:.2f} ms, PyTorch {torch[-1]['step_ms']:.2f} ms"
                 if "step_ms" in nn[-1] else ""), flush=True)
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    info = torch[-1]["info"]
    print(f"\njob: {title}")
    print(f"peer: torch {info['torch']}, OpenBLAS kernel {info['openblas']}, OPENBLAS_CORETYPE="
          f"{info['OPENBLAS_CORETYPE']}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'median of ' + str(pairs):<34}{'nn':>10}{'PyTorch':>10}{'nn/PyTorch':>12}")
    rows = [("whole process (s)", "wall"), (f"{what}, in-process (s)", "inner")]
    if "first" in nn[0]:
        rows += [("first epoch (s)", "first"), ("last epoch (s)", "last")]
    if "step_ms" in nn[0]:
        rows += [("step, in-process (ms)", "step_ms"), ("step, thread CPU (ms)", "step_cpu_ms"),
                 ("forward, in-process (ms)", "forward_ms"), ("forward, thread CPU (ms)", "forward_cpu_ms")]
    for label, key in rows:
        x, y = med(nn, key), med(torch, key)
        print(f"{label:<34}{x:>10.3f}{y:>10.3f}{x / y:>12.2f}")
    print(f"{'nn whole / PyTorch ' + what:<34}{'':>20}{med(nn, 'wall') / med(torch, 'inner'):>12.2f}")
    if "first" in nn[0]:
        print(f"{'nn first epoch / last epoch':<34}{'':>20}{med(nn, 'first') / med(nn, 'last'):>12.2f}")
        print(f"final loss: nn {med(nn, 'loss'):.4f}, PyTorch {med(torch, 'loss'):.4f}")


if __name__ == "__main__":
    main()
