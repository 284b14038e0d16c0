"""A catalogue of bad configurations: each must give one exact ``file:line: message`` and exit 2."""

from __future__ import annotations

import pytest

DISTROS = """\
[distros.up]
default-version = "43"
dist-git-base-uri = "https://dist-git.invalid/$pkg.git"
[distros.up.versions.43]
release-ver = "43"
dist-git-branch = "f43"
"""

CASES: list[tuple[str, dict[str, str], str]] = [
    (
        "unknown-key",
        {"azldev.toml": "[components.a]\nbogus = 1\n"},
        "azldev.toml:2: unknown key 'bogus' in components.a",
    ),
    (
        "unknown-key-did-you-mean",
        {"azldev.toml": "[components.a]\noverlay = []\n"},
        "azldev.toml:2: unknown key 'overlay' in components.a; did you mean 'overlays'?",
    ),
    (
        "unknown-top-level",
        {"azldev.toml": "[component.a]\n"},
        "azldev.toml:1: unknown key 'component' in the top level; did you mean 'components'?",
    ),
    (
        "wrong-type",
        {"azldev.toml": "[components.a]\nbuild = { with = \"tests\" }\n"},
        "azldev.toml:2: components.a.build.with: expected a valid list, got string 'tests'",
    ),
    (
        "bad-enum",
        {"azldev.toml": "[components.a]\nrelease = { calculation = \"autoo\" }\n"},
        "azldev.toml:2: components.a.release.calculation: 'autoo' is not one of 'auto', 'autorelease', 'static', 'manual'; did you mean 'auto'?",
    ),
    (
        "bad-overlay-type",
        {"azldev.toml": "[[components.a.overlays]]\ntype = \"spec-add-tags\"\ntag = \"X\"\nvalue = \"y\"\n"},
        "azldev.toml:2: components.a.overlays[0].type: 'spec-add-tags' is not one of",
    ),
    (
        "invalid-regex",
        {"azldev.toml": "[components.a]\n\n[[components.a.overlays]]\ntype = \"spec-search-replace\"\nregex = \"foo(\"\n"},
        "azldev.toml:3: components.a.overlays[0]: invalid regex 'foo(': missing ), unterminated subpattern at position 3",
    ),
    (
        "overlay-missing-field",
        {"azldev.toml": "[[components.a.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Release\"\n"},
        "azldev.toml:1: components.a.overlays[0]: overlay type 'spec-update-tag' requires value",
    ),
    (
        "overlay-field-not-taken",
        {"azldev.toml": "[[components.a.overlays]]\ntype = \"file-add\"\nfile = \"x.conf\"\nsource = \"x.conf\"\nsection = \"%build\"\n"},
        "azldev.toml:1: components.a.overlays[0]: overlay type 'file-add' does not take section",
    ),
    (
        "overlay-absolute-file",
        {"azldev.toml": "[components.a]\noverlays = [{ type = \"file-remove\", file = \"/etc/passwd\" }]\n"},
        "azldev.toml:2: components.a.overlays[0]: file '/etc/passwd' must be relative to the component's directory",
    ),
    (
        "overlay-dotdot-file",
        {"azldev.toml": "[components.a]\noverlays = [\n  { type = \"file-remove\", file = \"../other/x\" },\n]\n"},
        "azldev.toml:3: components.a.overlays[0]: file '../other/x' must not contain '..'",
    ),
    (
        "snapshot-not-rfc3339",
        {"azldev.toml": DISTROS + "[distros.up.versions.43.default-component-config.spec]\ntype = \"upstream\"\nupstream-distro = { name = \"up\", snapshot = \"2026-02-24\" }\n"},
        "azldev.toml:9: distros.up.versions.43.default-component-config.spec.upstream-distro.snapshot: snapshot '2026-02-24' is not an RFC 3339 timestamp such as 2026-02-24T00:00:00-08:00",
    ),
    (
        "snapshot-on-component",
        {"azldev.toml": DISTROS + "[components.a]\nspec = { type = \"upstream\", upstream-distro = { name = \"up\", snapshot = \"2026-01-01T00:00:00Z\" } }\n"},
        "azldev.toml:8: components.a.spec: snapshot is not allowed on a component",
    ),
    (
        "unknown-distro",
        {"azldev.toml": DISTROS + "[components.a]\nspec = { type = \"upstream\", upstream-distro = { name = \"upp\" } }\n"},
        "azldev.toml:8: unknown distro 'upp'; did you mean 'up'?",
    ),
    (
        "unknown-distro-version",
        {"azldev.toml": DISTROS + "[components.a]\nspec = { type = \"upstream\", upstream-distro = { name = \"up\", version = \"44\" } }\n"},
        "azldev.toml:8: distro 'up' has no version '44'",
    ),
    (
        "unknown-project-default-distro",
        {"azldev.toml": DISTROS + "[project]\ndefault-distro = { name = \"down\" }\n"},
        "azldev.toml:8: unknown distro 'down'",
    ),
    (
        "unknown-group-member",
        {"azldev.toml": "[components.curl]\n[component-groups.g]\ncomponents = [\n  \"curl\",\n  \"crul\",\n]\n"},
        "azldev.toml:5: component group 'g' lists unknown component 'crul'",
    ),
    (
        "duplicate-component",
        {"azldev.toml": "includes = [\"comps/*.toml\"]\n[components.a]\n", "comps/a.toml": "\n[components.a]\n"},
        "comps/a.toml:1: component 'a' is defined twice; first at azldev.toml:2",
    ),
    (
        "include-cycle",
        {"azldev.toml": "includes = [\"a.toml\"]\n", "a.toml": "includes = [\"b.toml\"]\n", "b.toml": "includes = [\"a.toml\"]\n"},
        "b.toml:1: include cycle: azldev.toml -> a.toml -> b.toml -> a.toml",
    ),
    (
        "missing-literal-include",
        {"azldev.toml": "includes = [\n  \"distro/*.toml\",\n  \"base/project.toml\",\n]\n"},
        "azldev.toml:3: included file 'base/project.toml' does not exist",
    ),
    (
        "toml-syntax",
        {"azldev.toml": "[components.a]\nrelease = { calculation = }\n"},
        "azldev.toml:2: TOML syntax error: Invalid value (column 27)",
    ),
    (
        "check-skip-without-reason",
        {"azldev.toml": "[components.a.build.check]\nskip = true\n"},
        "azldev.toml:1: components.a.build.check: check.skip = true needs skip_reason",
    ),
    (
        "commit-not-hex",
        {"azldev.toml": "[components.a.spec]\ntype = \"upstream\"\nupstream-commit = \"main\"\n"},
        "azldev.toml:3: components.a.spec.upstream-commit: upstream-commit 'main' must be 7 to 40 hexadecimal digits",
    ),
    (
        "upstream-name-needs-type",
        {"azldev.toml": "[components.a.spec]\ntype = \"local\"\npath = \"a.spec\"\nupstream-name = \"b\"\n"},
        "azldev.toml:1: components.a.spec: upstream-name needs type = 'upstream' in the same table",
    ),
    (
        "local-without-path",
        {"azldev.toml": "[components.a]\nspec = { type = \"local\" }\n"},
        "azldev.toml:2: components.a.spec: a local spec needs path",
    ),
    (
        "spec-path-escapes",
        {"azldev.toml": "[components.a]\nspec = { type = \"local\", path = \"../../etc/a.spec\" }\n"},
        "azldev.toml:2: path '../../etc/a.spec' leads outside the project",
    ),
    (
        "metadata-bad-category",
        {"azldev.toml": "[[components.a.overlays]]\ntype = \"spec-set-tag\"\ntag = \"Vendor\"\nvalue = \"Us\"\nmetadata = { category = \"branding\", upstream-status = \"inapplicable\" }\n"},
        "azldev.toml:5: components.a.overlays[0].metadata.category: 'branding' is not one of",
    ),
    (
        "backport-without-commit",
        {"azldev.toml": "[[components.a.overlays]]\ntype = \"spec-set-tag\"\ntag = \"Vendor\"\nvalue = \"Us\"\nmetadata = { category = \"upstream-backport\", upstream-status = \"upstreamed\" }\n"},
        "azldev.toml:5: components.a.overlays[0].metadata: category 'upstream-backport' needs at least one entry in commits",
    ),
    (
        "md5-refused",
        {"azldev.toml": "[[components.a.source-files]]\nfilename = \"a.tgz\"\nhash = \"abc\"\nhash-type = \"MD5\"\norigin = { type = \"download\", uri = \"https://x.invalid/a.tgz\" }\n"},
        "azldev.toml:4: components.a.source-files[0].hash-type: MD5 is refused; use SHA256 or SHA512",
    ),
    (
        "output-dir-dot",
        {"azldev.toml": "[project]\noutput-dir = \".\"\n"},
        "azldev.toml:2: output-dir '.' must be a directory inside the project",
    ),
    (
        "unset-unknown-key",
        {"azldev.toml": "[components.a]\nunset = [\"build.chek\"]\n"},
        "azldev.toml:2: components.a.unset: unset: 'build.chek' is not a component setting (try e.g. 'build.check.skip')",
    ),
    (
        "unknown-test-suite",
        {"azldev.toml": "[images.vm]\ntests = { test-suites = [{ name = \"smoke\" }] }\n"},
        "azldev.toml:2: image 'vm' names unknown test suite 'smoke'",
    ),
    (
        "bad-distro-default-version",
        {"azldev.toml": DISTROS.replace('default-version = "43"', 'default-version = "4"')},
        "azldev.toml:2: distro 'up': default-version '4' is not among its versions; did you mean '43'?",
    ),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_configuration_is_one_exact_line(make_project, trib, files: dict[str, str], expected: str) -> None:
    root = make_project(files)
    result = trib("comp", "list", "-a", cwd=root)
    assert result.code == 2, result
    first = result.err.splitlines()[0]
    assert first.startswith(f"error: {expected}"), first
    assert "Traceback" not in result.err


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 20


def test_verbose_shows_traceback(make_project, trib) -> None:
    root = make_project({"azldev.toml": "[components.a]\nbogus = 1\n"})
    result = trib("-v", "comp", "list", "-a", cwd=root)
    assert result.code == 2
    assert "Traceback" in result.err
