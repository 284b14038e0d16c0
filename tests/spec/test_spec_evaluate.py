"""tributary's reading of rpm's macro language and spec structure (spec.macros, spec.evaluate, spec.lua)
and the sandboxed bash that runs %(...) (tools.bash)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tributary.render.release_bump import ReleaseBumpError, bump_release
from tributary.spec.evaluate import SpecEvaluationError, evaluate
from tributary.spec.expression import ExpressionError, vercmp
from tributary.spec.expression import evaluate as expr
from tributary.spec.lua import LuaEngine
from tributary.spec.macros import MacroExpander
from tributary.tools import bash
from tributary.tools.rpmautospec import history_macros


def test_expressions_follow_rpms_precedence_and_types() -> None:
    assert expr("1 + 2 * 3 == 7 && !0") == 1
    assert expr('"a" < "b" || 0') == 1
    assert expr("0 || 5") == 5
    assert expr('1 ? "yes" : "no"') == "yes"
    assert expr('v"1.10" > v"1.9"') == 1
    with pytest.raises(ExpressionError):
        expr("%{unknown} == 1")
    with pytest.raises(ExpressionError):
        expr('1 == "1"')


@pytest.mark.parametrize(("left", "right", "order"), [
    ("1.0", "1.0", 0), ("1.0", "1.0.1", -1), ("1.10", "1.9", 1), ("1.0~rc1", "1.0", -1),
    ("1.0^git1", "1.0", 1), ("1.0^git1", "1.0.1", -1), ("1a", "1", 1), ("2", "1a", 1), ("01", "1", 0),
])
def test_vercmp_orders_versions_as_rpm(left: str, right: str, order: int) -> None:
    assert vercmp(left, right) == order
    assert vercmp(right, left) == -order


def test_macros_conditional_forms_and_lazy_definitions() -> None:
    m = MacroExpander()
    m.define("later", "A")
    m.expand("%define lazy %{later}\n%global eager %{later}")
    m.undefine("later")
    m.define("later", "B")
    assert m.expand("%{lazy}|%{eager}|%{?later:yes}|%{!?missing:no}|%{?missing}|%missing|%%") == "B|A|yes|no||%missing|%"
    assert m.expand("%{expand:%%global built %{later}2}%{built}") == "B2"
    assert m.expand("%{lower:ABC}%{basename:/a/b.tar.gz}%{len:four}%[2*3]") == "abcb.tar.gz46"


def test_parametric_macros_take_options_and_arguments() -> None:
    m = MacroExpander()
    m.load_macro_file(history_macros())
    assert m.expand("%{autorelease -e pre1 -p}") == "Epre1_S_P1_B"
    assert m.expand("%autorelease -b 5") == "E_S_P0_B5"
    m.expand("%define show(ab:) [%{-a}|%{-b*}|%1|%*|%#]")
    assert m.expand("%show -a -b x one two") == "[-a|x|one|one two|2]"


def test_a_definition_whose_braced_body_spans_lines_is_read_whole() -> None:
    """rpmautospec writes %autorelease as a %define whose %{lua:...} body runs over four lines; rpm reads
    it to the closing brace, and so must we (the rendered spec's Release is then a number)."""
    text = (
        "%define autorelease(e:s:pb:n) %{?-p:0.}%{lua:\n"
        "    release_number = 4;\n"
        '    base_release_number = tonumber(rpm.expand("%{?-b*}%{!?-b:1}"));\n'
        "    print(release_number + base_release_number - 1);\n"
        "}%{?-e:.%{-e*}}%{?-s:.%{-s*}}%{!?-n:%{?dist}}\n"
        "%global plain 1\n"
        "Name: x\nVersion: %{plain}.0\nRelease: %autorelease\n"
    )
    facts = evaluate(text, lua=LuaEngine())
    assert (facts.version, facts.release) == ("1.0", "4")
    assert evaluate(text.replace("Release: %autorelease", "Release: %{autorelease -b 10 -e rc1}"),
                    lua=LuaEngine()).release == "13.rc1"


def test_conditionals_decided_or_both_branches_read(tmp_path: Path) -> None:
    spec = (
        "%bcond_without docs\nName: n\n"
        "%if %{with docs}\nSource1: docs.tar\n%else\nSource2: nodocs.tar\n%endif\n"
        "%if 0%{?rhel} >= 9\nSource3: rhel.tar\n%elif %{unknown_macro}\nSource4: maybe.tar\n%else\nSource5: else.tar\n%endif\n"
        "%ifarch aarch64\nSource6: arm.tar\n%endif\n"
    )
    assert sorted(evaluate(spec).sources.values()) == ["arm.tar", "docs.tar", "else.tar", "maybe.tar"]
    assert sorted(evaluate(spec, arch="x86_64").sources.values()) == ["docs.tar", "else.tar", "maybe.tar"]
    assert sorted(evaluate(spec, macros={"_without_docs": "1", "rhel": "9"}, arch="x86_64").sources.values()) == [
        "nodocs.tar", "rhel.tar"]


def test_include_reads_the_components_files_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "patches.inc").write_text("Patch7: seven.patch\n")

    def loader(name: str) -> str | None:
        path = tmp_path / Path(name).name
        return path.read_text() if path.is_file() else None

    facts = evaluate("Name: x\n%include %{_sourcedir}/patches.inc\n", sourcedir=str(tmp_path), loader=loader)
    assert facts.patches == {7: "seven.patch"} and facts.included == [f"{tmp_path}/patches.inc"]
    with pytest.raises(SpecEvaluationError, match="%include missing.inc: file not found"):
        evaluate("Name: x\n%include missing.inc\n", loader=loader)


def test_lua_is_sandboxed_and_bounded() -> None:
    m = MacroExpander(lua=LuaEngine())
    m.define("v", "3")
    assert m.expand("%{lua: print(tonumber(rpm.expand('%{v}')) + 1)}") == "4"
    assert m.expand("%{lua: rpm.define('made 7')}%{made}") == "7"
    for chunk in ("os.execute('true')", "io.open('/etc/passwd')", "require('os')", "print(python)",
                  "while true do end"):
        text = f"%{{lua: {chunk}}}"
        assert m.expand(text) in (text, "nil"), chunk


def test_bash_runs_bashisms_in_a_read_only_sandbox_and_ignores_the_exit_status(tmp_path: Path) -> None:
    (tmp_path / "VERSION").write_text("1.2\n")
    assert bash.run_sandboxed("c=abcdef0123; echo ${c:0:7}; cat VERSION; exit 3", tmp_path) == "abcdef0\n1.2\n"
    out = bash.run_sandboxed("touch VERSION.new /usr/x 2>&1 | wc -l; id -u; ls /root /home 2>/dev/null | wc -l", tmp_path)
    assert out.split() == ["2", str(bash.NOBODY), "0"]
    assert not (tmp_path / "VERSION.new").exists()


def test_release_bump_rules() -> None:
    assert bump_release("Name: a\nRelease:\t5%{?dist}\n", 2) == "Name: a\nRelease: 7%{?dist}\n"
    with pytest.raises(ReleaseBumpError) as raised:
        bump_release("Name: a\n%global rel %{lua: print(1)}\nRelease: %{rel}\n", 1)
    assert raised.value.index == 1
