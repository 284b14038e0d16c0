"""`trib build` keeps its results when a component's SBOM cannot be written: table first, then the failure."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import Published

from tributary.build.scheduler import Job, State
from tributary.errors import TribError
from tributary.sbom import write
from tributary.sbom.collect import SbomError


@pytest.fixture
def fake_build(published: Published, monkeypatch):
    """``trib build`` on the published example with the build itself and the SBOM writer replaced.

    Returns the job table the build will report, to be filled in by the test, and the CLI arguments.
    """
    project = published.project
    jobs: dict[str, Job] = {}
    plan = SimpleNamespace(buildroot=SimpleNamespace(name="fake", unsupported=()), import_error=None)
    monkeypatch.setattr("tributary.build.distro.build_distribution", lambda *args, **kwargs: (plan, jobs))

    def writer(project, name, outputs=None, *, key=None):
        if name == "libgreet":
            raise SbomError("cannot read libgreet's SRPM")
        return write.Written(name, "component", [Path(f"/nowhere/{name}.spdx.json")])

    monkeypatch.setattr(write, "write_component", writer)
    monkeypatch.delenv("TRIB_GPG_KEY", raising=False)
    return jobs, ["-C", str(project.root), "--config-file", str(project.files[-1].path)]


def test_a_failed_sbom_still_shows_every_build_result(fake_build, trib) -> None:
    jobs, args = fake_build
    jobs.update({"libgreet": Job("libgreet", State.DONE, 1.0, result=[Path("/out/libgreet.src.rpm")]),
                 "greet": Job("greet", State.CACHED, 0.0, result=[Path("/out/greet.src.rpm")])})
    result = trib(*args, "-O", "json", "build", "greet", "libgreet")
    assert result.code == SbomError.exit_code == 2
    rows = {row["component"]: row for row in json.loads(result.out)}
    assert rows["libgreet"]["state"] == "done" and rows["libgreet"]["sbom"] == []
    assert rows["greet"]["state"] == "cached" and rows["greet"]["sbom"] == ["/nowhere/greet.spdx.json"]
    assert "warning: libgreet: sbom: cannot read libgreet's SRPM" in result.err
    assert "SBOM or provenance not written for 1 component(s): libgreet" in result.err

    table = trib(*args, "build", "greet", "libgreet")
    assert table.code == 2 and "libgreet" in table.out and "greet" in table.out


def test_a_failed_build_still_decides_the_exit_status(fake_build, trib) -> None:
    jobs, args = fake_build
    jobs.update({"libgreet": Job("libgreet", State.DONE, 1.0, result=[Path("/out/libgreet.src.rpm")]),
                 "greet": Job("greet", State.FAILED, 0.5, error="greet: rpmbuild failed")})
    result = trib(*args, "-O", "json", "build", "greet", "libgreet")
    assert result.code == 1
    assert [row["component"] for row in json.loads(result.out)] == ["libgreet", "greet"]
    assert "warning: libgreet: sbom: " in result.err and "error: greet: rpmbuild failed" in result.err
    assert "1 build(s) failed" in result.err


def test_an_unusable_signing_key_fails_every_sbom_but_not_the_table(fake_build, trib, monkeypatch) -> None:
    jobs, args = fake_build
    jobs["greet"] = Job("greet", State.DONE, 1.0, result=[Path("/out/greet.src.rpm")])

    def no_key():
        raise TribError("no secret key 'nobody' in /nowhere")

    monkeypatch.setattr("tributary.cli.sbom.provenance_key", no_key)
    result = trib(*args, "-O", "json", "build", "greet")
    assert result.code == 2 and json.loads(result.out)[0]["state"] == "done"
    assert "warning: greet: sbom: no secret key" in result.err
