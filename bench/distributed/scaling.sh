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
nn="dotnet $PWD/artifacts/bin/Cli/release/nn.dll"
[[ -f artifacts/bin/Cli/release/nn.dll ]] || dotnet build src/Cli -c Release -nologo -v quiet >/dev/null
command -v mpirun >/dev/null || { echo "mpirun is missing: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r examples/*.nn examples/data "$scratch/"
mkdir -p "$scratch/runs"
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A train wall cpu
configs=("1x1:--threads 1" "2x1:--ranks 2" "1x2:--threads 2" "4x1:--ranks 4" "2x1f:--ranks 2 --bucket-mb 0")
models=("mnist_mlp.nn:" "residual.nn:--network deep")
for r in $(seq "$repeats"); do
    for m in "${models[@]}"; do
        file="${m%%:*}"; extra="${m#*:}"
        for c in "${configs[@]}"; do
            name="${c%%:*}"; opts="${c#*:}"
            out="$scratch/runs/$file-$name-$r"
            # shellcheck disable=SC2086
            (cd "$scratch" && /usr/bin/time -f "%e %U %S" -o "$out.time" $nn train "$file" $extra $opts \
                --set epochs="$epochs" --quiet --out "$out" >/dev/null)
            read -r e u s < "$out.time"
            key="$file $name"
            train[$key]+="$(tail -n +2 "$out/metrics.csv" | awk -F, '{ t += $NF } END { print t }') "
            wall[$key]+="$e "
            cpu[$key]+="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') "
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %-8s %10s %10s %10s\n' model ranksXthreads "train s" "wall s" "cpu s"
for m in "${models[@]}"; do
    file="${m%%:*}"
    for c in "${configs[@]}"; do
        name="${c%%:*}"; key="$file $name"
        printf '%-14s %-8s %10s %10s %10s\n' "$file" "$name" \
            "$(tr ' ' '\n' <<< "${train[$key]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${wall[$key]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${cpu[$key]}" | grep . | median)"
    done
done
