#!/usr/bin/env bash
# The data-parallel buckets and Open MPI's idle behaviour, paired (docs/distributed.md, "Buckets: measured"): for a
# model, runs every configuration in turn (A B C A B C ...) so that a change of load hits each alike, and prints per
# configuration the median over the repeats of the training time (metrics.csv's epoch seconds), the process's wall
# time and its CPU time (user+sys, children included), with the load average before and after.
# Usage: bench/distributed/buckets.sh FILE REPEATS EPOCHS 'NAME:ENV:OPTIONS' ...
#   e.g. bench/distributed/buckets.sh mnist_mlp.nn 3 2 'fused::--ranks 2 --bucket-mb 0' \
#        'ddp::--ranks 2' 'spin:OMPI_MCA_mpi_yield_when_idle=0:--ranks 2 --bucket-mb 0'
# (ENV: one VAR=VALUE or empty; the model's extra options, e.g. --network deep, go into each configuration.)
set -euo pipefail
cd "$(dirname "$0")/../.."
file="$1"; repeats="$2"; epochs="$3"; shift 3
source bench/distributed/common.sh
for r in $(seq "$repeats"); do
    for c in "$@"; do
        name="${c%%:*}"; rest="${c#*:}"; env="${rest%%:*}"; opts="${rest#*:}"
        # shellcheck disable=SC2086
        timed_run "$name" "$scratch/runs/$name-$r" "$env" "$file" $opts
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %10s %10s %10s   %s\n' config "train s" "wall s" "cpu s" "(train s of each repeat)"
for c in "$@"; do
    name="${c%%:*}"
    read -r t w u <<< "$(medians_of "$name")"
    printf '%-10s %10s %10s %10s   %s\n' "$name" "$t" "$w" "$u" "${train[$name]}"
done
