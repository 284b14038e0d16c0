"""``%{lua:...}``: rpm's embedded Lua, for specs that compute tags or file names in Lua.

Fedora's bash spec writes its ``PatchN:`` lines from a Lua loop, and rpm's own ``%{sources}`` and
``%{patches}`` are Lua loops over the ``sources``/``patches`` tables. The chunk runs in a sandbox: the
string, table, math and utf8 libraries and the ``rpm`` functions a spec uses to read macros
(``rpm.expand``, ``rpm.define``, ``rpm.undefine``, ``rpm.isdefined``, ``rpm.vercmp``, the ``macros``
table), with no ``io``, ``os`` or ``require``, a bounded number of instructions and bounded memory. A chunk
that needs more fails, and its macro stays unexpanded: the caller then treats the value as unknown.
"""

from __future__ import annotations

import re
from typing import Any

import lupa

from tributary.spec.expression import vercmp
from tributary.spec.macros import MacroExpander

INSTRUCTION_LIMIT = 20_000_000
"""Lua instructions one chunk may run (a spec's loops need thousands; a runaway one is stopped)."""

MEMORY_LIMIT = 64 * 1024 * 1024
"""Bytes the Lua state may hold."""

MAX_NESTING = 8
"""Chunks running inside one another (Lua calling ``rpm.expand`` on a macro that runs Lua again)."""

_RUNNER = """
local debug, load, pcall, select, setmetatable, tostring, table, string, math, utf8 =
      debug, load, pcall, select, setmetatable, tostring, table, string, math, utf8
local safe = {"assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
              "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "xpcall"}
local builtins = {}
for _, name in ipairs(safe) do builtins[name] = _G[name] end
return function(code, limit, rpm_functions, lookup, out, sources, patches, source_nums, patch_nums)
  local env = {string = string, table = table, math = math, utf8 = utf8, unpack = table.unpack,
               sources = sources, patches = patches, source_nums = source_nums, patch_nums = patch_nums}
  for name, value in pairs(builtins) do env[name] = value end
  env.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    out(table.concat(parts, "\\t"))
  end
  env.rpm = rpm_functions
  env.macros = setmetatable({}, {
    __index = function(_, name) return lookup(name) end,
    __newindex = function(_, name, value) rpm_functions.define(name .. " " .. tostring(value)) end,
  })
  local chunk, problem = load(code, "=%{lua}", "t", env)
  if not chunk then return false, problem end
  local hook, mask, count = debug.gethook()
  debug.sethook(function() error("instruction limit reached", 2) end, "", limit)
  local ok, result = pcall(chunk)
  debug.sethook(hook, mask, count)
  return ok, result
end
"""


def _no_attributes(obj: object, name: str, is_setting: bool) -> str:
    raise AttributeError("Python attributes are not reachable from a spec's Lua")


class LuaEngine:
    """One Lua state for the process; each chunk gets a fresh sandbox environment."""

    def __init__(self) -> None:
        self.runtime = lupa.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=True,
                                       attribute_filter=_no_attributes, max_memory=MEMORY_LIMIT)
        self.runner = self.runtime.execute(_RUNNER)
        self.nesting = 0

    def __call__(self, code: str, expander: MacroExpander) -> str | None:
        if self.nesting >= MAX_NESTING:
            return None
        self.nesting += 1
        try:
            return self._run(code, expander)
        finally:
            self.nesting -= 1

    def _run(self, code: str, expander: MacroExpander) -> str | None:
        output: list[str] = []
        sources = _file_table(expander, "SOURCE")
        patches = _file_table(expander, "PATCH")
        functions = self.runtime.table_from({
            "expand": lambda text: expander.expand(str(text)),
            "define": lambda text: expander.define_from_text(str(text), global_=False) and None,
            "undefine": lambda name: expander.undefine(str(name)),
            "isdefined": lambda name: _isdefined(expander, str(name)),
            "vercmp": lambda a, b: vercmp(str(a), str(b)),
        })

        def lookup(name: object) -> str | None:
            macro = expander.lookup(str(name))
            return None if macro is None else expander.expand(macro.body)

        try:
            ok, _ = self.runner(code, INSTRUCTION_LIMIT, functions, lookup, output.append,
                                self.runtime.table_from([path for _, path in sources]),
                                self.runtime.table_from([path for _, path in patches]),
                                self.runtime.table_from([number for number, _ in sources]),
                                self.runtime.table_from([number for number, _ in patches]))
        except (lupa.LuaError, lupa.LuaMemoryError, MemoryError):
            return None
        return "".join(output) if ok else None


_FILE_MACRO = re.compile(r"^(SOURCE|PATCH)(\d+)$")


def _file_table(expander: MacroExpander, kind: str) -> list[tuple[int, str]]:
    """``[(number, path)]`` of the spec's sources or patches so far (rpm's ``sources``/``patches``)."""
    found: list[tuple[int, str]] = []
    for name in list(expander.macros):
        match = _FILE_MACRO.match(name)
        if match and match.group(1) == kind:
            macro = expander.lookup(name)
            if macro is not None:
                found.append((int(match.group(2)), macro.body))
    return sorted(found)


def _isdefined(expander: MacroExpander, name: str) -> Any:
    macro = expander.lookup(name)
    return (macro is not None, macro is not None and macro.options is not None)
