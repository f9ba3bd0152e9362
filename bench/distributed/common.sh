# Shared by buckets.sh and scaling.sh (sourced from the repository's root): the command, a scratch folder holding the
# examples, one timed training run, and the medians over the repeats.
nn="dotnet $PWD/artifacts/bin/Cli/release/nn.dll"
[[ -f artifacts/bin/Cli/release/nn.dll ]] || dotnet build src/Cli -c Release -nologo -v quiet >/dev/null
command -v mpirun >/dev/null || { echo "mpirun is missing: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r examples/*.nn examples/data "$scratch/"
mkdir -p "$scratch/runs"
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A train wall cpu
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# timed_run KEY OUT ENV FILE OPTIONS...: trains FILE (ENV: one VAR=VALUE or empty) for $epochs epochs into OUT and
# appends to KEY's lists the training time (the sum of metrics.csv's epoch seconds), the wall time and the CPU time
# (user+sys, children included)
timed_run() {
    local key="$1" out="$2" env="$3" file="$4"; shift 4
    # shellcheck disable=SC2086
    (cd "$scratch" && env $env /usr/bin/time -f "%e %U %S" -o "$out.time" $nn train "$file" "$@" \
        --set epochs="$epochs" --quiet --out "$out" >/dev/null)
    local e u s
    read -r e u s < "$out.time"
    train[$key]+="$(tail -n +2 "$out/metrics.csv" | awk -F, '{ t += $NF } END { print t }') "
    wall[$key]+="$e "
    cpu[$key]+="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') "
}

# medians_of KEY: the medians of KEY's training, wall and CPU times, separated by spaces
medians_of() {
    local list
    for list in "${train[$1]}" "${wall[$1]}" "${cpu[$1]}"; do
        printf '%s ' "$(tr ' ' '\n' <<< "$list" | grep . | median)"
    done
}
