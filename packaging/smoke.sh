#!/usr/bin/env bash
# Smoke test of the built bundle, offscreen, in a throw-away workspace: start-up, the demo (which
# retrains in worker processes), a retrain job, scoring a batch, a report exported and verified, and
# the window opened to its first paint and closed. Prints each step's time; exits non-zero on any failure.
# Usage: packaging/smoke.sh [BUNDLE_DIR]   (default: dist/model-steward; `make package-smoke`)
set -euo pipefail

bundle=$(cd "${1:-dist/model-steward}" && pwd -P)
steward="$bundle/steward"
gui="$bundle/steward-gui"
[[ -x $steward && -L $gui ]] || { echo "smoke: no built bundle in $bundle (run make package)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/steward-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export QT_QPA_PLATFORM=offscreen
export STEWARD_HOME="$tmp/ws"
export STEWARD_ACTOR=smoke
export XDG_CONFIG_HOME="$tmp/config"  # the window's QSettings stay out of the user's own
export PATH="/usr/bin:/bin"  # no venv on the path: the bundle must not need one
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
started=$(now)
step() {  # step NAME COMMAND...: run it, keep its output in $tmp/NAME.out, print its time
    local name=$1 t0 rc=0
    shift
    t0=$(now)
    "$@" >"$tmp/$name.out" 2>&1 || rc=$?
    printf '%-22s %6ss  %s\n' "$name" "$(secs "$t0" "$(now)")" "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")"
    if [[ $rc != 0 ]]; then
        sed 's/^/    /' "$tmp/$name.out" | tail -n 40 >&2
        exit 1
    fi
}
expect() {  # expect NAME PATTERN: NAME's output must contain PATTERN
    grep -Eq -- "$2" "$tmp/$1.out" || { echo "smoke: $1 output lacks /$2/:" >&2; sed 's/^/    /' "$tmp/$1.out" >&2; exit 1; }
}

echo "Model Steward bundle smoke test: $bundle"
step version "$steward" --version
step help "$steward" --help
step demo "$steward" demo
expect demo "Demo workspace created"
# The demo's two retrains ran in worker processes of this frozen executable: both must have ended.
step demo-jobs "$steward" jobs list --json
expect demo-jobs '"state": "succeeded"'
if grep -Eq '"state": "(failed|queued|running)"' "$tmp/demo-jobs.out"; then
    echo "smoke: a demo job did not succeed:" >&2; cat "$tmp/demo-jobs.out" >&2; exit 1
fi
step retrain "$steward" retrain customer-churn --wait
expect retrain 'succeeded'
step score "$steward" score customer-churn --input "$bundle/_internal/resources/samples/customer-churn-batch.csv" \
    --output "$tmp/predictions.csv" --label smoke
[[ $(wc -l <"$tmp/predictions.csv") -eq 501 ]] || { echo "smoke: expected 500 predictions" >&2; exit 1; }
step report "$steward" report export --format pdf,html,json --out "$tmp/report" --prepared-for "smoke test"
for ext in pdf html json; do
    compgen -G "$tmp/report/*.$ext" >/dev/null || { echo "smoke: no .$ext report written" >&2; exit 1; }
done
head -c 5 "$tmp"/report/*.pdf | grep -q '%PDF-' || { echo "smoke: the PDF is not a PDF" >&2; exit 1; }
step verify "$steward" report verify --against-workspace "$(compgen -G "$tmp/report/*.json" | head -n 1)"
step gui "$gui" --quit-after-paint
expect gui 'first paint after'
step gui-subcommand "$steward" gui --quit-after-paint
expect gui-subcommand 'first paint after'

echo "window first paint:     $(grep -o 'first paint after .*' "$tmp/gui.out")"
echo "smoke test total:       $(secs "$started" "$(now)") s"
echo "bundle size:            $(du -sh "$bundle" | cut -f1)"
echo "smoke: all steps passed"
