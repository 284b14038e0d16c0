"""`make setup` on this machine's Debian release: the venv's Python and the apt package names."""

import re
import sys
from pathlib import Path

from tributary.tools import process

REPO = Path(__file__).resolve().parent.parent
RPM_PYTHON = REPO / "packaging" / "rpm-python.sh"


def _apt_packages() -> list[str]:
    lines = (REPO / "packaging" / "apt-packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_python_found_is_the_one_python3_rpm_is_built_for_and_runs_the_tests() -> None:
    found = process.run(["bash", str(RPM_PYTHON)], cwd=REPO)
    python = found.stdout.strip()
    assert re.fullmatch(r"/usr/bin/python3\.\d+", python), found.stdout
    said = re.search(r"setup: python3-rpm \S+ is built for Python (3\.\d+) \((/usr/lib/python3/dist-packages/rpm/"
                     r"_rpm\.cpython-3(\d+)-\S+\.so)\)", found.stderr)
    assert said, found.stderr
    version, extension, tag = said.groups()
    assert python == f"/usr/bin/python{version}" and version == f"3.{tag}" and Path(extension).is_file()
    # Debian's interpreter imports Debian's module without any shim: they are built for each other.
    imported = process.run([python, "-c", "import rpm, sys; print(rpm.__file__, '%d.%d' % sys.version_info[:2])"])
    assert imported.stdout.split() == [str(Path(extension).parent / "__init__.py"), version]
    # The venv the tests run in is that version (made by `make setup`, or by hand from another build of it).
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == version


def test_a_python_of_another_version_is_refused_by_name(tmp_path: Path) -> None:
    # Another Python version need not exist on a fresh machine: a stand-in answers as Python 3.99 would.
    other = tmp_path / "python3.99"
    other.write_text("#!/bin/sh\necho 3.99\n")
    other.chmod(0o755)
    refused = process.run(["bash", str(RPM_PYTHON), str(other)], cwd=REPO, ok=None)
    assert refused.returncode == 1 and refused.stdout == ""
    assert re.search(rf"setup: PYTHON={re.escape(str(other))} is Python 3\.99, but python3-rpm is built for 3\.\d+$",
                     refused.stderr.strip()), refused.stderr


def test_every_apt_package_setup_names_exists_in_this_release() -> None:
    packages = _apt_packages()
    assert "python3-rpm" in packages and not any(re.fullmatch(r"python3\.\d+(-venv)?", p) for p in packages)
    policy = process.run(["apt-cache", "policy", *packages]).stdout
    candidates = dict(re.findall(r"^(\S+):\n(?:  .*\n)*?  Candidate: (\S+)", policy, re.MULTILINE))
    missing = [p for p in packages if candidates.get(p, "(none)") == "(none)"]
    assert not missing, f"not in this Debian release: {missing}"
