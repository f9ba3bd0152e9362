#!/usr/bin/env bash
# nn against PyTorch on the same job (bench/peer/mlp.nn = torch_mlp.py), side by side in one command:
#   bench/peer/run.sh [mlp|lenet|predict|lstm|threads] [pairs]      (default: mlp, 5 pairs, run A B A B ...)
# (threads: nn alone, the mlp job with --threads 1 against --threads 2, bench/peer/threads.py)
# Installs the peer from Debian's packages when missing (python3-torch, which brings OpenBLAS), builds `nn` as
# ./nn runs it (Native AOT, or ReadyToRun), then prints for each side the whole process and the in-process time (training, or the
# forward passes), the first and last epoch, medians and ratios. OPENBLAS_CORETYPE is unset for the peer (it halves OpenBLAS here).
set -euo pipefail
cd "$(dirname "$0")/../.."
# Debian's interpreter, which sees Debian's packages (a python3 earlier on PATH, e.g. pyenv's, may not)
py=/usr/bin/python3; [[ -x "$py" ]] || py="$(command -v python3)"
# python3-torch depends on some BLAS; Debian may satisfy it with the reference BLAS (15x slower here), so
# OpenBLAS is named too (the libblas.so.3 alternative then points at it)
if ! "$py" -c "import torch" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
    echo "installing python3-torch and OpenBLAS from Debian's packages ..." >&2
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch libopenblas0-pthread >&2
fi
./nn --version >/dev/null   # builds once, outside the timings
# the lstm job times nn's step in-process with the benchmark program; threads measures the vCPUs' round trip with it
[[ "${1:-mlp}" == lstm || "${1:-}" == threads ]] && dotnet build bench/Bench.csproj -c Release -nologo -v quiet >&2
unset OPENBLAS_CORETYPE
# one thread on both sides: torch.set_num_threads(1) does not reach OpenBLAS's own threads
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
[[ "${1:-}" == threads ]] && exec "$py" bench/peer/threads.py "${2:-5}"
exec "$py" bench/peer/run.py "${1:-mlp}" "${2:-5}"
