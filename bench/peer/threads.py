"""The mlp job (bench/peer/mlp.nn: 8 epochs of 784-256-10, batch 64, SGD momentum, 10,000 digits) with nn --threads 1
against --threads 2, paired (A B A B ...): whole process (wall and CPU, user + system) and in-process training (the sum
of the epochs' seconds in metrics.csv), medians and ratios (issue #18 goal 4). bench/peer/run.sh threads [pairs]."""
import os, resource, statistics, sys  # noqa: E401

from run import PEER, nn_train


def cpu_of(f):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = f()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    r["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    runs = {1: [], 2: []}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for i in range(pairs):
        for t in ((1, 2) if i % 2 == 0 else (2, 1)):  # A B, then B A
            runs[t].append(cpu_of(lambda: nn_train("mlp.nn", PEER, threads=t)))
        print(f"pair {i + 1}: " + "; ".join(f"{t} thread(s) {runs[t][-1]['wall']:.3f} s whole, "
                                             f"{runs[t][-1]['cpu']:.3f} s CPU, {runs[t][-1]['inner']:.3f} s training"
                                             for t in (1, 2)), flush=True)
    med = lambda t, k: statistics.median(r[k] for r in runs[t])  # noqa: E731
    print("\njob: 784-256-10 ReLU, batch 64, SGD momentum 0.9, 8 epochs of 10,000 MNIST digits")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'median of ' + str(pairs):<30}{'1 thread':>10}{'2 threads':>11}{'1t / 2t':>9}")
    for label, key in [("whole process, wall (s)", "wall"), ("whole process, CPU (s)", "cpu"),
                       ("training, in-process (s)", "inner"), ("first epoch (s)", "first"),
                       ("last epoch (s)", "last")]:
        a, b = med(1, key), med(2, key)
        print(f"{label:<30}{a:>10.3f}{b:>11.3f}{a / b:>9.2f}")
    print(f"final loss: 1 thread {med(1, 'loss'):.6f}, 2 threads {med(2, 'loss'):.6f}")


if __name__ == "__main__":
    main()
