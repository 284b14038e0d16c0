"""rpmautospec in process: the global names it swaps are swapped one call at a time."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

import pytest
from support import run_git

from tributary.tools import rpmautospec

SPEC = """\
Name: tick{n}
Version: 1.0
Release: %autorelease
Summary: A test package
License: MIT

%description
A test package.

%files

%changelog
%autochangelog
"""

pytestmark = pytest.mark.git


def _repository(root: Path, n: int) -> Path:
    root.mkdir()
    run_git("init", "-q", "-b", "rawhide", cwd=root)
    spec = root / f"tick{n}.spec"
    spec.write_text(SPEC.format(n=n))
    run_git("add", ".", cwd=root)
    run_git("commit", "-qm", "First", cwd=root)
    spec.write_text(SPEC.format(n=n) + "\n")
    run_git("commit", "-qam", "Second", cwd=root, date="2026-01-06T10:00:00+00:00")
    return spec


def test_threads_leave_the_callers_stderr_in_place_and_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two renders at once in one process: neither may close or keep the stream the other saved."""
    specs = [_repository(tmp_path / f"repo{n}", n) for n in range(8)]
    mine = io.StringIO()  # not a real file: each call swaps in one rpm's C library can write to
    monkeypatch.setattr(sys, "stderr", mine)
    start = threading.Barrier(len(specs))
    failures: list[BaseException] = []

    def expand(spec: Path) -> None:
        start.wait(timeout=60)
        try:
            rpmautospec.process(spec)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=expand, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert sys.stderr is mine and not mine.closed
    for spec in specs:
        text = spec.read_text()
        assert "## START: Set by rpmautospec" in text
        assert "- 1.0-2\n- Second\n" in text


def test_a_stream_another_thread_put_in_place_meanwhile_is_kept_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest swaps sys.stderr between a test's phases from its own thread, while a build's thread may be
    rendering: the stream it put in place stays, and neither it nor the one saved before is closed."""
    spec = _repository(tmp_path / "repo", 0)
    before, meanwhile = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", before)

    def query(path: Path, specfilename: Path) -> tuple[str, str]:
        sys.stderr = meanwhile  # as the other thread would
        return "1.0", "1"

    rpmautospec.process(spec, query)
    assert sys.stderr is meanwhile
    assert not before.closed and not meanwhile.closed
