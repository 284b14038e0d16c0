#!/bin/bash
# Print the Python interpreter that the installed python3-rpm is built for; say on stderr what was found.
#
# tributary imports rpm's Python bindings, which PyPI has no wheel of: the `rpm` package in
# pyproject.toml is a shim that loads the system's module into the venv. That module is a C extension
# built for one Python minor version (Debian 12's python3-rpm for 3.11, Debian 13's for 3.13), and the
# shim loads it into whatever the venv runs, so a venv of another version would run an extension built
# for a different ABI. The version is therefore read off the installed package, never assumed: dpkg
# lists the extension's file, whose name carries the ABI tag (rpm/_rpm.cpython-313-x86_64-linux-gnu.so).
#
# usage: rpm-python.sh [PYTHON]   (PYTHON: another build of that same version, e.g. pyenv's, checked)
set -euo pipefail

python=${1:-}
fail() { echo "setup: $*" >&2; exit 1; }
minor_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

extensions=$(dpkg-query -L python3-rpm 2>/dev/null | grep -E '/rpm/_rpm\.cpython-3[0-9]+-[^/]*\.so$' || true)
[ -n "$extensions" ] || fail "python3-rpm is not installed, or holds no rpm/_rpm.cpython-*.so (\`make apt\` installs it)"
# Debian builds the module for every Python a release supports; during a transition that can be two.
# The one of the release's default python3 is taken then, else the newest.
versions=$(sed -E 's|.*/_rpm\.cpython-3([0-9]+)-.*|3.\1|' <<<"$extensions" | sort -uV)
default=$(minor_of /usr/bin/python3 2>/dev/null || true)
if [ -n "$default" ] && grep -qxF "$default" <<<"$versions"; then want=$default; else want=$(tail -n 1 <<<"$versions"); fi
extension=$(grep -F "cpython-${want/./}-" <<<"$extensions" | head -n 1)
echo "setup: python3-rpm $(dpkg-query -W -f '${Version}' python3-rpm) is built for Python $want ($extension)" >&2

if [ -n "$python" ]; then
    have=$(minor_of "$python" 2>/dev/null) || fail "PYTHON=$python does not run"
    [ "$have" = "$want" ] || fail "PYTHON=$python is Python $have, but python3-rpm is built for $want"
    command -v "$python"
else
    [ -x "/usr/bin/python$want" ] || fail "/usr/bin/python$want is missing (Debian package python$want)"
    echo "/usr/bin/python$want"
fi
