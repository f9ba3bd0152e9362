#!/usr/bin/env bash
# Whole-process start-up of `nn` (issue #18, goal 2), median of N runs (default 10) each, side by side:
#   ./nn (what the README runs: Native AOT, or ReadyToRun without a C toolchain or with NN_AOT=0)  and
#   dotnet artifacts/bin/Cli/release/nn.dll (the plain JIT build).
#   bench/startup.sh [N]
# Also the peak memory (max RSS) of `nn train examples/mnist_mlp.nn` (goal 3) with ./nn.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10}"
./nn --version >/dev/null
dotnet build src/Cli/Cli.fsproj -c Release -nologo -v quiet >/dev/null
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# milliseconds of one run of the command, from bash's clock
once() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; local t1=$EPOCHREALTIME
    echo $(( (${t1/./} - ${t0/./}) / 1000 )); }
time_of() { for _ in $(seq "$n"); do once "$@"; done | median; }
printf "%-32s %12s %14s\n" "whole process, median of $n (ms)" "./nn ($(cut -d' ' -f1 artifacts/nn/.published))" \
    "dotnet nn.dll"
for cmd in "--version" "check examples/xor.nn"; do
    # shellcheck disable=SC2086
    printf "%-32s %12s %14s\n" "nn $cmd" "$(time_of ./nn $cmd)" "$(time_of dotnet artifacts/bin/Cli/release/nn.dll $cmd)"
done
rss=$( (cd examples && /usr/bin/time -f "%M" ../nn train mnist_mlp.nn 2>&1 >/dev/null | tail -1) )
echo "peak memory of nn train examples/mnist_mlp.nn: $((rss / 1024)) MB"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
