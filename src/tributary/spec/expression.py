"""rpm's expression language (``%if`` conditions and ``%[...]``), on text whose macros are expanded.

Integers, ``"strings"`` and ``v"versions"``; ``! - * / + - < > <= >= == != && || ?:`` and parentheses,
with rpm's precedence. ``&&`` and ``||`` give back an operand, as rpm >= 4.16 does. Anything else (an
unexpanded macro left in the text, a stray word) is an :class:`ExpressionError`: the caller then knows
the condition cannot be decided here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Value = int | str

_TOKEN = re.compile(r'\s*(?:(\d+)|v"([^"]*)"|"([^"]*)"|(\|\||&&|==|!=|<=|>=|[-+*/<>!()?:]))')


class ExpressionError(ValueError):
    """The text is not an expression rpm would accept (or holds something unexpanded)."""


class _Version(str):
    """A ``v"..."`` literal: compared by rpm's version ordering, not as text."""


def evaluate(text: str) -> Value:
    """The value of ``text``; ExpressionError when it does not parse."""
    tokens = _tokens(text)
    parser = _Parser(tokens)
    value = parser.ternary()
    if parser.position != len(tokens):
        raise ExpressionError(f"unexpected {tokens[parser.position][1]!r} in {text!r}")
    return value


def truth(value: Value) -> bool:
    return value != 0 if isinstance(value, int) else value != ""


def _tokens(text: str) -> list[tuple[str, Value]]:
    tokens: list[tuple[str, Value]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"cannot read {text[position:].strip()!r}")
        number, version, string, operator = match.groups()
        if number is not None:
            tokens.append(("value", int(number)))
        elif version is not None:
            tokens.append(("value", _Version(version)))
        elif string is not None:
            tokens.append(("value", string))
        else:
            tokens.append(("op", operator))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Value]]):
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> Value | None:
        if self.position < len(self.tokens) and self.tokens[self.position][0] == "op":
            return self.tokens[self.position][1]
        return None

    def _take(self, operator: str) -> bool:
        if self._peek() == operator:
            self.position += 1
            return True
        return False

    def ternary(self) -> Value:
        condition = self._binary(0)
        if self._take("?"):
            yes = self.ternary()
            if not self._take(":"):
                raise ExpressionError("'?' without ':'")
            no = self.ternary()
            return yes if truth(condition) else no
        return condition

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",), ("&&",), ("==", "!=", "<", ">", "<=", ">="), ("+", "-"), ("*", "/"),
    )

    def _binary(self, level: int) -> Value:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while (operator := self._peek()) in self._LEVELS[level]:
            self.position += 1
            right = self._binary(level + 1)
            left = _apply(str(operator), left, right)
        return left

    def _unary(self) -> Value:
        if self._take("!"):
            return int(not truth(self._unary()))
        if self._take("-"):
            value = self._unary()
            if not isinstance(value, int):
                raise ExpressionError("'-' before a string")
            return -value
        if self._take("("):
            value = self.ternary()
            if not self._take(")"):
                raise ExpressionError("unclosed '('")
            return value
        if self.position < len(self.tokens) and self.tokens[self.position][0] == "value":
            self.position += 1
            return self.tokens[self.position - 1][1]
        raise ExpressionError("missing operand")


_COMPARE: dict[str, Callable[[int], bool]] = {
    "==": lambda c: c == 0, "!=": lambda c: c != 0, "<": lambda c: c < 0,
    ">": lambda c: c > 0, "<=": lambda c: c <= 0, ">=": lambda c: c >= 0,
}


def _apply(operator: str, left: Value, right: Value) -> Value:
    if operator == "||":
        return left if truth(left) else right
    if operator == "&&":
        return right if truth(left) else left
    if isinstance(left, int) != isinstance(right, int):
        raise ExpressionError("types of the operands differ")
    if operator in _COMPARE:
        if isinstance(left, _Version) or isinstance(right, _Version):
            order = vercmp(str(left), str(right))
        else:
            order = (left > right) - (left < right)  # type: ignore[operator]
        return int(_COMPARE[operator](order))
    if isinstance(left, str) or isinstance(right, str):
        if operator == "+":
            return str(left) + str(right)
        raise ExpressionError(f"{operator!r} on strings")
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if right == 0:
        raise ExpressionError("division by zero")
    return int(left / right)


_SEGMENT = re.compile(r"(\d+|[A-Za-z]+|~|\^)")


def vercmp(left: str, right: str) -> int:
    """rpm's version ordering: -1, 0 or 1 (``~`` sorts before anything, ``^`` after the base only)."""
    a = _SEGMENT.findall(left)
    b = _SEGMENT.findall(right)
    for index in range(max(len(a), len(b)) + 1):
        x = a[index] if index < len(a) else None
        y = b[index] if index < len(b) else None
        if x == y:
            if x is None:
                return 0
            continue
        if "~" in (x, y):
            return -1 if x == "~" else 1
        if "^" in (x, y):
            if x is None or y is None:
                return -1 if x is None else 1
            return -1 if x == "^" else 1
        if x is None or y is None:
            return -1 if x is None else 1
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        order = ((int(x) > int(y)) - (int(x) < int(y))) if x.isdigit() else ((x > y) - (x < y))
        if order:
            return order
    return 0
