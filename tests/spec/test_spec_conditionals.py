"""Conditional nesting per line, balance checks, and macro bodies that are not directives."""

from tributary.spec import Directive, directive_of, parse


def test_stacks_nest_and_include_their_own_if_and_endif() -> None:
    doc = parse("a\n%if 1\nb\n%ifarch x86_64\nc\n%else\nd\n%endif\ne\n%endif\nf\n")
    c = doc.conditionals
    assert c.pairs == {1: 9, 3: 7}
    assert [doc.conditional_stack(i) for i in range(len(doc))] == [
        (), (1,), (1,), (1, 3), (1, 3), (1, 3), (1, 3), (1, 3), (1,), (1,), ()
    ]
    assert c.branches == (5,)
    assert c.problem() is None


def test_unbalanced_conditionals_are_reported_with_line_numbers() -> None:
    assert parse("%if 1\nx\n").conditionals.problem() == "unmatched %if at line 1"
    assert parse("x\n%endif\n").conditionals.problem() == "unmatched %endif at line 2"
    unclosed = parse("%if 1\nx\n").conditionals
    assert unclosed.unclosed == (0,) and unclosed.depth(1) == 1


def test_directives_are_case_insensitive_and_may_be_indented() -> None:
    doc = parse("%IF 1\n  %EndIf\n")
    assert doc.conditionals.pairs == {0: 1}


def test_commented_and_macro_body_directives_are_ignored() -> None:
    doc = parse("#%if 1\n%global foo \\\n%if 0\\\nbar\\\n%endif\n%if 1\n%endif\n")
    assert doc.conditionals.pairs == {5: 6}
    assert doc.conditionals.problem() is None


def test_directive_of() -> None:
    assert directive_of("%if 0%{?x}") is Directive.OPEN
    assert directive_of("  %ifnos linux") is Directive.OPEN
    assert directive_of("%elifarch aarch64") is Directive.BRANCH
    assert directive_of("%else") is Directive.BRANCH
    assert directive_of("%endif # done") is Directive.CLOSE
    assert directive_of("%iffy") is None
    assert directive_of("") is None
