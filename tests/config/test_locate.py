"""The lazy line finder: every construct tomllib accepts puts each key on the line it was written."""

from __future__ import annotations

import tomllib

from tributary.config.locate import scan

DOCUMENT = '''\
# a comment
top = "a \\"quoted\\" # not a comment" # a comment
"quoted key".inner = 'literal # not a comment'

[ spaced . "dotted key" ]  # a comment
value = [
  # a comment inside an array
  "first",
  { name = "second", lines = ["x", "y"] },
]
multi = """
[not.a.table]
"""

[[overlays]]
type = "spec-add-tag"

[[overlays]]
type = "file-add"
text = \'\'\'
[also.not.a.table]\'\'\'

[components.curl]
spec = { type = "upstream", upstream-commit = "abc" }
[components.curl.build]
check = { skip = true }
'''


def test_every_key_is_found_on_its_own_line() -> None:
    tomllib.loads(DOCUMENT)  # the document is valid TOML
    lines = scan(DOCUMENT)
    assert lines[("top",)] == 2
    assert lines[("quoted key", "inner")] == 3
    assert lines[("spaced", "dotted key")] == 5
    assert lines[("spaced", "dotted key", "value", 0)] == 8
    assert lines[("spaced", "dotted key", "value", 1, "lines")] == 9
    assert lines[("spaced", "dotted key", "multi")] == 11
    assert lines[("overlays", 0, "type")] == 16
    assert lines[("overlays", 1)] == 18
    assert lines[("overlays", 1, "text")] == 20
    assert lines[("components", "curl", "spec", "upstream-commit")] == 24
    assert lines[("components", "curl", "build", "check", "skip")] == 26
    assert not any(key[0] in ("not", "also") for key in lines)
