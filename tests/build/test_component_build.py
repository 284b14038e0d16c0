"""Building for real in repository-defined buildroots: the root's own rpmbuild in bubblewrap, nothing of the host.

Every build here runs the real rpmbuild of a root assembled by the real dnf from the session's stage-0
repository, inside the real sandbox; nothing is mocked. The example's stage 1 is built once per module.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import ExampleDistro, copy_example_distro, local_component

from tributary.build.buildroot.roots import UnsatisfiableError
from tributary.build.cache import BuildCache
from tributary.build.distro import BuildPlan, build_distribution
from tributary.build.sandbox import Sandbox
from tributary.build.scheduler import Job, State
from tributary.config import Project, load_project

DIST = ".tribex10"


def stage1_project(directory: Path, upstream_root: Path, extra: dict[str, str] | None = None) -> tuple[ExampleDistro, Project]:
    """A copy of the example distribution at its bootstrap stage 1, reading the test upstream."""
    distro = copy_example_distro(directory, upstream_root, lookaside=True)
    for relative, text in (extra or {}).items():
        path = distro.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return distro, load_project(distro.root, extra_files=[distro.mirror, distro.root / "stage1.toml"])


def query(path: Path, *args: str) -> list[str]:
    return subprocess.run(["rpm", "-qp", *args, str(path)], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def extract(rpm_path: Path, member: str) -> bytes:
    """One file of an RPM's payload (rpm2archive gives a tar.gz; there is no cpio here)."""
    archive = subprocess.run(["rpm2archive", "-"], stdin=rpm_path.open("rb"), capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member_file = tar.extractfile(f".{member}")
        assert member_file is not None
        return member_file.read()


@dataclass
class Stage1:
    distro: ExampleDistro
    project: Project
    plan: BuildPlan
    jobs: dict[str, Job]

    def rpm(self, name: str) -> Path:
        (path,) = self.project.output_dir.glob(f"rpms/*/{name}-[0-9]*.rpm")
        return path


@pytest.fixture(scope="module")
def stage1(example_upstream, tmp_path_factory, trib_cache) -> Stage1:
    distro, project = stage1_project(tmp_path_factory.mktemp("stage1"), example_upstream.root)
    plan, jobs = build_distribution(project, project.component_names, jobs=2)
    assert {name: job.state for name, job in jobs.items()} == dict.fromkeys(project.component_names, State.DONE), \
        {name: job.error for name, job in jobs.items() if job.error}
    return Stage1(distro, project, plan, jobs)


def test_the_distributions_rpm_config_is_built_first_and_is_in_every_root(stage1: Stage1) -> None:
    needs = stage1.plan.graph.needs
    assert needs["tribex-rpm-config"] == set()
    assert all("tribex-rpm-config" in needs[name] for name in needs if name != "tribex-rpm-config")
    cache = BuildCache(stage1.project)
    own = cache.buildroot("tribex-rpm-config")
    greet = cache.buildroot("greet")
    assert own is not None and greet is not None
    assert not any(nevra.startswith("tribex-rpm-config-") for nevra in own["installed"]), "built without itself"
    assert f"tribex-rpm-config-1.0-1{DIST}.noarch" in greet["installed"]
    assert any(nevra.startswith("gcc-") for nevra in greet["installed"]), "the root's own compiler"
    assert next(repo["id"] for repo in greet["repos"]) == "tribex-stage0"
    assert all(len(repo["repomdSha256"]) == 64 for repo in greet["repos"])


def test_macro_directories_come_from_the_distributions_rpm_config(stage1: Stage1) -> None:
    files = query(stage1.rpm("motd-greeter"), "--list")
    assert "/usr/lib/rpm/macros.d/macros.motd-greeter" in files  # %{rpmmacrodir}
    assert "/usr/lib/systemd/system/motd-greeter.service" in files  # %{_unitdir}
    config = query(stage1.rpm("tribex-rpm-config"), "--provides")
    assert f"system-rpm-config = 1.0-1{DIST}" in config


def test_pkg_config_finds_a_devel_package_of_the_distribution(stage1: Stage1) -> None:
    greetings = stage1.rpm("greetings")
    assert "libgreet.so.1()(64bit)" in query(greetings, "--requires")
    log = (stage1.project.log_dir / "greetings.log").read_text()
    assert "pkgconfig(libgreet)" in log
    assert 'test "$(./greetings Ana)" = "Hello, Ana!"' in log  # %check ran against the root's libgreet
    assert "greetings: pkg-config cannot find libgreet" not in log


def test_a_perl_module_of_the_distribution_is_imported_in_check(stage1: Stage1) -> None:
    assert "perl(Greet) = 1.0" in query(stage1.rpm("perl-Greet"), "--provides")
    # The root's perl-generators (stage 0's own, the same on Debian 12 and 13) read the script's "use" lines.
    assert {"perl(Greet)", "perl(strict)", "perl(warnings)"} <= set(query(stage1.rpm("greet-report"), "--requires"))
    assert stage1.plan.graph.needs["greet-report"] >= {"perl-Greet"}, "perl(Greet) is known before anything builds"
    log = (stage1.project.log_dir / "greet-report.log").read_text()
    assert "greet-report: self-test passed (Greet 1.0)" in log
    root = BuildCache(stage1.project).buildroot("greet-report")
    assert root is not None and f"perl-Greet-1.0-1{DIST}.noarch" in root["installed"]


def test_hardening_flags_reached_the_compiler(stage1: Stage1, tmp_path: Path) -> None:
    binary = tmp_path / "greet"
    binary.write_bytes(extract(stage1.rpm("greet"), "/usr/bin/greet"))

    def readelf(*args: str) -> str:
        return subprocess.run(["readelf", "-W", *args, str(binary)], capture_output=True, text=True, check=True).stdout

    assert "DYN (Position-Independent Executable file)" in readelf("-h")
    dynamic = readelf("-d")
    assert "BIND_NOW" in dynamic and "PIE" in dynamic
    assert "GNU_RELRO" in readelf("-l")
    symbols = readelf("--dyn-syms")
    assert "__stack_chk_fail" in symbols
    assert "_chk@" in symbols.replace("__stack_chk_fail@", "")  # a FORTIFY_SOURCE checked function
    assert "/usr/share/man/man1/greet.1.gz" in query(stage1.rpm("greet"), "--list")  # brp-compress ran


def test_provenance_inputs_are_recorded_with_the_build(stage1: Stage1) -> None:
    record = json.loads((stage1.project.work_dir / "build-cache" / "greet.json").read_text())
    root = record["buildroot"]
    assert len(root["key"]) == 40 and root["installed"] == sorted(root["installed"])
    assert any(repo["id"] == "tributary-produced" for repo in root["repos"])


def test_a_host_header_is_not_visible_to_a_build(example_upstream, tmp_path, trib_cache) -> None:
    name = f"tributary-host-only-{uuid.uuid4().hex[:8]}.h"
    planted = Path("/usr/include") / name
    planted.write_text("#define TRIBUTARY_HOST_ONLY 1\n")
    try:
        script = (f"printf '#include <{name}>\\nint main(void) {{ return TRIBUTARY_HOST_ONLY - 1; }}\\n' > t.c\n"
                  "gcc -o t t.c")
        _, project = stage1_project(tmp_path, example_upstream.root,
                                    local_component("hostprobe", script, "BuildRequires:  gcc"))
        subprocess.run(["gcc", "-fsyntax-only", "-x", "c", "-"], input=f"#include <{name}>\n", text=True,
                       check=True)  # the host's compiler finds it
        _, jobs = build_distribution(project, ["hostprobe"], jobs=2)
    finally:
        planted.unlink()
    job = jobs["hostprobe"]
    assert job.state == State.FAILED
    assert job.error is not None and f"{name}: No such file or directory" in job.error


def test_network_is_unreachable_inside(example_upstream, tmp_path, trib_cache) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):  # the listener works from the host...
            listener.setblocking(True)
            listener.accept()[0].close()
            listener.setblocking(False)
        script = f"bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}'"
        _, project = stage1_project(tmp_path, example_upstream.root, local_component("netprobe", script))
        _, jobs = build_distribution(project, ["netprobe"], jobs=2)
        with pytest.raises(BlockingIOError):  # ...but not from inside the sandbox
            listener.accept()
    finally:
        listener.close()
    error = jobs["netprobe"].error or ""
    assert jobs["netprobe"].state == State.FAILED and f"/dev/tcp/127.0.0.1/{port}" in error
    assert "unreachable" in error.lower() or "refused" in error.lower()


def test_a_failing_build_ends_its_error_with_the_log(example_upstream, tmp_path, trib_cache) -> None:
    script = "echo 'compiling the unbuildable'\necho 'the last words of a failing build' >&2\nexit 3"
    _, project = stage1_project(tmp_path, example_upstream.root, local_component("broken", script))
    _, jobs = build_distribution(project, ["broken"], jobs=2)
    message = jobs["broken"].error or ""
    log = project.log_dir / "broken.log"
    assert message.startswith("component broken: rpmbuild --rebuild failed with exit status 1")
    assert "RPM build errors:" in message and "the last words of a failing build" in message
    assert message.endswith("\n".join(log.read_text().splitlines()[-30:]))
    assert [path.name.split(".")[0] for path in (project.work_dir / "builds").iterdir()] == ["broken"]  # kept
    assert not list(project.output_dir.glob("rpms/*/broken-*.rpm"))


def test_an_unsatisfiable_build_requirement_names_it_and_the_repositories(example_upstream, tmp_path,
                                                                           trib_cache) -> None:
    files = local_component("needy", "true", "BuildRequires:  make\nBuildRequires:  libnothing-devel >= 1.0")
    _, project = stage1_project(tmp_path, example_upstream.root, files)
    _, jobs = build_distribution(project, ["needy"], jobs=2)
    message = jobs["needy"].error or ""
    assert message.startswith("component needy: BuildRequires 'libnothing-devel >= 1.0': provided by no package "
                              "of the repositories searched: tribex-stage0 (file://"), message
    assert "tributary-produced" in message  # the packages of this run it needs: tribex-rpm-config
    assert "libnothing-devel" in (project.log_dir / "needy.log").read_text()
    assert UnsatisfiableError.exit_code == 1


def test_the_sandbox_is_unprivileged_and_the_root_read_only(stage1: Stage1, tmp_path: Path, trib_cache: Path) -> None:
    root = BuildCache(stage1.project).buildroot("greet")
    assert root is not None
    tree = trib_cache / "roots" / str(root["key"])
    assert (tree / "usr/bin/gcc").exists()
    build = tmp_path / "build"
    build.mkdir()
    log = tmp_path / "log"
    with log.open("wb") as handle:
        status = Sandbox(tree, build).run(["sh", "-c", "id -u; id -g; pwd; echo $HOME; ls /usr/include/tributary* "
                                           "2>/dev/null | wc -l; touch /usr/x || echo ro; ls /etc/shadow || true"],
                                          handle)
    assert status == 0, log.read_text()
    uid, gid, cwd, home, planted, *rest = log.read_text().splitlines()
    assert (uid, gid, cwd, home, planted) == ("65534", "65534", "/build", "/build/home", "0")
    assert "ro" in rest and not (tree / "usr/x").exists()
