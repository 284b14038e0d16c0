#!/usr/bin/env bash
# The main job on the bundled example distribution: what `make demo` runs.
#
# 1. make the example upstream (dist-git repositories and a lookaside store) and serve it on loopback;
# 2. resolve and lock every component, render the distribution, explain every change from upstream;
# 3. ask what taking the newest upstream would cost.
# Outputs land under the project's output-dir (examples/distro/out) and rendered-specs-dir
# (examples/distro/specs); the upstream is made in examples/distro/build/upstream.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$here/../.venv/bin/python"
trib="$here/../.venv/bin/trib"
project="$here/distro"
upstream="$project/build/upstream"
reports="$project/out/reports"
port=8741  # the port examples/distro/distro/example-upstream.distro.toml names

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Make the example upstream: dist-git repositories and a lookaside store"
"$python" "$here/upstream/make_upstream.py" "$upstream"

step "Serve it on http://127.0.0.1:$port/"
exec 3< <(exec "$python" "$here/serve.py" "$upstream" "$port")
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
read -r ready <&3 || { echo "error: the upstream server did not start (is port $port in use?)" >&2; exit 1; }
echo "$ready"

step "Components of the example distribution"
"$trib" -C "$project" comp list -a

step "Where each setting of greet comes from (file:line)"
"$trib" -C "$project" comp query greet -v

step "Resolve and lock every component (locks/*.lock)"
"$trib" -C "$project" comp update -a

step "Render every component into specs/"
"$trib" -C "$project" comp render -a --clean-stale
"$trib" -C "$project" comp render -a --check

step "Buildable sources of greet: rendered files plus its tarball, fetched over HTTP and verified"
"$trib" -C "$project" comp prep-sources greet -o "$project/build/sources/greet" --force

step "What tributary changed in libgreet, against upstream"
"$trib" -C "$project" --color never comp diff libgreet | head -n 60

step "Every change from upstream must be explained"
"$trib" -C "$project" lint

step "The delta from upstream ($reports/changes.md)"
mkdir -p "$reports"
"$trib" -C "$project" -O markdown report changes > "$reports/changes.md.tmp"
mv "$reports/changes.md.tmp" "$reports/changes.md"
cat "$reports/changes.md"

step "What taking the newest upstream would cost"
status=0
"$trib" -C "$project" upstream check || status=$?
[ "$status" -le 1 ] || exit "$status"  # exit 1 means an overlay would break: reported above, not a demo failure
