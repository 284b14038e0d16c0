"""Closure: every requirement of every package met inside the repositories, or listed with who needs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tributary.repo.closure import (
    NOTHING_PROVIDES,
    Unsatisfied,
    _Parser,
    _tokens,
    check_closure,
)
from tributary.repo.errors import RepoError
from tributary.tools.createrepo import write_repodata


def make_repo(directory: Path, rpm_files: list[Path]) -> Path:
    """A repository of copies of ``rpm_files`` with fresh metadata."""
    directory.mkdir(parents=True)
    hrefs = []
    for path in rpm_files:
        shutil.copyfile(path, directory / path.name)
        hrefs.append(path.name)
    write_repodata(directory, hrefs, revision=1)
    return directory


def requirements(problems: list[Unsatisfied]) -> set[tuple[str, str]]:
    return {(problem.package, problem.requirement) for problem in problems}


def test_a_closed_repository_has_nothing_unmet(rpms, tmp_path):
    repo = make_repo(tmp_path / "base", rpms.pick("hello", "libhello", "hello-devel"))
    assert check_closure([repo]) == []


def test_an_unmet_requirement_is_listed_with_the_package_that_needs_it(rpms, tmp_path):
    repo = make_repo(tmp_path / "base", rpms.pick("hello", "hello-devel"))
    assert check_closure([repo]) == [Unsatisfied("hello-1.0-1.noarch", "libhello >= 1.0", str(repo), NOTHING_PROVIDES)]


def test_names_versions_files_and_rich_dependencies(rpms, tmp_path):
    repo = make_repo(tmp_path / "base", rpms.pick("hello", "libhello", "hello-devel", "needy", "needy-files",
                                                   "needy-rich", "needy-versions"))
    assert requirements(check_closure([repo])) == {
        ("needy-2.0-3.noarch", "libmissing.so.1"),
        ("needy-2.0-3.noarch", "libhello >= 2.0"),
        # /usr/share/libhello/data and the directory /usr/share/libhello are found in filelists
        ("needy-files-2.0-3.noarch", "/usr/share/nowhere"),
        ("needy-rich-2.0-3.noarch", "(frobnicate or greeting-absent)"),
        ("needy-rich-2.0-3.noarch", "(absent-thing if hello)"),
        ("needy-rich-2.0-3.noarch", "(hello with libhello)"),
        ("needy-versions-2.0-3.noarch", "libhello < 1.0"),
        ("needy-versions-2.0-3.noarch", "needy-files > 2.0-3"),
    }


def test_several_repositories_form_one_universe(rpms, tmp_path):
    base = make_repo(tmp_path / "base", rpms.pick("hello", "libhello"))
    sdk = make_repo(tmp_path / "sdk", rpms.pick("hello-devel"))
    assert requirements(check_closure([sdk])) == {("hello-devel-1.0-1.noarch", "hello = 1.0-1")}
    assert check_closure([base, sdk]) == []


def test_external_repositories_provide_but_are_not_checked(rpms, tmp_path, http_server):
    sdk = make_repo(tmp_path / "sdk", rpms.pick("hello-devel"))
    # hello's own "libhello >= 1.0" is unmet in the external repository: not our problem.
    external = make_repo(http_server.root / "ext", rpms.pick("hello"))
    assert check_closure([sdk], external=[external]) == []
    assert check_closure([sdk], external=[external.as_uri()]) == []
    assert check_closure([sdk], external=[f"{http_server.url}/ext"]) == []
    assert http_server.count("/ext/repodata/") >= 2  # repomd.xml and primary came over HTTP


def test_architectures_do_not_serve_each_other(rpms, tmp_path):
    repo = make_repo(tmp_path / "mixed", rpms.pick("archapp.x86_64", "archlib.aarch64"))
    assert requirements(check_closure([repo])) == {("archapp-1-1.x86_64", "archcap")}


def test_source_rpms_build_requirements_are_not_checked(rpms, tmp_path):
    repo = make_repo(tmp_path / "src", rpms.pick("hello.src"))
    assert check_closure([repo]) == []


def test_a_directory_without_metadata_is_an_error(tmp_path):
    with pytest.raises(RepoError, match="not a repository"):
        check_closure([tmp_path])


def test_rich_dependency_parsing():
    assert list(_tokens("(perl(Foo::Bar) >= 1.2 or foo(x86-64))")) == [
        "(", "perl(Foo::Bar)", ">=", "1.2", "or", "foo(x86-64)", ")"]
    assert _Parser("((a or b) and c > 1:2-3)").parse() == (
        "and", ("or", ("dep", "a", None, ""), ("dep", "b", None, "")), ("dep", "c", "GT", "1:2-3"))
    assert _Parser("(a if b else c)").parse() == (
        "if", ("dep", "a", None, ""), ("dep", "b", None, ""), ("dep", "c", None, ""))
    for broken in ("(a or b and c)", "(a or)", "(a", "(a frob b)", "(a or b) c"):
        with pytest.raises(ValueError):
            _Parser(broken).parse()
