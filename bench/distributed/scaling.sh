#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/distributed.md, "Data parallelism: measured"): 1 rank × 1 thread,
# 2 ranks × 1 thread (--ranks 2), 1 rank × 2 threads (--threads 2), 4 ranks oversubscribed (--ranks 4) and 2 ranks
# with one fused sum after the backward pass instead of buckets (2x1f: --ranks 2 --bucket-mb 0) on mnist_mlp.nn and residual.nn's deep network,
# runs interleaved (A B C A B C ...) so that a change of load hits every configuration alike. Prints, per configuration,
# the median over the repeats of: the training time (the sum of metrics.csv's epoch seconds: steps and validation,
# no start-up), the whole process's wall time, and its CPU time (user+sys, children included), with the load average
# before and after. Usage: bench/distributed/scaling.sh [REPEATS (default 3)] [EPOCHS (default 2)]
set -euo pipefail
cd "$(dirname "$0")/../.."
repeats="${1:-3}"
epochs="${2:-2}"
source bench/distributed/common.sh
configs=("1x1:--threads 1" "2x1:--ranks 2" "1x2:--threads 2" "4x1:--ranks 4" "2x1f:--ranks 2 --bucket-mb 0")
models=("mnist_mlp.nn:" "residual.nn:--network deep")
for r in $(seq "$repeats"); do
    for m in "${models[@]}"; do
        file="${m%%:*}"; extra="${m#*:}"
        for c in "${configs[@]}"; do
            name="${c%%:*}"; opts="${c#*:}"
            # shellcheck disable=SC2086
            timed_run "$file $name" "$scratch/runs/$file-$name-$r" "" "$file" $extra $opts
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %-8s %10s %10s %10s\n' model ranksXthreads "train s" "wall s" "cpu s"
for m in "${models[@]}"; do
    file="${m%%:*}"
    for c in "${configs[@]}"; do
        name="${c%%:*}"; key="$file $name"
        read -r t w u <<< "$(medians_of "$key")"
        printf '%-14s %-8s %10s %10s %10s\n' "$file" "$name" "$t" "$w" "$u"
    done
done
