#!/usr/bin/env bash
# Pipeline parallelism on this machine: `nn train` of one job as 1 process × 1 thread, 1 process × 2 threads and a
# 2-stage pipeline (stages as threads over LocalCommunicator), runs paired (A B C A B C ...), wall and CPU time each,
# medians, and the load average before and after. Usage: bench/pipeline.sh [FILE] [pairs] [epochs]
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-examples/mnist_mlp.nn}
pairs=${2:-3}
epochs=${3:-2}
NN=${NN:-dotnet artifacts/bin/Cli/release/nn.dll}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A runs=([t1]="--threads 1" [t2]="--threads 2" [p2]="--threads 1 --pipeline 2")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $file, $epochs epochs, $pairs pairs"
for i in $(seq "$pairs"); do
    for k in t1 t2 p2; do
        # shellcheck disable=SC2086
        /usr/bin/time -f "%e %U %S" -o "$out/$k.$i" $NN train "$file" --set epochs="$epochs" --quiet \
            --out "$out/run-$k-$i" ${runs[$k]} > /dev/null
        # the epochs' own time (metrics.csv, last column): the training without start-up
        tail -n +2 "$out/run-$k-$i/metrics.csv" | awk -F, '{s += $NF} END {print s}' >> "$out/$k.$i"
    done
done
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for k in t1 t2 p2; do
    wall=$(for i in $(seq "$pairs"); do head -1 "$out/$k.$i" | cut -d' ' -f1; done | median)
    cpu=$(for i in $(seq "$pairs"); do head -1 "$out/$k.$i" | awk '{print $2 + $3}'; done | median)
    epochs_s=$(for i in $(seq "$pairs"); do tail -1 "$out/$k.$i"; done | median)
    printf '%-28s whole %6.2f s wall %6.2f s CPU; epochs %6.2f s\n' "${runs[$k]}" "$wall" "$cpu" "$epochs_s"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
