"""A read-only command's kept answer (cli.replay, tributary.inputs): given again only while nothing the
command read has changed, and then without loading the command-line layer.

Each run is the console script's ``run`` in a process of its own, with its own cache directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import write_tree
from tributary import inputs
from tributary.cli import replay

PROJECT = {
    "azldev.toml": """
        includes = ["comps/*.comp.toml", "more/*.toml"]
        [project]
        description = "replay"
        default-distro = { name = "fedora", version = "43" }
        [distros.fedora]
        default-version = "43"
        dist-git-base-uri = "https://src.invalid/rpms/$pkg.git"
        [distros.fedora.versions.43]
        release-ver = "43"
        """,
    "comps/curl.comp.toml": """
        [components.curl]
        spec = { type = "upstream", upstream-distro = { name = "fedora", version = "43" } }
        """,
    "comps/zlib.comp.toml": """
        [components.zlib]
        spec = { type = "upstream", upstream-distro = { name = "fedora", version = "43" } }
        """,
}

# Runs the console script's entry in a process of its own and reports whether it loaded the
# command-line layer (typer), i.e. whether it ran the command rather than giving a kept answer.
DRIVER = """
import json, sys
from tributary.cli import launch
report, sys.argv = sys.argv[1], ["trib", *sys.argv[2:]]
try:
    launch.run()
finally:
    with open(report, "w") as handle:
        json.dump({"ran": "typer" in sys.modules}, handle)
"""


@dataclass
class Answer:
    code: int
    out: str
    err: str
    ran: bool


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "proj", PROJECT)


def trib(cache: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> Answer:
    report = cache.parent / "report.json"
    report.unlink(missing_ok=True)
    environment = {key: value for key, value in os.environ.items() if key != replay.DISABLE_VARIABLE}
    done = subprocess.run([sys.executable, "-c", DRIVER, str(report), *args], cwd=cwd, capture_output=True, text=True,
                          env={**environment, "XDG_CACHE_HOME": str(cache), **(env or {})}, timeout=120)
    return Answer(done.returncode, done.stdout, done.stderr, json.loads(report.read_text())["ran"])


def kept(cache: Path) -> list[Path]:
    answers = cache / "tributary" / "answers"
    return sorted(answers.iterdir()) if answers.exists() else []


def listed(answer: Answer) -> list[str]:
    assert answer.code == 0, answer.err
    return [row["name"] for row in json.loads(answer.out)]


def test_an_answer_is_given_again_without_loading_the_command_line(cache: Path, project: Path) -> None:
    first = trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert first.ran and listed(first) == ["curl", "zlib"]
    assert len(kept(cache)) == 1
    second = trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert not second.ran
    assert "include 'more/*.toml' matches no file" in first.err  # warnings are part of the answer
    assert (second.code, second.out, second.err) == (first.code, first.out, first.err)


def test_a_table_is_given_again_as_written(cache: Path, project: Path) -> None:
    first = trib(cache, project, "comp", "list", "-a")  # rich's table, not a terminal: 80 columns
    second = trib(cache, project, "comp", "list", "-a")
    assert first.ran and "zlib" in first.out
    assert not second.ran and second.out == first.out


def test_an_answer_is_written_in_the_order_its_two_streams_were(cache: Path, project: Path) -> None:
    script = project.parent / "both.sh"
    script.write_text(f'exec {sys.executable} -c "$DRIVER" "$REPORT" -O json comp list -a 2>&1\n')
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache), "DRIVER": DRIVER,
                   "REPORT": str(cache.parent / "report.json")}
    environment.pop(replay.DISABLE_VARIABLE, None)
    answers = []
    for _ in range(2):
        done = subprocess.run(["sh", str(script)], cwd=project, env=environment, capture_output=True, text=True,
                              timeout=120)
        answers.append((done.stdout, json.loads((cache.parent / "report.json").read_text())["ran"]))
    (first, ran), (second, ran_again) = answers
    assert first.startswith("warning: ") and "\n[\n" in first  # the warning, then the rows
    assert ran and not ran_again and second == first


def test_comp_query_is_kept_too_with_what_its_selection_printed(cache: Path, project: Path) -> None:
    first = trib(cache, project, "-O", "json", "comp", "query", "curl")  # selecting loads the project
    second = trib(cache, project, "-O", "json", "comp", "query", "curl")
    assert first.ran and json.loads(first.out)["name"] == "curl"
    assert "matches no file" in first.err
    assert not second.ran and (second.out, second.err) == (first.out, first.err)


def _edit_same_size(root: Path, directory: str = "comps") -> None:
    path = root / directory / "zlib.comp.toml"
    path.write_text(path.read_text().replace("[components.zlib]", "[components.zlic]"))


def _add_matching_file(root: Path) -> None:
    write_tree(root, {"more/bash.toml": "[components.bash]\n"})


def _remove_file(root: Path) -> None:
    (root / "comps/curl.comp.toml").unlink()


def _swap_directory_for_link(root: Path) -> None:
    (root / "comps").rename(root / "elsewhere")
    _edit_same_size(root, "elsewhere")  # the same names, one file's bytes changed
    (root / "comps").symlink_to("elsewhere")


def _lock_a_component(root: Path) -> None:
    write_tree(root, {"locks/curl.lock": f'version = 1\nupstream-commit = "{"a" * 40}"\n'
                                         f'input-fingerprint = "sha256:{"b" * 64}"\n'})


CHANGES = {
    "a file edited, same size": (_edit_same_size, ["curl", "zlic"]),
    "a file added where a glob looks": (_add_matching_file, ["bash", "curl", "zlib"]),
    "a file removed": (_remove_file, ["zlib"]),
    "a directory replaced by a link": (_swap_directory_for_link, ["curl", "zlic"]),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_a_changed_input_is_read_again(cache: Path, project: Path, change: str) -> None:
    edit, expected = CHANGES[change]
    trib(cache, project, "-O", "json", "comp", "list", "-a")
    edit(project)
    again = trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert again.ran and listed(again) == expected


def test_a_spec_a_group_names_literally_is_noticed(cache: Path, project: Path) -> None:
    root_file = project / "azldev.toml"
    root_file.write_text(root_file.read_text() + '[component-groups.local]\nspecs = ["local/foo.spec"]\n')
    (project / "local").mkdir()
    before = trib(cache, project, "-O", "json", "comp", "list", "-a")
    write_tree(project, {"local/foo.spec": "Name: foo\n"})
    after = trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert listed(before) == ["curl", "zlib"]
    assert after.ran and listed(after) == ["curl", "foo", "zlib"]


def test_a_spec_path_that_is_gone_is_noticed(cache: Path, project: Path) -> None:
    write_tree(project, {"specs-src/curl.spec": "Name: curl\n"})
    before = trib(cache, project, "-O", "json", "comp", "list", "-s", "specs-src/curl.spec")
    (project / "specs-src/curl.spec").unlink()
    after = trib(cache, project, "-O", "json", "comp", "list", "-s", "specs-src/curl.spec")
    assert listed(before) == ["curl"]
    assert after.ran and after.code == 2 and "does not exist" in after.err


def test_where_a_link_leads_is_noticed(cache: Path, project: Path) -> None:
    root_file = project / "azldev.toml"
    root_file.write_text(root_file.read_text().replace('"comps/*.comp.toml"', '"comps/**/*.comp.toml"'))
    (project / "comps/ext").symlink_to("../outside")  # leads nowhere yet
    before = trib(cache, project, "-O", "json", "comp", "list", "-a")
    (project / "outside").mkdir()  # now a link to a directory, which the glob passes over with a warning
    after = trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert "symbolic link" not in before.err
    assert after.ran and "comps/ext is a symbolic link" in after.err


def test_nothing_is_kept_with_a_stream_closed(cache: Path, project: Path) -> None:
    report = cache.parent / "report.json"
    command = f'{sys.executable} -c "$DRIVER" {report} -O json comp list -a 2>&-'
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache), "DRIVER": DRIVER}
    environment.pop(replay.DISABLE_VARIABLE, None)
    done = subprocess.run(["sh", "-c", command], cwd=project, env=environment, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "curl" in done.stdout
    assert kept(cache) == []


def test_a_new_lock_changes_the_answer(cache: Path, project: Path) -> None:
    before = trib(cache, project, "-O", "json", "comp", "list", "-a")
    _lock_a_component(project)
    after = trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert after.ran
    assert [row["locked"] for row in json.loads(before.out)] == [None, None]
    assert json.loads(after.out)[0]["locked"] == {"upstreamCommit": "a" * 40,
                                                  "inputFingerprint": f"sha256:{'b' * 64}"}, after.err


def test_a_nearer_project_file_is_noticed(cache: Path, project: Path) -> None:
    inner = project / "comps"
    first = trib(cache, inner, "-O", "json", "comp", "list", "-a")
    write_tree(inner, {"azldev.toml": '[project]\ndefault-distro = { name = "fedora", version = "43" }\n'
                              '[distros.fedora.versions.43]\nrelease-ver = "43"\n[components.inner]\n'})
    second = trib(cache, inner, "-O", "json", "comp", "list", "-a")
    assert listed(first) == ["curl", "zlib"]
    assert second.ran and listed(second) == ["inner"]


def test_another_question_is_not_given_the_kept_answer(cache: Path, project: Path) -> None:
    trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert trib(cache, project, "-O", "json", "comp", "list", "curl").ran
    assert trib(cache, project, "-O", "json", "comp", "list", "-a", env={"TRIB_SOMETHING": "1"}).ran


@pytest.mark.parametrize("args", [
    ("-O", "json", "comp", "list", "nosuch"),  # fails
    ("-O", "json", "distro", "list"),  # never says its answer may be kept
])
def test_nothing_is_kept_for_a_command_that_fails_or_is_not_reusable(cache: Path, project: Path,
                                                                     args: tuple[str, ...]) -> None:
    trib(cache, project, *args)
    assert kept(cache) == []


def test_nothing_is_kept_or_given_when_turned_off(cache: Path, project: Path) -> None:
    trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert trib(cache, project, "-O", "json", "comp", "list", "-a", env={replay.DISABLE_VARIABLE: "1"}).ran
    kept(cache)[0].unlink()
    trib(cache, project, "-O", "json", "comp", "list", "-a", env={replay.DISABLE_VARIABLE: "1"})
    assert kept(cache) == []


def test_an_answer_others_could_have_written_is_not_given(cache: Path, project: Path) -> None:
    trib(cache, project, "-O", "json", "comp", "list", "-a")
    (answer,) = kept(cache)
    answer.chmod(0o622)
    assert trib(cache, project, "-O", "json", "comp", "list", "-a").ran


def test_a_kept_answer_that_cannot_be_written_out_is_an_error_like_the_commands(cache: Path, project: Path) -> None:
    trib(cache, project, "-O", "json", "comp", "list", "-a")
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    environment.pop(replay.DISABLE_VARIABLE, None)
    report = cache.parent / "report.json"
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-c", DRIVER, str(report), "-O", "json", "comp", "list", "-a"],
                              cwd=project, env=environment, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert not json.loads(report.read_text())["ran"]
    assert done.returncode == 1 and done.stderr.endswith("error: No space left on device\n"), done.stderr


def test_a_reader_gone_gets_the_commands_own_status(cache: Path, project: Path) -> None:
    trib(cache, project, "-O", "json", "comp", "list", "-a")
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    environment.pop(replay.DISABLE_VARIABLE, None)
    report = cache.parent / "report.json"
    statuses = []
    for extra in ({}, {replay.DISABLE_VARIABLE: "1"}):  # the kept answer, then the command itself
        reader, writer = os.pipe()
        os.close(reader)  # nobody reads: the first write fails
        try:
            done = subprocess.run([sys.executable, "-c", DRIVER, str(report), "-O", "json", "comp", "list", "-a"],
                                  cwd=project, env={**environment, **extra}, stdout=writer, stderr=subprocess.PIPE,
                                  text=True, timeout=120)
        finally:
            os.close(writer)
        statuses.append((done.returncode, json.loads(report.read_text())["ran"]))
    assert statuses == [(1, False), (1, True)]


def test_nothing_is_kept_in_an_encoding_with_a_byte_order_mark(cache: Path, project: Path) -> None:
    trib(cache, project, "-O", "json", "comp", "list", "-a", env={"PYTHONIOENCODING": "utf-16"})
    assert kept(cache) == []


def test_a_damaged_answer_is_ignored(cache: Path, project: Path) -> None:
    first = trib(cache, project, "-O", "json", "comp", "list", "-a")
    (answer,) = kept(cache)
    answer.write_bytes(answer.read_bytes()[:100])
    again = trib(cache, project, "-O", "json", "comp", "list", "-a")
    assert again.ran and again.out == first.out


def test_changed_code_is_not_trusted_for_a_kept_answer(tmp_path: Path) -> None:
    module = write_tree(tmp_path, {"module.py": "VALUE = 1\n"}) / "module.py"
    status = module.stat()
    code = [(str(module), status.st_mtime_ns, status.st_size)]
    assert replay._code_unchanged(code)
    os.utime(module, ns=(status.st_atime_ns, status.st_mtime_ns + 1))
    assert not replay._code_unchanged(code)


def test_the_answers_used_last_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    home = replay.directory()
    assert home is not None
    home.mkdir(parents=True)
    abandoned, being_written = home / ".a.tmp", home / ".b.tmp"
    abandoned.write_bytes(b"")
    being_written.write_bytes(b"")
    os.utime(abandoned, (time.time() - 7200, time.time() - 7200))
    names = [f"{number:040x}" for number in range(replay.KEEP + 3)]
    for number, name in enumerate(names):
        replay._store(name, b"answer")
        os.utime(home / name, ns=(number, number))  # the order they were kept in
        if number == replay.KEEP - 1:
            replay._read_own(home, names[0])  # the first, used again: now the one used last
    assert sorted(path.name for path in home.iterdir()) == sorted([".b.tmp", names[0], *names[4:]])
    monkeypatch.setattr(replay, "KEEP_BYTES", 3 * len(b"answer"))
    replay._store(names[0], b"answer")
    assert len(list(home.glob("0*"))) == 3


def test_a_relative_cache_home_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    assert replay.directory() == tmp_path / ".cache/tributary/answers"
    monkeypatch.setenv("HOME", "relative")
    assert replay.directory() is None


def test_the_key_holds_the_terminals_and_the_module_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "isatty", lambda fd: fd == 0)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((200, 50)))
    wide = replay._key(["comp", "list"])
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((50, 50)))
    narrow = replay._key(["comp", "list"])
    monkeypatch.setattr(sys, "path", [*sys.path, "/elsewhere"])
    assert len({wide, narrow, replay._key(["comp", "list"])}) == 3


# --- the recording itself, in this process --------------------------------------------------------


def test_a_recording_notes_reads_listings_and_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_tree(tmp_path / "d", {"a.toml": "x = 1\n", "sub/b.toml": "y = 2\n"})
    code = write_tree(tmp_path / "code", {"replay_probe_module.py": "VALUE = 1\n"})
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.delitem(sys.modules, "replay_probe_module", raising=False)
    with inputs.recording() as seen:
        (data / "a.toml").read_bytes()
        list((data / "sub").iterdir())
        assert inputs.is_file(data / "nothing.toml") is False
        inputs.real_path(data / "sub" / ".." / "a.toml")
        __import__("replay_probe_module")  # the import system's reads (and bytecode written) are not input
    checks = seen.checks()
    assert checks is not None
    assert {(kind, Path(path).relative_to(data).as_posix()) for kind, path, _ in checks} == {
        (inputs.FILE, "a.toml"), (inputs.LISTING, "sub"), (inputs.IS_FILE, "nothing.toml"),
        (inputs.REAL_PATH, "sub/../a.toml")}
    assert inputs.unchanged(checks)
    (data / "sub/c.toml").write_text("")
    assert not inputs.unchanged(checks)


def test_an_input_is_noted_as_the_command_reached_it(tmp_path: Path) -> None:
    """What the command read is what is noted, whatever happens to the input while the command runs:
    edited, removed, or replaced by a rename that keeps an older time (no timestamp is trusted)."""
    data = write_tree(tmp_path / "d", {"a.toml": "x = 1\n", "b.toml": "y = 1\n", "c.toml": "z = 1\n",
                                        "old.toml": "z = 2\n"})
    os.utime(data / "old.toml", (0, 0))
    with inputs.recording() as seen:
        for name in ("a.toml", "b.toml", "c.toml"):
            (data / name).read_bytes()
        with pytest.raises(FileNotFoundError):
            (data / "optional.toml").read_bytes()  # never there: its absence is an input like any
    checks = seen.checks()
    assert checks is not None and inputs.unchanged(checks)
    assert (inputs.FILE, str(data / "optional.toml"), None) in checks
    (data / "a.toml").write_text("x = 2\n")  # each change on its own is noticed
    assert not inputs.unchanged(checks)
    (data / "a.toml").write_text("x = 1\n")
    (data / "b.toml").unlink()
    assert not inputs.unchanged(checks)
    write_tree(data, {"b.toml": "y = 1\n"})
    assert inputs.unchanged(checks)
    os.replace(data / "old.toml", data / "c.toml")
    assert not inputs.unchanged(checks)


def test_reading_what_cannot_be_read_again_spoils_a_recording(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with inputs.recording() as seen:
        Path(os.devnull).read_bytes()  # always empty: fine
    assert seen.checks() is not None
    with inputs.recording() as seen:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # a pipe (or a terminal) gives what it gives
    assert seen.checks() is None and "fifo" in str(seen.spoiled)


def test_a_path_that_cannot_be_looked_at_is_described_not_raised(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert isinstance(inputs.observe(inputs.REAL_PATH, str(loop / "x")), str)
    assert str(inputs.observe(inputs.FILE, str(fifo))).startswith("not a regular file")  # not waited on
    assert not inputs.unchanged([("?", str(fifo), None)])  # a kind this tributary does not know


@pytest.mark.parametrize("spoil", [
    lambda where: (where / "out").write_text("x"),
    lambda where: subprocess.run(["true"], check=True),
    lambda where: os.rename(where / "a", where / "b"),
], ids=["a write", "a program", "a rename"])
def test_a_recording_that_changed_something_is_spoiled(tmp_path: Path, spoil) -> None:
    (tmp_path / "a").write_text("")
    with inputs.recording() as seen:
        spoil(tmp_path)
    assert seen.spoiled and seen.checks() is None
