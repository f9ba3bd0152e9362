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
nn="dotnet $PWD/artifacts/bin/Cli/release/nn.dll"
[[ -f artifacts/bin/Cli/release/nn.dll ]] || dotnet build src/Cli -c Release -nologo -v quiet >/dev/null
command -v mpirun >/dev/null || { echo "mpirun is missing: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r examples/*.nn examples/data "$scratch/"
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mkdir -p "$scratch/runs"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A train wall cpu
for r in $(seq "$repeats"); do
    for c in "$@"; do
        name="${c%%:*}"; rest="${c#*:}"; env="${rest%%:*}"; opts="${rest#*:}"
        out="$scratch/runs/$name-$r"
        # shellcheck disable=SC2086
        (cd "$scratch" && env $env /usr/bin/time -f "%e %U %S" -o "$out.time" $nn train "$file" $opts \
            --set epochs="$epochs" --quiet --out "$out" >/dev/null)
        read -r e u s < "$out.time"
        train[$name]+="$(tail -n +2 "$out/metrics.csv" | awk -F, '{ t += $NF } END { print t }') "
        wall[$name]+="$e "
        cpu[$name]+="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') "
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %10s %10s %10s   %s\n' config "train s" "wall s" "cpu s" "(train s of each repeat)"
for c in "$@"; do
    name="${c%%:*}"
    printf '%-10s %10s %10s %10s   %s\n' "$name" \
        "$(tr ' ' '\n' <<< "${train[$name]}" | grep . | median)" \
        "$(tr ' ' '\n' <<< "${wall[$name]}" | grep . | median)" \
        "$(tr ' ' '\n' <<< "${cpu[$name]}" | grep . | median)" "${train[$name]}"
done
