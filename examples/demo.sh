#!/usr/bin/env bash
# The main job on the bundled example distribution: what `make demo` runs.
# Each step is a trib command a maintainer would run. Outputs land under the project's output-dir
# (examples/distro/out) and rendered-specs-dir (examples/distro/specs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
trib="$here/../.venv/bin/trib"
project="$here/distro"
reports="$project/out/reports"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Components of the example distribution"
"$trib" -C "$project" comp list -a

step "Where each setting of greet comes from (file:line)"
"$trib" -C "$project" comp query greet -v

step "Render the local-spec components (upstream dist-git rendering arrives with the upstream stage)"
"$trib" -C "$project" comp render tribex-release
"$trib" -C "$project" comp render tribex-release --check

step "Every change from upstream must be explained"
"$trib" -C "$project" lint

step "The delta from upstream ($reports/changes.md)"
mkdir -p "$reports"
"$trib" -C "$project" -O markdown report changes > "$reports/changes.md.tmp"
mv "$reports/changes.md.tmp" "$reports/changes.md"
cat "$reports/changes.md"
