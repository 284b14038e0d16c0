"""Includes, merge rules and inheritance, as the azldev reference describes them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from tributary.config import load_project
from tributary.config.schema import config_schema
from tributary.errors import ConfigError

BASE = {
    "azldev.toml": """
        includes = ["distro/*.distro.toml", "base/project.toml"]
        [project]
        description = "root"
        default-distro = { name = "down", version = "1.0" }
        """,
    "distro/up.distro.toml": """
        [distros.up]
        default-version = "43"
        dist-git-base-uri = "https://git.invalid/$pkg.git"
        repos = [{ base-uri = "https://a.invalid" }, { base-uri = "https://b.invalid" }]
        [distros.up.versions.43]
        release-ver = "43"
        dist-git-branch = "f43"
        """,
    "distro/zz-override.distro.toml": """
        [distros.up]
        repos = [{ base-uri = "https://mirror.invalid" }]
        """,
    "distro/down.distro.toml": """
        [distros.down]
        default-version = "1.0"
        [distros.down.versions."1.0"]
        release-ver = "1.0"
        [distros.down.versions."1.0".default-component-config]
        spec = { type = "upstream", upstream-distro = { name = "up", version = "43", snapshot = "2026-02-24T00:00:00-08:00" } }
        build = { with = ["distro"] }
        overlays = [{ type = "spec-set-tag", tag = "Vendor", value = "Down" }]
        """,
    "base/project.toml": """
        includes = ["comps/**/*.comp.toml", "comps/components.toml", "nothing/*.toml"]
        [project]
        description = ""
        output-dir = "../out"
        [default-component-config]
        build = { with = ["project"], check = { skip = true, skip_reason = "project-wide" } }
        [component-groups.b-group]
        components = ["curl"]
        default-component-config = { build = { with = ["b"] } }
        [component-groups.a-group]
        components = ["curl", "bash"]
        default-component-config = { build = { with = ["a"], defines = { x = "1" } } }
        """,
    "base/comps/components.toml": """
        [components.bash]
        [components.zlib]
        """,
    "base/comps/curl/curl.comp.toml": """
        [components.curl]
        build = { with = ["own"], defines = { y = "2" }, check = { skip = false } }
        overlay-files = ["overlays/*.overlay.toml"]
        [[components.curl.overlays]]
        type = "spec-add-tag"
        tag = "Provides"
        value = "curl-down"
        """,
    "base/comps/curl/overlays/0002-second.overlay.toml": """
        [metadata]
        category = "azl-branding-policy"
        upstream-status = "inapplicable"
        [[overlays]]
        type = "file-add"
        file = "extra.conf"
        source = "extra.conf"
        """,
    "base/comps/curl/overlays/0001-first.overlay.toml": """
        [metadata]
        category = "azl-temp-workaround"
        upstream-status = "unknown"
        [[overlays]]
        type = "spec-remove-tag"
        tag = "BuildRequires"
        value = "x"
        """,
    "base/comps/curl/overlays/extra.conf": "x = 1\n",
}


@pytest.fixture
def project(make_project):
    return load_project(make_project(BASE))


def test_includes_depth_first_parent_before_child(project) -> None:
    names = [str(f.path.relative_to(project.root)) for f in project.files]
    assert names == [
        "azldev.toml",
        "distro/down.distro.toml",
        "distro/up.distro.toml",
        "distro/zz-override.distro.toml",
        "base/project.toml",
        "base/comps/curl/curl.comp.toml",
        "base/comps/components.toml",
    ]


def test_project_fields_override_only_when_non_empty(project) -> None:
    assert project.settings.description == "root"  # "" in a later file does not clear it
    assert project.output_dir == project.root / "out"  # relative to the file that wrote it
    assert project.rendered_specs_dir == project.root / "specs"  # azldev's default


def test_distro_slices_are_replaced_not_appended(project) -> None:
    assert [r.base_uri for r in project.distros["up"].repos] == ["https://mirror.invalid"]
    assert project.distros["up"].dist_git_base_uri == "https://git.invalid/$pkg.git"


def test_inheritance_order_and_append_semantics(project) -> None:
    curl = project.resolve("curl")
    # distro default, project default, groups alphabetically (a before b), then the component
    assert curl.config.build.with_ == ["distro", "project", "a", "b", "own"]
    assert curl.config.build.defines == {"x": "1", "y": "2"}
    assert curl.groups == ("a-group", "b-group")


def test_false_never_overrides_an_inherited_true(project) -> None:
    # azldev's mergo rule, kept for compatibility: the component's skip = false is a zero value.
    assert project.resolve("curl").config.build.check.skip is True


def test_overlays_inherited_first_then_own_then_overlay_files_sorted(project) -> None:
    overlays = project.resolve("curl").config.overlays
    assert [o.type for o in overlays] == ["spec-set-tag", "spec-add-tag", "spec-remove-tag", "file-add"]
    assert overlays[2].metadata.category == "azl-temp-workaround"
    assert overlays[3].source == str(project.root / "base/comps/curl/overlays/extra.conf")


def test_upstream_resolution(project) -> None:
    bash = project.resolve("bash")
    assert (bash.upstream.distro, bash.upstream.version, bash.upstream.snapshot) == ("up", "43", "2026-02-24T00:00:00-08:00")
    assert bash.upstream.settings.dist_git_branch == "f43"
    assert bash.rendered_dir == project.root / "specs" / "b" / "bash"


def test_bare_components_share_one_resolution(project) -> None:
    assert project.resolve("zlib").config is project.resolve("zlib").config
    assert project.resolve("zlib").config.overlays[0].value == "Down"


def test_unset_drops_inherited_values(make_project) -> None:
    files = dict(BASE)
    files["base/comps/curl/curl.comp.toml"] = """
        [components.curl]
        unset = ["build.check", "build.with", "overlays"]
        build = { with = ["only-mine"] }
        overlays = [{ type = "spec-add-tag", tag = "Provides", value = "p" }]
        """
    curl = load_project(make_project(files)).resolve("curl")
    assert curl.config.build.check is None
    assert curl.config.build.with_ == ["only-mine"]
    assert [o.tag for o in curl.config.overlays] == ["Provides"]
    assert curl.config.build.defines == {"x": "1"}  # untouched keys stay inherited


def test_trace_names_the_file_and_line_of_each_value(project) -> None:
    trace = project.trace("curl")
    assert trace["build.check.skip"] == f"{project.root}/base/project.toml:6 (project default)"
    assert trace["build.with[3]"] == f"{project.root}/base/project.toml:9 (group b-group)"
    assert trace["overlays[1].value"] == f"{project.root}/base/comps/curl/curl.comp.toml:7 (component)"
    assert "base/comps/curl/curl.comp.toml:2 (component)" in trace["build.defines.y"]
    assert "distro/down.distro.toml:6" in trace["spec.upstream-distro.snapshot"]


def test_diamond_include_is_read_once(make_project) -> None:
    root = make_project(
        {
            "azldev.toml": 'includes = ["a.toml", "b.toml"]\n',
            "a.toml": 'includes = ["shared.toml"]\n',
            "b.toml": 'includes = ["shared.toml"]\n',
            "shared.toml": "[components.x]\n",
        }
    )
    project = load_project(root)
    assert project.component_names == ["x"]
    assert sum(1 for f in project.files if f.path.name == "shared.toml") == 1


def test_group_spec_discovery_makes_local_components(make_project) -> None:
    root = make_project(
        {
            "azldev.toml": '[component-groups.default]\nspecs = ["**/*.spec"]\nexcluded-paths = ["build/**"]\n',
            "specs/hello/hello.spec": "Name: hello\n",
            "build/work/junk.spec": "Name: junk\n",
        }
    )
    project = load_project(root)
    assert project.component_names == ["hello"]
    assert project.resolve("hello").local_spec == root / "specs/hello/hello.spec"
    assert project.resolve("hello").groups == ("default",)


def test_selection_patterns_and_groups(project) -> None:
    assert project.select(["c*"]) == ["curl"]
    assert project.select([], group="a-group") == ["bash", "curl"]
    with pytest.raises(ConfigError, match="did you mean 'curl'"):
        project.select(["crul"])


def test_dump_round_trips_what_the_model_holds(project, trib) -> None:
    result = trib("-C", str(project.root), "config", "dump")
    assert result.code == 0
    dumped = json.loads(result.out)
    assert dumped == json.loads(json.dumps(project.to_json()))
    assert dumped["components"]["curl"]["build"]["with"] == ["distro", "project", "a", "b", "own"]  # azldev's shape
    assert dumped["project"]["outputDir"] == str(project.root / "out")


def test_schema_validates_every_example_and_rejects_unknown_keys(project) -> None:
    schema = config_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for loaded in project.files:
        data = tomllib.loads(loaded.path.read_text())
        assert list(validator.iter_errors(data)) == [], loaded.path
    assert list(validator.iter_errors({"components": {"a": {"bogus": 1}}}))


def test_schema_validates_the_example_distro() -> None:
    validator = jsonschema.Draft202012Validator(config_schema())
    root = Path(__file__).resolve().parents[2] / "examples" / "distro"
    files = [loaded.path for loaded in load_project(root).files]  # the project's own files, as loaded
    assert len(files) >= 8
    for path in files:
        data = json.loads(json.dumps(tomllib.loads(path.read_text()), default=str))
        assert list(validator.iter_errors(data)) == [], path


def test_cli_json_output_is_camel_case_array(project, trib) -> None:
    result = trib("-C", str(project.root), "-O", "json", "comp", "list", "-a")
    rows = json.loads(result.out)
    assert isinstance(rows, list) and [r["name"] for r in rows] == ["bash", "curl", "zlib"]
    assert rows[1]["releaseCalculation"] == "auto" and rows[1]["groups"] == ["a-group", "b-group"]


def test_project_found_by_walking_up(project, trib) -> None:
    result = trib("comp", "list", "bash", cwd=project.root / "base" / "comps")
    assert result.code == 0 and "bash" in result.out


def test_no_project_is_a_clear_error(tmp_path, trib) -> None:
    result = trib("comp", "list", "-a", cwd=tmp_path)
    assert result.code == 2
    assert "no azldev.toml found" in result.err and "-C DIR" in result.err


def test_checked_in_schemas_match_the_models() -> None:
    from tributary.config.schema import overlay_file_schema

    schemas = Path(__file__).resolve().parents[2] / "schemas"
    assert json.loads((schemas / "azldev.schema.json").read_text()) == config_schema(), "run: trib config schema > schemas/azldev.schema.json"
    assert json.loads((schemas / "overlay-file.schema.json").read_text()) == overlay_file_schema()


def test_every_table_rejects_unknown_keys() -> None:
    schema = config_schema()
    objects = [d for d in schema["$defs"].values() if d.get("type") == "object" and "properties" in d]
    assert objects and all(d.get("additionalProperties") is False for d in objects)


def test_global_flags_may_follow_the_subcommand(project, trib) -> None:
    result = trib("comp", "list", "bash", "-O", "json", "-C", str(project.root))
    assert result.code == 0 and json.loads(result.out)[0]["name"] == "bash"
