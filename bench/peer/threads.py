"""The mlp job (bench/peer/mlp.nn: 8 epochs of 784-256-10, batch 64, SGD momentum, 10,000 digits) with nn --threads 1
against --threads 2, paired (A B A B ...): whole process (wall and CPU, user + system) and in-process training (the sum
of the epochs' seconds in metrics.csv), medians and ratios (issue #18 goal 4). bench/peer/run.sh threads [pairs].
A third side, "2 adapt", runs --threads 2 with NN_THREADS_ADAPTIVE=1 (the default; the other sides set 0): nn's
timing of one thread against two (src/Runtime/Engine/StepThreads.cs) chooses per stretch of steps. Before and after,
the round trip of a cache line between two threads (`bench roundtrip`, bench/RoundTrip.cs): where the host runs the two
vCPUs, ~150 ns near and ~450–550 ns far on this project's machines, which the two-thread figures follow."""
import os, re, resource, statistics, subprocess, sys  # noqa: E401

from run import BENCH, PEER, ROOT, nn_train


def round_trip():
    """The cache line's round trip in ns as the benchmark program measures it, or "?" without a built bench."""
    if not os.path.exists(BENCH):
        return "?"
    out = subprocess.run(["dotnet", BENCH, "roundtrip"], cwd=ROOT, capture_output=True, text=True).stdout
    m = re.search(r"round trip (\d+) ns", out)
    return m.group(1) if m else "?"


def cpu_of(f):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = f()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    r["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    sides = {1: (1, "0"), 2: (2, "0"), "2 adapt": (2, "1")}
    runs = {t: [] for t in sides}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"a cache line's round trip between two threads: {round_trip()} ns")
    for i in range(pairs):
        for t in (list(sides) if i % 2 == 0 else list(sides)[::-1]):  # A B C, then C B A
            os.environ["NN_THREADS_ADAPTIVE"] = sides[t][1]
            runs[t].append(cpu_of(lambda: nn_train("mlp.nn", PEER, threads=sides[t][0])))
        print(f"pair {i + 1}: " + "; ".join(f"{t} thread(s) {runs[t][-1]['wall']:.3f} s whole, "
                                             f"{runs[t][-1]['cpu']:.3f} s CPU, {runs[t][-1]['inner']:.3f} s training"
                                             for t in sides), flush=True)
    med = lambda t, k: statistics.median(r[k] for r in runs[t])  # noqa: E731
    print("\njob: 784-256-10 ReLU, batch 64, SGD momentum 0.9, 8 epochs of 10,000 MNIST digits")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; round trip {round_trip()} ns")
    print(f"{'median of ' + str(pairs):<30}{'1 thread':>10}{'2 threads':>11}{'1t / 2t':>9}{'2 adapt':>10}")
    for label, key in [("whole process, wall (s)", "wall"), ("whole process, CPU (s)", "cpu"),
                       ("training, in-process (s)", "inner"), ("first epoch (s)", "first"),
                       ("last epoch (s)", "last")]:
        a, b = med(1, key), med(2, key)
        print(f"{label:<30}{a:>10.3f}{b:>11.3f}{a / b:>9.2f}{med('2 adapt', key):>10.3f}")
    print(f"final loss: 1 thread {med(1, 'loss'):.6f}, 2 threads {med(2, 'loss'):.6f}, "
          f"2 adapt {med('2 adapt', 'loss'):.6f}")


if __name__ == "__main__":
    main()
