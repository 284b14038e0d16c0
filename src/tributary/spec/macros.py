"""rpm's macro language, enough of it to read what a spec names and which version it builds, without rpm.

Render must not depend on the host's rpm knowing the upstream distribution's macros (Debian's rpm 4.18
knows neither Fedora's macro packages nor rpm 4.20's tags, and runs ``%(...)`` with dash). This expander
implements the language itself: ``%define``/``%global``/``%undefine``, ``%{?x:...}``/``%{!?x:...}``,
parametric macros with options (``%{-x*}``, ``%1``, ``%*``, ``%#``), ``%[...]`` expressions, ``%bcond*``
and ``%{with}``, the common built-ins (``expand``, ``lower``, ``basename``, ``load``...), ``%(...)``
through a shell the caller supplies (render runs bash in a sandbox) and ``%{lua:...}`` through an
optional Lua engine.

A macro nobody defined stays as written, exactly as rpm leaves it; so does a ``%(...)`` or
``%{lua:...}`` that cannot run. Callers look for a leftover ``%`` to know a value is not fully known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tributary.spec import expression

MAX_DEPTH = 64
"""Nesting of macro expansions before the expander gives up (rpm stops a runaway recursion too)."""

Shell = Callable[[str], str | None]
"""Runs a ``%(...)`` body and returns its standard output, or None when it could not run."""

Lua = Callable[[str, "MacroExpander"], str | None]
"""Runs a ``%{lua:...}`` body (its ``print`` output is the expansion), or None when it could not."""

Loader = Callable[[str], str | None]
"""Reads a file named by ``%{load:...}`` or ``%include``; None when it is not there (or not allowed)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = re.compile(r"\*\*|\*|#|-[A-Za-z](?:\*)?|[0-9]+")
_DEFINITION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)(\(([^)]*)\))?\s*(.*)", re.DOTALL)


@dataclass(frozen=True)
class Macro:
    """A definition: its body as written and, for a parametric macro, its getopt options."""

    body: str
    options: str | None = None


@dataclass
class MacroExpander:
    """One macro context: the definitions made so far and the ways to run shell, Lua and file loads."""

    macros: dict[str, list[Macro]] = field(default_factory=dict)
    shell: Shell | None = None
    lua: Lua | None = None
    loader: Loader | None = None
    loaded: list[str] = field(default_factory=list)
    """Files read through ``%{load:...}``, as named (after expansion)."""

    # -- definitions ------------------------------------------------------------------------

    def define(self, name: str, body: str, options: str | None = None) -> None:
        self.macros.setdefault(name, []).append(Macro(body, options))

    def undefine(self, name: str) -> None:
        stack = self.macros.get(name)
        if stack:
            stack.pop()
            if not stack:
                del self.macros[name]

    def lookup(self, name: str) -> Macro | None:
        stack = self.macros.get(name)
        return stack[-1] if stack else None

    def is_defined(self, name: str) -> bool:
        return name in self.macros

    def define_from_text(self, text: str, *, global_: bool) -> str | None:
        """``%define``/``%global`` with ``text`` as its argument; the name defined, or None if malformed.

        ``%global`` expands the body now, ``%define`` when the macro is used, as in rpm.
        """
        match = _DEFINITION.match(text)
        if match is None:
            return None
        name, _, options, body = match.groups()
        body = _strip_body(body)
        if global_:
            body = self.expand(body)
        self.define(name, body, options)
        return name

    def load_macro_file(self, text: str) -> None:
        """Definitions from a macros file: ``%name body`` lines, ``\\`` continuing a body."""
        for logical in _logical_lines(text):
            stripped = logical.lstrip()
            if stripped.startswith("%") and not stripped.startswith("%%"):
                self.define_from_text(stripped[1:], global_=False)

    # -- expansion --------------------------------------------------------------------------

    def expand(self, text: str, depth: int = 0) -> str:
        """``text`` with every macro we can expand expanded."""
        if "%" not in text:
            return text
        if depth > MAX_DEPTH:
            return text
        out: list[str] = []
        position = 0
        length = len(text)
        while position < length:
            percent = text.find("%", position)
            if percent < 0:
                out.append(text[position:])
                break
            out.append(text[position:percent])
            replacement, position = self._expand_at(text, percent, depth)
            out.append(replacement)
        return "".join(out)

    def _expand_at(self, text: str, start: int, depth: int) -> tuple[str, int]:
        """Expand the macro starting with the ``%`` at ``start``; return its text and where it ends."""
        following = text[start + 1 : start + 2]
        if following == "%":
            return "%", start + 2
        if following in ("{", "(", "["):
            close = matching_close(text, start + 1)
            if close < 0:
                return text[start:], len(text)
            inner = text[start + 2 : close]
            original = text[start : close + 1]
            if following == "{":
                return self._braced(inner, original, depth), close + 1
            if following == "(":
                return self._shell(inner, original, depth), close + 1
            return self._expression(inner, original, depth), close + 1
        # A bare %name, %?name, %!?name, or a parameter inside a parametric macro (%1, %*, %-x...).
        flags_end = start + 1
        while flags_end < len(text) and text[flags_end] in "!?":
            flags_end += 1
        flags = text[start + 1 : flags_end]
        match = _NAME.match(text, flags_end) or _SPECIAL.match(text, flags_end)
        if match is None:
            return "%", start + 1
        name = match.group(0)
        end = match.end()
        if not flags and name in _LINE_BUILTINS:
            line_end = _builtin_end(text, end)
            return self._line_builtin(name, text[end:line_end], depth), line_end
        macro = self.lookup(name)
        if "?" in flags:
            defined = macro is not None
            if ("!" in flags) == defined:
                return "", end
            return ("" if "!" in flags else self._use(name, macro, None, depth)), end
        if macro is None:
            return ("" if name.startswith("-") else text[start:end]), end  # an option not given is empty
        if macro.options is not None:
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            arguments = text[end:line_end]
            return self._call(name, macro, self.expand(arguments, depth + 1), depth), line_end
        return self._use(name, macro, None, depth), end

    def _use(self, name: str, macro: Macro | None, arguments: str | None, depth: int) -> str:
        if macro is None:
            return ""
        if macro.options is not None:
            return self._call(name, macro, arguments or "", depth)
        return self.expand(macro.body, depth + 1)

    def _braced(self, inner: str, original: str, depth: int) -> str:
        flags_end = 0
        while flags_end < len(inner) and inner[flags_end] in "!?":
            flags_end += 1
        flags = inner[:flags_end]
        match = _NAME.match(inner, flags_end) or _SPECIAL.match(inner, flags_end)
        if match is None:
            return original
        name = match.group(0)
        rest = inner[match.end() :]
        argument: str | None = None
        spaced: str | None = None
        if rest.startswith(":"):
            argument = rest[1:]
        elif rest[:1].isspace():
            spaced = rest.strip()
        elif rest:
            return original
        if "?" in flags:
            defined = self.is_defined(name)
            if ("!" in flags) == defined:
                return ""
            if argument is not None:
                return self.expand(argument, depth + 1)
            return "" if "!" in flags else self._use(name, self.lookup(name), None, depth)
        if name in _BUILTINS and not self.is_defined(name):
            value = argument if argument is not None else spaced
            result = _BUILTINS[name](self, value, depth)
            return original if result is None else result
        macro = self.lookup(name)
        if macro is None:
            return "" if name.startswith("-") else original  # an option not given is empty
        if macro.options is not None:
            return self._call(name, macro, self.expand(spaced or argument or "", depth + 1), depth)
        return self.expand(macro.body, depth + 1)

    def _call(self, name: str, macro: Macro, arguments: str, depth: int) -> str:
        """A parametric macro: options and arguments become ``%-x``, ``%-x*``, ``%1``..., ``%*``, ``%#``."""
        words = arguments.split()
        options = macro.options or ""
        scoped: dict[str, str] = {"0": name, "**": arguments.strip()}
        positional: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            if word == "--":
                positional += words[index + 1 :]
                break
            if word.startswith("-") and len(word) > 1 and word[1] in options and word[1] not in ":-":
                letter = word[1]
                takes = options[options.index(letter) + 1 : options.index(letter) + 2] == ":"
                if takes:
                    value = word[2:] or (words[index + 1] if index + 1 < len(words) else "")
                    if not word[2:]:
                        index += 1
                    scoped[f"-{letter}"] = f"-{letter} {value}"
                    scoped[f"-{letter}*"] = value
                else:
                    scoped[f"-{letter}"] = f"-{letter}"
            else:
                positional.append(word)
            index += 1
        scoped["*"] = " ".join(positional)
        scoped["#"] = str(len(positional))
        for number, word in enumerate(positional, start=1):
            scoped[str(number)] = word
        for key, value in scoped.items():
            self.define(key, value)
        try:
            return self.expand(macro.body, depth + 1)
        finally:
            for key in scoped:
                self.undefine(key)

    def _shell(self, inner: str, original: str, depth: int) -> str:
        if self.shell is None:
            return original
        command = self.expand(inner, depth + 1)
        if "%" in _without_escapes(command) and _unexpanded(command):
            return original  # the command itself is not known; running it would say nothing true
        output = self.shell(command)
        return original if output is None else output.rstrip("\n")

    def _expression(self, inner: str, original: str, depth: int) -> str:
        try:
            return str(expression.evaluate(self.expand(inner, depth + 1)))
        except expression.ExpressionError:
            return original

    def _line_builtin(self, name: str, rest: str, depth: int) -> str:
        """``%define``/``%global``/``%undefine``/``%bcond*``: they take the rest of the line."""
        if name in ("define", "global"):
            self.define_from_text(rest, global_=name == "global")
        elif name == "undefine":
            self.undefine(rest.strip())
        else:
            words = self.expand(rest, depth + 1).split()
            if words:
                self._bcond(name, words)
        return ""

    def _bcond(self, kind: str, words: list[str]) -> None:
        feature = words[0]
        if kind == "bcond_with":
            enabled = self.is_defined(f"_with_{feature}")
        elif kind == "bcond_without":
            enabled = not self.is_defined(f"_without_{feature}")
        else:  # %bcond NAME DEFAULT (rpm >= 4.17.1)
            try:
                default = expression.truth(expression.evaluate(" ".join(words[1:]) or "0"))
            except expression.ExpressionError:
                default = False
            enabled = not self.is_defined(f"_without_{feature}") if default else self.is_defined(f"_with_{feature}")
        if enabled:
            self.define(f"with_{feature}", "1")


_LINE_BUILTINS = frozenset({"define", "global", "undefine", "bcond_with", "bcond_without", "bcond"})


_OPENING = re.compile(r"(?<!%)%[{(\[]")


def _builtin_end(text: str, start: int) -> int:
    """Where a line builtin's argument (``%define`` and the like) ends: at the end of its line, unless a
    ``%{``, ``%(`` or ``%[`` opened there closes on a later line. rpm reads such a body across lines, and
    rpmautospec writes its ``%autorelease`` that way (a ``%{lua:...}`` block over four lines)."""
    end = _line_end(text, start)
    scan = start
    while (opening := _OPENING.search(text, scan, end)) is not None:
        close = matching_close(text, opening.start() + 1)
        if close < 0:
            return len(text)
        if close >= end:
            end = _line_end(text, close)
        scan = close + 1
    return end


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _strip_body(body: str) -> str:
    """A definition's body as rpm stores it: trimmed, a ``\\`` before a newline dropped."""
    return body.strip().replace("\\\n", "\n")


def matching_close(text: str, opening: int) -> int:
    """Index of the bracket closing the one at ``opening`` (``{``, ``(`` or ``[``), or -1."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    open_char = text[opening]
    close_char = pairs[open_char]
    depth = 0
    index = opening
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            index += 2
            continue
        if char == open_char:
            depth += 1
        elif char == close_char:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for line in text.split("\n"):
        if line.endswith("\\"):
            pending += line[:-1] + "\n"
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _without_escapes(text: str) -> str:
    return text.replace("%%", "")


_LEFTOVER = re.compile(r"%(?:\{|\(|\[|[A-Za-z_])")


def _unexpanded(text: str) -> bool:
    """Whether ``text`` still holds a macro (after ``%%`` escapes are set aside)."""
    return bool(_LEFTOVER.search(_without_escapes(text)))


def unexpanded(text: str) -> bool:
    """Whether an expanded value still holds a macro nobody could expand."""
    return _unexpanded(text)


# --- built-ins ----------------------------------------------------------------------------------

Builtin = Callable[[MacroExpander, str | None, int], str | None]


def _expand_arg(expander: MacroExpander, value: str | None, depth: int) -> str:
    return expander.expand(value or "", depth + 1)


def _defined(negate: bool) -> Builtin:
    def builtin(expander: MacroExpander, value: str | None, depth: int) -> str | None:
        name = _expand_arg(expander, value, depth).strip()
        return str(int(expander.is_defined(name) != negate))

    return builtin


def _with(negate: bool) -> Builtin:
    def builtin(expander: MacroExpander, value: str | None, depth: int) -> str | None:
        name = _expand_arg(expander, value, depth).strip()
        return str(int(expander.is_defined(f"with_{name}") != negate))

    return builtin


def _text(function: Callable[[str], str]) -> Builtin:
    def builtin(expander: MacroExpander, value: str | None, depth: int) -> str | None:
        expanded = _expand_arg(expander, value, depth)
        return None if _unexpanded(expanded) else function(expanded)

    return builtin


def _load(expander: MacroExpander, value: str | None, depth: int) -> str | None:
    name = _expand_arg(expander, value, depth).strip()
    if expander.loader is None or _unexpanded(name):
        return None
    text = expander.loader(name)
    if text is None:
        return None
    expander.loaded.append(name)
    expander.load_macro_file(text)
    return ""


def _lua(expander: MacroExpander, value: str | None, depth: int) -> str | None:
    if expander.lua is None:
        return None
    return expander.lua(value or "", expander)


def _expression_builtin(expander: MacroExpander, value: str | None, depth: int) -> str | None:
    try:
        return str(expression.evaluate(_expand_arg(expander, value, depth)))
    except expression.ExpressionError:
        return None


def _source_path(kind: str) -> Builtin:
    def builtin(expander: MacroExpander, value: str | None, depth: int) -> str | None:
        number = _expand_arg(expander, value, depth).strip()
        return expander.expand(f"%{{{kind}{number}}}", depth + 1) if number.isdigit() else None

    return builtin


def _url2path(url: str) -> str:
    match = re.match(r"^[a-z]+://[^/]*(/.*)$", url)
    return match.group(1) if match else url


def _macrobody(expander: MacroExpander, value: str | None, depth: int) -> str | None:
    macro = expander.lookup(_expand_arg(expander, value, depth).strip())
    return None if macro is None else macro.body


def _suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lstrip(".")


_BUILTINS: dict[str, Builtin] = {
    "expand": lambda expander, value, depth: expander.expand(_expand_arg(expander, value, depth), depth + 1),
    "quote": lambda expander, value, depth: value or "",
    "lower": _text(str.lower),
    "upper": _text(str.upper),
    "len": _text(lambda text: str(len(text))),
    "basename": _text(lambda text: text.rsplit("/", 1)[-1]),
    "dirname": _text(lambda text: text.rsplit("/", 1)[0] if "/" in text else text),
    "suffix": _text(_suffix),
    "shrink": _text(lambda text: " ".join(text.split())),
    "url2path": _text(_url2path),
    "u2p": _text(_url2path),
    "shescape": _text(lambda text: "'" + text.replace("'", "'\\''") + "'"),
    "defined": _defined(negate=False),
    "undefined": _defined(negate=True),
    "with": _with(negate=False),
    "without": _with(negate=True),
    "load": _load,
    "lua": _lua,
    "expr": _expression_builtin,
    "macrobody": _macrobody,
    "S": _source_path("SOURCE"),
    "P": _source_path("PATCH"),
    # Messages and environment: nothing a file list or a version depends on.
    "echo": lambda expander, value, depth: "",
    "warn": lambda expander, value, depth: "",
    "error": lambda expander, value, depth: "",
    "verbose": lambda expander, value, depth: "0",
    "dnl": lambda expander, value, depth: "",
    "getenv": lambda expander, value, depth: "",
    "getncpus": lambda expander, value, depth: "1",
    "trace": lambda expander, value, depth: "",
    "dump": lambda expander, value, depth: "",
}
