#!/usr/bin/env python3
"""The analytic model of docs/distributed.md: bytes sent per step by data parallelism (the gradients) and by a
pipeline (the activations at its cuts), ring-allreduce time at 10/25/100 Gbit/s, the step time at which the
allreduce hides behind the backward pass, and the weak-scaling efficiency it predicts for 8, 64 and 512 ranks.
Every input is written below with where it comes from; run it to print the tables (python3, no packages)."""

# Networks: parameters (float32 gradient = 4 bytes each), forward FLOPs per sample, and the activation that crosses
# the best 2-stage cut per sample (what `nn graph FILE --step train --pipeline 2` shows).
NETWORKS = {
    # 784-512-256-10: 784*512+512 + 512*256+256 + 256*10+10
    "mnist_mlp": dict(params=535_818, fwd_flops=2 * (784 * 512 + 512 * 256 + 256 * 10), cut=512),
    # 784-1024x3-10: 784*1024+1024 + 2*(1024*1024+1024) + 1024*10+10
    "deep 784-1024x3-10": dict(params=2_913_290, fwd_flops=2 * (784 * 1024 + 2 * 1024 * 1024 + 1024 * 10),
                               cut=1024),
    # conv 5x5 1->6 and 6->16 ('same', 28x28 then 14x14), dense 784-120-84-10
    "lenet": dict(params=107_786,
                  fwd_flops=2 * (28 * 28 * 6 * 25 + 14 * 14 * 16 * 150 + 784 * 120 + 120 * 84 + 84 * 10),
                  cut=14 * 14 * 6),
}
# The layers in forward order: (parameters, forward FLOPs per sample); their sums are the totals above. The backward
# pass runs them in reverse, each in 2x its forward FLOPs, and a layer's gradients are final when its turn ends
# (the fused plan's last write of a weight gradient is its layer's weight product: LastWrites).
LAYERS = {
    "mnist_mlp": [(784 * 512 + 512, 2 * 784 * 512), (512 * 256 + 256, 2 * 512 * 256), (256 * 10 + 10, 2 * 256 * 10)],
    "deep 784-1024x3-10": [(784 * 1024 + 1024, 2 * 784 * 1024), (1024 * 1024 + 1024, 2 * 1024 * 1024),
                           (1024 * 1024 + 1024, 2 * 1024 * 1024), (1024 * 10 + 10, 2 * 1024 * 10)],
    "lenet": [(6 * 25 + 6, 2 * 28 * 28 * 6 * 25), (16 * 150 + 16, 2 * 14 * 14 * 16 * 150),
              (784 * 120 + 120, 2 * 784 * 120), (120 * 84 + 84, 2 * 120 * 84), (84 * 10 + 10, 2 * 84 * 10)],
}
# PyTorch DDP's buckets (nn's default, GradientBuckets.cs): the first closes at 1 MB, the others at 25 MB.
DDP = (1 << 20, 25 << 20)
BATCH = 64  # per rank (weak scaling, as Horovod's benchmarks)
# Sustained rate of one rank (one core of this machine, AVX-512): issue #18 measured the 784-256-10 step at batch 64
# in 0.36 ms (6 * 203,530 * 64 FLOP: 217 GFLOP/s) and the deep step at batch 256 in 20.9 ms (214 GFLOP/s); lenet's
# step at batch 64 in 3.07 ms (bench/README.md), 1.39 MFLOP forward a sample: 87 GFLOP/s.
RATE = {"mnist_mlp": 215e9, "deep 784-1024x3-10": 215e9, "lenet": 87e9}
# Links: bandwidth in bytes/s and a per-message latency (TCP over Ethernet for 10 and 25 Gbit/s; RDMA for 100).
LINKS = {"10 Gbit/s": (1.25e9, 20e-6), "25 Gbit/s": (3.125e9, 10e-6), "100 Gbit/s": (12.5e9, 2e-6)}
RANKS = [2, 8, 64, 512]


def allreduce(nbytes, ranks, bandwidth, latency):
    """Ring allreduce: 2(N-1)/N of the data through each link, 2(N-1) message latencies."""
    return 2 * (ranks - 1) / ranks * nbytes / bandwidth + 2 * (ranks - 1) * latency


def step(net):
    """Compute time of one training step of a rank: forward + backward = 3 forwards."""
    n = NETWORKS[net]
    return 3 * n["fwd_flops"] * BATCH / RATE[net]


def efficiency(net, ranks, link):
    """Step time alone over step time with the allreduce overlapped with the backward pass (2/3 of the step):
    t = forward + max(backward, allreduce)."""
    t = step(net)
    ar = allreduce(4 * NETWORKS[net]["params"], ranks, *LINKS[link])
    return t / (t / 3 + max(2 * t / 3, ar))


def buckets(net, first, rest):
    """DDP's cut: layers' gradients (last layer first) appended until a bucket holds at least its limit. Returns
    (bytes, index of the layer after whose backward the bucket is ready) per bucket."""
    out, size, limit = [], 0, first
    layers = LAYERS[net]
    for i in reversed(range(len(layers))):
        size += 4 * layers[i][0]
        if size >= limit or i == 0:
            out.append((size, i))
            size, limit = 0, rest
    return out


def bucketed_step(net, ranks, link, first, rest):
    """A step with the buckets' allreduces on one communication thread, each started once its last layer's backward
    has run and the previous bucket is summed: forward + max(backward, end of the last bucket's allreduce)."""
    layers = LAYERS[net]
    per_flop = step(net) / (3 * sum(f for _, f in layers))
    fwd = sum(f for _, f in layers) * per_flop
    done_after = {}  # layer -> end of its backward, from the backward's start
    t = 0.0
    for i in reversed(range(len(layers))):
        t += 2 * layers[i][1] * per_flop
        done_after[i] = t
    comm = 0.0
    for nbytes, last in buckets(net, first, rest):
        comm = max(comm, done_after[last]) + allreduce(nbytes, ranks, *LINKS[link])
    return fwd + max(t, comm)


def bucketed_efficiency(net, ranks, link, first=DDP[0], rest=DDP[1]):
    return step(net) / bucketed_step(net, ranks, link, first, rest)


def main():
    print(f"per rank batch {BATCH}")
    print("| network | gradient MB | step ms | pipeline cut KB/step (fwd+bwd) | hides when step ≥ ms (10/25/100) |")
    print("|---|---|---|---|---|")
    for net, n in NETWORKS.items():
        grad = 4 * n["params"]
        hide = [1.5 * allreduce(grad, 64, *LINKS[l]) * 1e3 for l in LINKS]
        print(f"| {net} | {grad / 1e6:.2f} | {step(net) * 1e3:.2f} | {2 * 4 * n['cut'] * BATCH / 1e3:.0f} | "
              + " / ".join(f"{h:.2f}" for h in hide) + " |")
    print()
    print("| network | link | allreduce ms at 8 / 64 / 512 | efficiency at 2 / 8 / 64 / 512 |")
    print("|---|---|---|---|")
    for net, n in NETWORKS.items():
        for link in LINKS:
            ar = [allreduce(4 * n["params"], r, *LINKS[link]) * 1e3 for r in (8, 64, 512)]
            eff = [efficiency(net, r, link) for r in RANKS]
            print(f"| {net} | {link} | " + " / ".join(f"{a:.2f}" for a in ar) + " | "
                  + " / ".join(f"{e:.0%}" for e in eff) + " |")
    print()
    print("With buckets (what overlaps: a bucket's sum starts once the backward pass has finished its layers; the last")
    print("bucket, which holds the first layer's gradient, starts when the backward pass ends):")
    print("| network | DDP's buckets (MB) | link | efficiency at 2 / 8 / 64 / 512: DDP's buckets; one bucket a layer |")
    print("|---|---|---|---|")
    for net in NETWORKS:
        cut = " + ".join(f"{b / 1e6:.2f}" for b, _ in buckets(net, *DDP))
        for link in LINKS:
            ddp = [bucketed_efficiency(net, r, link) for r in RANKS]
            per_layer = [bucketed_efficiency(net, r, link, 1, 1) for r in RANKS]
            print(f"| {net} | {cut} | {link} | " + " / ".join(f"{e:.0%}" for e in ddp) + "; "
                  + " / ".join(f"{e:.0%}" for e in per_layer) + " |")


if __name__ == "__main__":
    main()
