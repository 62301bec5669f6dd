#!/usr/bin/env bash
# Fuzz smoke run: builds the cargo-fuzz targets and runs each for a short while over the
# committed corpus (fuzz/corpus/<target>, never modified here). Exits non-zero on a crash,
# a failed property, a timeout or an out-of-memory; the input is left in
# fuzz/artifacts/<target>/ (see fuzz/README.md to reproduce it).
#
#   bash fuzz/smoke.sh                   # every target, 30 s each
#   SMOKE_SECONDS=120 bash fuzz/smoke.sh rpc
#
# cargo-fuzz is installed from crates.io when missing. cargo-fuzz needs nightly-only
# flags; on a stable toolchain they are enabled with RUSTC_BOOTSTRAP=1. If cargo-fuzz
# cannot be installed, the run is SKIPPED with a loud warning and exit 0, unless
# FUZZ_SMOKE_REQUIRED=1, when it fails instead. A target that does not build fails.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${SMOKE_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config rpc http xmlrpc)
export RUSTC_BOOTSTRAP=1

skip() {
    echo "!! WARNING: fuzz smoke run SKIPPED: $1"
    if [ "${FUZZ_SMOKE_REQUIRED:-0}" = 1 ]; then
        exit 1
    fi
    exit 0
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz || skip "cargo-fuzz is not installed and could not be installed"
fi
cargo fuzz --version

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
    echo "== cargo fuzz build --sanitizer $sanitizer $target"
    # A target that no longer builds against the library is a failure, not a skip.
    if ! cargo fuzz build --sanitizer "$sanitizer" "$target" >"$work/build.log" 2>&1; then
        tail -n 40 "$work/build.log"
        echo "!! FAILED: the fuzz target '$target' does not build"
        exit 1
    fi
done

status=0
for target in "${targets[@]}"; do
    mkdir -p "$work/$target" "artifacts/$target"
    log="$work/$target.log"
    echo "== fuzz $target for ${seconds}s over corpus/$target ($(find "corpus/$target" -type f | wc -l) inputs)"
    # New inputs go to the scratch dir, so the committed corpus stays as it is. Output
    # goes to a file and stdin is /dev/null: a config naming /dev/stdout or /dev/stdin
    # as an env_file must not read from a pipe or the terminal.
    if cargo fuzz run --sanitizer "$sanitizer" "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        </dev/null >"$log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" || true
        echo "ok: $target"
    else
        status=1
        echo "!! FAILED: $target; its log, without progress and dictionary lines:"
        grep -vE '^#[0-9]+|^"|# Uses: ' "$log" | tail -n 60
        for artifact in "artifacts/$target"/*; do
            [ -e "$artifact" ] || continue
            echo "!! reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer $target $artifact"
        done
    fi
done
exit "$status"
