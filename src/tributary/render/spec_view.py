"""A component's spec as rpm would see it, read without the host's rpm.

Render needs two facts from a spec that only macro expansion gives: which files it names (so the
output keeps them) and, for every historical commit rpmautospec walks, which version it builds. The
host's rpm is no judge of either: Debian's rpm 4.18 does not know Fedora's macro packages (``%gometa``,
``%py_provides``...), refuses rpm 4.20's ``BuildSystem:`` tag, and runs ``%(...)`` with dash. So
tributary reads specs with its own model (``tributary.spec.evaluate``), with:

* the component's build options (``build.with``/``without``/``defines``) as macros, as its rendered
  spec loads them;
* ``%(...)`` run by bash in a sandbox (``tools.bash``), remembered per process: the same command in
  the same directory gives the same text, and history walks ask the same ones again and again;
  a historical spec's command runs in an empty directory (see ``version_query``);
* ``%{lua:...}`` run in a sandboxed Lua (``tributary.spec.lua``);
* ``%include`` and ``%{load:...}`` reading files of the component's directory only.

Macros nobody defines here (a Fedora macro package's) stay unexpanded: a name holding one matches
any file (see ``references``), a version holding one is still the same text in every commit.
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Callable
from pathlib import Path

from tributary.config import ResolvedComponent
from tributary.errors import TribError
from tributary.fsutil import is_inside
from tributary.render.macros import build_macros
from tributary.spec.evaluate import SpecEvaluationError, SpecFacts, evaluate
from tributary.spec.lua import LuaEngine
from tributary.spec.macros import Loader, Shell
from tributary.tools import bash, rpmautospec

MAX_INCLUDED_BYTES = 4 * 1024 * 1024
"""Largest file ``%include``/``%{load:}`` may read (spec fragments and macro files are small)."""

_SHELL_CACHE_SIZE = 4096


def component_macros(component: ResolvedComponent) -> dict[str, str]:
    """The macros a component's rendered spec defines for itself (its build options)."""
    return build_macros(component.config)


def read_spec(text: str, directory: Path, macros: dict[str, str], *, arch: str | None = None,
              macro_file: str = "", shell: Shell | None = None, loader: Loader | None = None) -> SpecFacts:
    """Evaluate ``text`` as the spec of the component whose files are in ``directory`` (``shell`` and
    ``loader`` replace running ``%(...)`` there and reading its files)."""
    root = directory.resolve()
    try:
        return evaluate(
            text, macros=macros, macro_file=macro_file, sourcedir=str(root), arch=arch,
            shell=shell or functools.partial(_shell, str(root)), lua=_lua_engine(),
            loader=loader or functools.partial(_load, root),
        )
    except RecursionError:
        raise SpecEvaluationError("the spec's macros expand into one another without end") from None


def version_query(macros: dict[str, str]) -> Callable[[Path, Path], tuple[str, str]]:
    """What rpmautospec asks of each historical spec (``epoch:version`` and the release, with
    ``%autorelease`` reporting its options), answered by our spec model for this component.

    Architecture conditionals are decided for this machine's, as rpm decides them where it runs.
    rpmautospec asks once per commit, and most commits leave the spec as it was (or differ only
    after ``%prep``, which it cuts off), so an answer is remembered by the text asked about, unless
    it read another file of the commit's directory. The directory rpmautospec offers holds the spec
    alone, so a ``%(...)`` that does not name it runs in an empty directory, remembered by its text
    alone (rpm, too, runs it wherever rpmautospec runs, not beside the spec).
    """
    definitions = rpmautospec.history_macros()
    answers: dict[str, tuple[str, str]] = {}

    def query(directory: Path, spec_file: Path) -> tuple[str, str]:
        text = spec_file.read_text(encoding="utf-8", errors="surrogateescape")
        known = answers.get(text)
        if known is not None:
            return known
        root = str(directory.resolve())
        touched = False

        def shell(command: str) -> str | None:
            nonlocal touched
            if root in command:
                touched = True
                return _shell(root, command)
            return _shell(None, command)

        def loader(name: str) -> str | None:
            nonlocal touched
            touched = True
            return _load(Path(root), name)

        facts = read_spec(text, directory, macros, arch=platform.machine(), macro_file=definitions, shell=shell,
                          loader=loader)
        if facts.version is None:
            raise TribError(f"{spec_file.name} has no Version tag")
        epoch_version = f"{facts.epoch}:{facts.version}" if facts.epoch else facts.version
        answer = (epoch_version, facts.release or "")
        if not touched:
            answers[text] = answer
        return answer

    return query


@functools.lru_cache(maxsize=_SHELL_CACHE_SIZE)
def _shell(directory: str | None, command: str) -> str | None:
    try:
        return bash.run_sandboxed(command, Path(directory) if directory is not None else None)
    except TribError:
        return None  # the expansion stays as written: unknown, like any macro we cannot expand


@functools.lru_cache(maxsize=1)
def _lua_engine() -> LuaEngine:
    return LuaEngine()


def _load(root: Path, name: str) -> str | None:
    """A file of the component's directory named by ``%include`` or ``%{load:}`` (absolute, or relative
    to the directory); None when it is missing, too large, or outside the directory."""
    path = Path(name) if os.path.isabs(name) else root / name
    if not is_inside(root, path) or not path.is_file() or path.stat().st_size > MAX_INCLUDED_BYTES:
        return None
    return path.read_text(encoding="utf-8", errors="surrogateescape")
