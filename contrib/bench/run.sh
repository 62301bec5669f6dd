#!/usr/bin/env bash
# Build supervice (release), install the peers into a throwaway directory and run the
# benchmark suite. Every argument is passed to bench.py, e.g.
#
#     contrib/bench/run.sh --quick
#     contrib/bench/run.sh --only startup --only respawn --peer supervice-rs --peer runit
#
# Environment:
#   BENCH_PEERS_DIR    where the Python peers are installed (default /tmp/supervice-bench-peers)
#   BENCH_RESULTS_DIR  where the JSON results go (default /tmp/supervice-bench-results)
#   BENCH_PYTHON       the Python 3 that creates the venv and runs bench.py (default python3)
#   BENCH_NO_APT=1     never call apt-get (s6/runit are used only if already installed)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
peers=${BENCH_PEERS_DIR:-/tmp/supervice-bench-peers}
results=${BENCH_RESULTS_DIR:-/tmp/supervice-bench-results}
py=${BENCH_PYTHON:-python3}

say() { printf '== %s\n' "$*" >&2; }
warn() { printf '!! %s\n' "$*" >&2; }

# --summarize needs nothing built or installed.
for a in "$@"; do
    if [ "$a" = "--summarize" ]; then
        exec "$py" "$here/bench.py" --results-dir "$results" "$@"
    fi
done

say "building supervice (cargo build --release)"
(cd "$root" && cargo build --release)

mkdir -p "$peers"
venv="$peers/venv"
if [ -x "$venv/bin/supervisord" ] && [ -x "$venv/bin/supervicectl" ] &&
    "$venv/bin/python" -c 'import importlib.metadata as m; assert m.version("supervisor") == "4.3.0" and m.version("supervice") == "0.4.2"' 2>/dev/null; then
    say "Python peers already in $venv"
else
    say "installing supervisor==4.3.0 and supervice==0.4.2 into $venv"
    if ! { "$py" -m venv "$venv" &&
        "$venv/bin/pip" install --disable-pip-version-check -q supervisor==4.3.0 supervice==0.4.2; }; then
        warn "could not install the Python peers: supervisord and supervice-py will be SKIPPED"
    fi
fi

have() { command -v "$1" >/dev/null 2>&1; }
need_apt=()
have s6-svscan && have s6-supervise && have s6-svstat && have s6-log || need_apt+=(s6)
have runsvdir && have runsv && have sv && have svlogd || need_apt+=(runit)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "${BENCH_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && have apt-get; then
        say "installing ${need_apt[*]} from Debian (apt-get)"
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null; }; then
            warn "apt-get install ${need_apt[*]} failed"
        fi
    else
        warn "not root or no apt-get (or BENCH_NO_APT=1): cannot install ${need_apt[*]}"
    fi
    have s6-svscan || warn "s6 is not available: the s6 peer will be SKIPPED"
    have runsvdir || warn "runit is not available: the runit peer will be SKIPPED"
fi

say "running the benchmarks (results in $results)"
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
exec "$py" "$here/bench.py" \
    --bin-dir "$target/release" \
    --venv "$venv" \
    --results-dir "$results" \
    "$@"
