"""``trib repo query -- DNF ARGS``: dnf's read-only commands against the project's repositories (azldev's
``repo query``).

Which repositories, by mode:

* ``--repo-prefix URL`` (repeatable): each URL expanded against a repository-set template (``--template``,
  default ``azl-standard``: the project's ``[resources.rpm-repo-set-templates]``, then azldev's built-in
  ones unless ``--no-default-config``), one sub-repository per template row and, where its subpath
  holds ``$basearch``, per ``--arch``;
* ``--version V``: the default distro's version ``V``'s ``inputs`` (``--use-case rpm-build`` or
  ``image-build``): ``[resources.rpm-repos]`` and ``[resources.rpm-repo-sets]`` they name;
* neither: the channels ``trib repo publish`` wrote (``<output-dir>/repo/<channel>``), tributary's own.

``--no-debuginfo`` and ``--no-srpms`` drop sub-repositories of those kinds. An unreachable one is
skipped by dnf with a warning. dnf's output and exit status are passed on.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Annotated

import typer

from tributary.cli import common
from tributary.config.model import SubrepoKind
from tributary.errors import ConfigError

if TYPE_CHECKING:
    from tributary.config import Project
    from tributary.config.model import RepoSetTemplate
    from tributary.tools.dnf import RepoOption

DEFAULT_TEMPLATE = "azl-standard"
DEFAULT_ARCHES = ("x86_64", "aarch64")


@dataclass(frozen=True)
class SubRepo:
    """One repository dnf is given, and what kind of packages it holds (binary, debug or source)."""

    id: str
    url: str
    kind: SubrepoKind = SubrepoKind.BINARY
    gpgkey: str | None = None


def query(
    ctx: typer.Context,
    dnf_args: Annotated[list[str] | None, typer.Argument(
        metavar="-- DNF_ARGS...", help="dnf's command and arguments, after --: repoquery, list, info, search, "
                                       "repolist, provides...")] = None,
    repo_prefix: Annotated[list[str] | None, typer.Option(
        "--repo-prefix", metavar="URL", help="A published tree's URL prefix (http://, https://, file://); "
                                             "repeatable.")] = None,
    template: Annotated[str, typer.Option(
        "--template", help="The repository-set template each --repo-prefix is expanded against.")] = DEFAULT_TEMPLATE,
    version: Annotated[str | None, typer.Option(
        "--version", help="The default distro's version whose inputs to query.")] = None,
    use_case: Annotated[str, typer.Option(
        "--use-case", help="With --version: rpm-build or image-build inputs.")] = "rpm-build",
    arch: Annotated[list[str] | None, typer.Option(
        "--arch", help="Architectures $basearch stands for (repeatable or comma-separated; default x86_64 and "
                       "aarch64).")] = None,
    no_debuginfo: Annotated[bool, typer.Option("--no-debuginfo", help="Leave out debug sub-repositories.")] = False,
    no_srpms: Annotated[bool, typer.Option("--no-srpms", help="Leave out source sub-repositories.")] = False,
) -> None:
    """Run a read-only dnf command against the project's repositories (see the module's modes).

    Examples:

      trib repo query -- repoquery --available greet

      trib repo query --repo-prefix file:///srv/azl/4.0 -- repoquery --available bash

      trib repo query --version 4.0-stage2 --use-case image-build -- repolist
    """
    from tributary.tools import dnf

    arguments = list(dnf_args or [])
    verb = next((arg for arg in arguments if not arg.startswith("-")), None)
    if verb not in dnf.READ_ONLY_VERBS:
        raise ConfigError(f"repo query runs dnf's read-only commands; {verb or 'no command'!r} is not one",
                          hint=f"one of {', '.join(sorted(dnf.READ_ONLY_VERBS))}, after --")
    if repo_prefix and version is not None:
        raise ConfigError("--repo-prefix and --version choose the repositories in two ways: give one")
    project = common.project(ctx)
    arches = tuple(a for value in (arch or DEFAULT_ARCHES) for a in value.split(",") if a)
    if repo_prefix:
        subrepos = [repo for index, prefix in enumerate(repo_prefix, 1)
                    for repo in expand(f"prefix{index}", prefix, _template(ctx, project, template), arches)]
    elif version is not None:
        subrepos = version_inputs(ctx, project, version, use_case, arches)
    else:
        subrepos = published_channels(project)
    dropped = {kind for kind, wanted in ((SubrepoKind.DEBUG, no_debuginfo), (SubrepoKind.SOURCE, no_srpms)) if wanted}
    chosen = [repo for repo in subrepos if repo.kind not in dropped]
    if not chosen:
        raise ConfigError("no repository to query", hint="publish channels (trib repo publish), or use "
                                                         "--repo-prefix or --version")
    home = dnf.rpm_home(project.work_dir / "repo-query" / "home")
    result = dnf.query([_option(repo) for repo in chosen], arguments, home=home,
                       cachedir=project.work_dir / "repo-query" / "cache", releasever=_releasever(project))
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr or "")
    if result.returncode:
        raise typer.Exit(result.returncode)


def expand(name: str, base_uri: str, template: RepoSetTemplate, arches: tuple[str, ...],
           only: list[str] | None = None, gpgkey: str | None = None) -> list[SubRepo]:
    """One sub-repository per template row (those named in ``only``, when given), per architecture where the
    row's subpath holds ``$basearch``."""
    repos = []
    for row in template.subrepos:
        if only and row.name not in only:
            continue
        for each in (arches if "$basearch" in row.subpath else (None,)):
            url = f"{base_uri.rstrip('/')}/{row.subpath.replace('$basearch', each or '')}"
            repos.append(SubRepo(f"{name}-{row.name}" + (f"-{each}" if each else ""), url, row.kind, gpgkey))
    return repos


def builtin_templates() -> dict[str, RepoSetTemplate]:
    """azldev's built-in repository-set templates (``tributary/config/defaults.toml``)."""
    from tributary.config.model import Resources

    data = tomllib.loads(resources.files("tributary.config").joinpath("defaults.toml").read_text(encoding="utf-8"))
    return Resources.model_validate(data["resources"]).rpm_repo_set_templates


def _template(ctx: typer.Context, project: Project, name: str) -> RepoSetTemplate:
    templates = {**(builtin_templates() if common.settings(ctx).default_config else {}),
                 **project.resources.rpm_repo_set_templates}
    if name not in templates:
        raise ConfigError(f"no repository-set template {name!r}; known: {', '.join(sorted(templates)) or 'none'}",
                          hint="--no-default-config leaves out azldev's built-in ones" if name == DEFAULT_TEMPLATE
                          else None)
    return templates[name]


def version_inputs(ctx: typer.Context, project: Project, version: str, use_case: str,
                   arches: tuple[str, ...]) -> list[SubRepo]:
    """The repositories the default distro's ``version`` lists for ``use_case``."""
    if project.default_distro is None:
        raise ConfigError("--version needs the project's default-distro")
    distro, _, _ = project.default_distro
    _, _, settings = project.distro_version(distro, version)
    if use_case not in ("rpm-build", "image-build"):
        raise ConfigError(f"--use-case {use_case!r}: rpm-build or image-build")
    inputs = settings.inputs
    listed = (inputs.rpm_build if use_case == "rpm-build" else inputs.image_build) if inputs else []
    found = project.resources
    repos: list[SubRepo] = []
    for entry in listed:
        if entry.repo is not None:
            repo = found.rpm_repos.get(entry.repo)
            if repo is None:
                raise ConfigError(f"distro {distro} {version}: input repo {entry.repo!r} is not in resources.rpm-repos")
            if repo.base_uri is None:
                raise ConfigError(f"rpm-repo {entry.repo!r} has only a metalink; dnf is given base URLs here")
            for each in (repo.arches or arches if "$basearch" in repo.base_uri else (None,)):
                url = repo.base_uri.replace("$basearch", each or "")
                repos.append(SubRepo(entry.repo + (f"-{each}" if each else ""), url,
                                     gpgkey=None if repo.disable_gpg_check else repo.gpg_key))
        elif entry.set is not None:
            repo_set = found.rpm_repo_sets.get(entry.set)
            if repo_set is None:
                raise ConfigError(f"distro {distro} {version}: input set {entry.set!r} is not in "
                                  "resources.rpm-repo-sets")
            repos += expand(repo_set.name_prefix or entry.set, repo_set.base_uri,
                            _template(ctx, project, repo_set.template), tuple(repo_set.arches) or arches,
                            only=repo_set.subrepos, gpgkey=None if repo_set.disable_gpg_check else repo_set.gpg_key)
    return repos


def published_channels(project: Project) -> list[SubRepo]:
    """The channels ``trib repo publish`` wrote, each a repository."""
    from tributary.repo.publish import repo_root

    root = repo_root(project)
    channels = sorted(p for p in root.iterdir() if (p / "repodata" / "repomd.xml").is_file()) if root.is_dir() else []
    return [SubRepo(f"trib-{channel.name}", channel.as_uri()) for channel in channels]


def _option(repo: SubRepo) -> RepoOption:
    from tributary.tools.dnf import RepoOption

    return RepoOption(repo.id, repo.url, gpgcheck=repo.gpgkey is not None,
                      gpgkeys=(repo.gpgkey,) if repo.gpgkey else ())


def _releasever(project: Project) -> str:
    return project.default_distro[2].release_ver if project.default_distro else "1"
