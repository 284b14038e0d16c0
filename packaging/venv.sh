#!/bin/bash
# Make VENV with PYTHON and install the project into it with its dev extra; keep it when it is already
# made with that Python version and newer than pyproject.toml. A venv of another version is made anew.
#
# usage: venv.sh VENV PYTHON
set -euo pipefail

venv=${1:?usage: venv.sh VENV PYTHON}
python=${2:?usage: venv.sh VENV PYTHON}
minor_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

want=$(minor_of "$python")
if [ -x "$venv/bin/python" ]; then
    have=$(minor_of "$venv/bin/python" 2>/dev/null || echo "a broken interpreter")
    if [ "$have" != "$want" ]; then
        echo "setup: $venv runs Python $have, not $want: making it anew"
        rm -rf "$venv"
    fi
fi
if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    # A venv holds its own absolute path, so it cannot be made aside and renamed: a failed one is removed.
    trap 'rm -rf "$venv"' ERR
    "$python" -m venv "$venv"
    trap - ERR
fi
# The stamp is newer than pyproject.toml once the dependencies it names are installed.
if [ ! "$venv/.installed" -nt pyproject.toml ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e '.[dev]'
    touch "$venv/.installed"
fi
echo "setup: $venv: Python $("$venv/bin/python" -c 'import platform, sys; print(platform.python_version(), "of", sys.base_prefix)')"
