"""azldev's command lines, with ``trib`` in place of ``azldev``, on a copy of the example distribution.

Every line below was found in a public source, named beside it:

* ``issue 20``: the lines the issue lists (taken there from Azure Linux's workflows, skills and docs);
* ``azurelinux:PATH``: microsoft/azurelinux, branch ``tomls/base/main`` (2026-04-30): its GitHub
  workflows, Azure DevOps pipelines, scripts, AGENTS.md, Copilot instructions, prompts and skills;
* ``azldev:PATH``: microsoft/azure-linux-dev-tools (HEAD 6eca9a4): its user docs, its agent skills
  (``internal/app/azldev/agentskill/content``) and the examples of its CLI reference
  (``docs/user/reference/cli``).

Placeholders are filled for the example: ``<name>`` is greet, ``curl``/``bash`` are example
components, ``<dir>`` a scratch directory. Pipes run the real ``jq`` and ``grep`` on trib's output.
Each line asserts its exit status and the shape of its output (JSON keys, the table, the one-line
error of a command tributary does not do). The lines that build run in the example's bootstrap stage
(``--config-file stage1.toml``, roots of this host's packages) and build two small components once;
the later ones are cache hits.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import ExampleDistro, copy_example_distro, run_git

from tributary.cli.app import main

AZL = "azurelinux:"
DEV = "azldev:"


@dataclass(frozen=True)
class Line:
    """One command line as its source writes it, the exit status it must end with, and what else to check."""

    source: str
    command: str
    code: int = 0
    check: Callable[[str, str, ExampleDistro], None] | None = None
    pipe_stderr: bool = False  # the source writes 2>&1 before its pipe

    def __str__(self) -> str:
        return self.command


CAMEL_CASE = re.compile(r"[a-z][a-zA-Z0-9]*")


def json_rows(*keys: str, count: int | None = None, lists: tuple[str, ...] = ()) -> Callable[[str, str, ExampleDistro],
                                                                                              None]:
    """The output is a JSON array of objects (``count`` of them, if given), each with camelCase keys among
    which ``keys``, and ``lists`` (azldev's list fields) always arrays: ``[]``, never ``null``."""

    def check(out: str, err: str, distro: ExampleDistro) -> None:
        rows = json.loads(out)
        assert isinstance(rows, list), out
        assert count is None or len(rows) == count, rows
        for row in rows:
            assert set(keys) | set(lists) <= set(row), (keys, row)
            assert all(CAMEL_CASE.fullmatch(key) for key in row), sorted(row)
            assert all(isinstance(row[key], list) for key in lists), row

    return check


def has(*texts: str, where: str = "out") -> Callable[[str, str, ExampleDistro], None]:
    def check(out: str, err: str, distro: ExampleDistro) -> None:
        text = out if where == "out" else err
        for wanted in texts:
            assert wanted in text, (wanted, text)

    return check


def one_line_error(*texts: str) -> Callable[[str, str, ExampleDistro], None]:
    """A command tributary does not do: one line on stderr naming the closest command, nothing on stdout."""

    def check(out: str, err: str, distro: ExampleDistro) -> None:
        assert out == "" and len(err.splitlines()) == 1 and err.startswith("error: "), err
        assert "the closest is" in err and "Usage:" not in err, err
        for wanted in texts:
            assert wanted in err, (wanted, err)

    return check


def rendered(out: str, err: str, distro: ExampleDistro) -> None:
    assert (distro.root / "specs/g/greet/greet.spec").is_file()


COMPONENT_KEYS = ("name", "spec", "renderedSpecDir", "overlays")

LINES = [
    # The lines issue 20 lists.
    Line("issue 20", "azldev comp list -p greet -q -O json", check=json_rows(*COMPONENT_KEYS, "locked", count=1, lists=("overlays",))),
    Line("issue 20", "azldev comp query -p greet -q -O json", check=has('"name": "greet"', '"renderedSpecDir"')),
    Line("issue 20", "azldev config dump -q -f json", check=has('"renderedSpecsDir"', '"workDir"')),
    Line("issue 20", "azldev config generate-schema", check=has('"additionalProperties": false')),
    Line("issue 20", "azldev component render -q -a --clean-stale", check=rendered),
    Line("issue 20", "azldev comp render --check-only", check=has("no components selected", where="err")),
    Line("issue 20", "azldev comp prep-sources -p greet --skip-overlays --force -o base/build/work/scratch/up -q",
         check=lambda out, err, d: (d.root / "base/build/work/scratch/up/greet-1.1.tar.gz").is_file()),
    Line("issue 20", "azldev comp changed --from HEAD~1 -O json", check=json_rows("component", "changeType",
                                                                                   "sourcesChange")),
    Line("issue 20", "azldev image list", check=has("vm-base", "container-base")),
    Line("issue 20", "azldev image build --local-repo base/out container-base", code=2,
         check=has("--local-repo ignored", "no published repository", where="err")),
    # Azure Linux's CI: check-rendered-specs, lint, and the Azure DevOps sources-upload pipeline.
    Line(AZL + ".github/workflows/check-rendered-specs.yml",
         "azldev component render -q -a --clean-stale -O json",
         check=json_rows("component", "outputDir", "status", "error", "changed", count=10)),
    Line(AZL + ".github/workflows/check-rendered-specs.yml",
         "azldev config dump -q -f json | python3 -c "
         "'import json,sys; print(json.load(sys.stdin)[\"project\"][\"renderedSpecsDir\"])'",
         check=lambda out, err, d: out.strip() == str(d.root / "specs") or pytest.fail(out)),
    Line(AZL + ".github/workflows/lint.yaml", "azldev config dump > /dev/null"),
    Line(AZL + ".github/workflows/ado/templates/sources-upload-stages.yml",
         "azldev config dump -q -f json | jq -r '.project.renderedSpecsDir'",
         check=lambda out, err, d: out.strip() == str(d.root / "specs") or pytest.fail(out)),
    Line(AZL + ".github/workflows/ado/templates/sources-upload-stages.yml", "azldev component render -q -a --clean-stale"),
    Line(AZL + ".github/instructions/pr-check-workflows.instructions.md",
         "azldev component render -q -a --clean-stale -O json > base/build/work/render.json",
         check=lambda out, err, d: json.loads((d.root / "base/build/work/render.json").read_text()) or pytest.fail()),
    Line(AZL + ".github/instructions/pr-check-workflows.instructions.md",
         "azldev config dump -q -f json | jq -r .project.renderedSpecsDir",
         check=lambda out, err, d: out.strip() == str(d.root / "specs") or pytest.fail(out)),
    # Azure Linux's agent material: AGENTS.md, copilot-instructions, instructions, prompts and skills.
    Line(AZL + "AGENTS.md", "azldev comp list -p greet -q -O json", check=json_rows(*COMPONENT_KEYS, count=1)),
    Line(AZL + "AGENTS.md", "azldev comp render -p greet", check=rendered),
    Line(AZL + "AGENTS.md", "azldev comp render -a --clean-stale"),
    Line(AZL + "AGENTS.md", "azldev comp prep-sources -p greet --skip-overlays --force -o base/build/work/pre -q"),
    Line(AZL + "AGENTS.md", "azldev comp prep-sources -p greet --force -o base/build/work/post -q",
         check=lambda out, err, d: "tribex-default-name" in (d.root / "base/build/work/post/greet.spec").read_text()
         or pytest.fail()),
    Line(AZL + "AGENTS.md", "azldev config dump -q -f json 2>&1 | grep workDir", pipe_stderr=True,
         check=has('"workDir"')),
    Line(AZL + "AGENTS.md", "azldev adv mock shell --add-package /path/to/rpm", code=2,
         check=one_line_error("mock shell", "trib buildroot show")),
    Line(AZL + ".github/copilot-instructions.md", "azldev comp list -a -q -O json",
         check=json_rows(*COMPONENT_KEYS, count=10)),
    Line(AZL + ".github/copilot-instructions.md", "azldev comp list -p 'greet*' -q -O json",
         check=json_rows(*COMPONENT_KEYS, count=4)),
    Line(AZL + ".github/copilot-instructions.md", "azldev comp add", code=2, check=has("NAME", where="err")),
    Line(AZL + ".github/copilot-instructions.md", "azldev comp render -a"),
    Line(AZL + ".github/copilot-instructions.md",
         "azldev comp prep-sources -p greet --force -o base/build/work/scratch/greet -q"),
    Line(AZL + ".github/copilot-instructions.md", "azldev image build", code=2, check=has("NAME", where="err")),
    Line(AZL + ".github/copilot-instructions.md", "azldev image boot", code=2,
         check=one_line_error("trib image test")),
    Line(AZL + ".github/copilot-instructions.md", "azldev adv --help", check=has("mock", "download-sources")),
    Line(AZL + ".github/instructions/rendered-specs.instructions.md", "azldev comp render -a --clean-stale -O json",
         check=json_rows("component", "status", "changed")),
    Line(AZL + ".github/instructions/rendered-specs.instructions.md",
         "azldev comp render -p greet -p libgreet -O json", check=json_rows("component", "status", count=2)),
    Line(AZL + ".github/instructions/rendered-specs.instructions.md",
         "azldev comp render -p greet -O json -o ./base/build/work/scratch/rendered-specs --force",
         check=lambda out, err, d: (d.root / "base/build/work/scratch/rendered-specs/g/greet/greet.spec").is_file()
         or pytest.fail(err)),
    Line(AZL + ".github/instructions/spec.instructions.md",
         "azldev comp prep-sources -p greet --skip-overlays --force -o base/build/work/scratch/greet -q"),
    Line(AZL + ".github/prompts/azl-debug-component.prompt.md",
         "azldev comp prep-sources -p greet --skip-overlays -o base/build/work/scratch/greet-pre --force"),
    Line(AZL + ".github/prompts/azl-migrate-component.prompt.md", "azldev comp query -p greet",
         check=has("greet")),
    Line(AZL + ".github/skills/skill-review-component/SKILL.md", "azldev comp query -p greet -q -O json",
         check=has('"spec"')),
    Line(AZL + ".github/skills/skill-mock/SKILL.md",
         "azldev adv mock shell --add-package /path/to/package.rpm --enable-network", code=2,
         check=one_line_error("mock shell")),
    Line(AZL + ".github/skills/skill-mock/SKILL.md", "azldev adv mock shell", code=2, check=one_line_error()),
    Line(AZL + ".github/skills/skill-build-component/SKILL.md", "azldev comp build --help",
         check=has("--preserve-buildenv", "--local-repo-with-publish")),
    Line(AZL + ".github/skills/skill-build-component/SKILL.md", "azldev advanced mock --help", check=has("shell")),
    Line(AZL + ".github/skills/skill-build-component/SKILL.md",
         "azldev config generate-schema > base/build/work/scratch/schema.json",
         check=lambda out, err, d: json.loads((d.root / "base/build/work/scratch/schema.json").read_text())["$defs"]
         or pytest.fail()),
    Line(AZL + "scripts/build-vm-images.sh",
         "azldev image build vm-base --local-repo base/out --remote-repo https://koji.invalid/repo "
         "--remote-repo-no-gpgcheck", code=2, check=has("--remote-repo ignored", "no published repository",
                                                        where="err")),
    Line(AZL + "README.md", "azldev component render -a"),
    Line(AZL + "README.md", "azldev component render greet", check=rendered),
    # azldev's own user docs.
    Line(DEV + "docs/user/README.md", "azldev --help", check=has("comp", "package", "project")),
    Line(DEV + "docs/user/how-to/add-component.md", "azldev comp list -p greet", check=has("greet")),
    Line(DEV + "docs/user/how-to/build-image.md", "azldev image list", check=has("vm-base")),
    Line(DEV + "docs/user/how-to/build-image.md",
         "azldev image boot -i out/images/vm-base/vm-base.raw -f raw --test-password secret", code=2,
         check=one_line_error("image boot")),
    Line(DEV + "docs/user/how-to/build-image.md",
         "azldev image customize --image-file base.vhdx --image-config config.yaml --output-path out/", code=2,
         check=one_line_error("Image Customizer", "trib image build")),
    Line(DEV + "docs/user/how-to/inspect-package-config.md", "azldev package list -a",
         check=has("glibc", "rpm-sdk", "rpm-base")),
    Line(DEV + "docs/user/how-to/inspect-package-config.md",
         "azldev package list -p libgreet -p libgreet-devel -p greet-debugsource -O json",
         check=json_rows("packageName", "type", "component", "publishChannel", count=3,
                         lists=("packageGroups", "componentGroups"))),
    Line(DEV + "docs/user/how-to/inspect-package-config.md", "azldev package list libgreet libgreet-devel",
         check=has("rpm-sdk", "rpm-base")),
    Line(DEV + "docs/user/how-to/inspect-package-config.md", "azldev package list -a -q -O json",
         check=json_rows("packageName", count=4, lists=("packageGroups", "componentGroups"))),
    Line(DEV + "docs/user/how-to/inspect-package-config.md", "azldev pkg list -a", check=has("glibc")),
    Line(DEV + "docs/user/how-to/inspect-package-config.md",
         "azldev package list --rpm-file base/build/rpm_source_map.json -q -O json",
         check=json_rows("packageName", "type", count=3)),
    Line(DEV + "docs/user/explanation/config-system.md", "azldev config generate-schema", check=has('"$defs"')),
    Line(DEV + "docs/user/explanation/config-system.md", "azldev config dump -q -O json",
         check=has('"components"')),
    Line(DEV + "docs/user/explanation/repos.md",
         "azldev config dump -q -O json | jq -c '.resources, .distros.tribex.versions[\"1.0\"].releaseVer'",
         check=has('"rpmRepos"', '"1.0"')),
    Line(DEV + "docs/user/how-to/set-up-ai-agents.md", "azldev docs agent install", code=2,
         check=one_line_error("agent")),
    Line(DEV + "docs/user/how-to/set-up-ai-agents.md", "azldev -n docs agent install", code=2,
         check=one_line_error()),
    Line(DEV + "docs/user/how-to/set-up-ai-agents.md", "azldev docs agent install -o ../other-repo", code=2,
         check=one_line_error()),
    Line(DEV + "docs/user/how-to/set-up-ai-agents.md", "azldev docs agent install --full", code=2,
         check=one_line_error()),
    Line(DEV + "docs/user/how-to/set-up-ai-agents.md", "azldev docs agent show", code=2, check=one_line_error()),
    Line(DEV + "docs/user/how-to/set-up-ai-agents.md", "azldev docs agent show --skill azldev", code=2,
         check=one_line_error()),
    Line(DEV + "docs/user/how-to/set-up-ai-agents.md", "azldev advanced mcp", code=2,
         check=one_line_error("MCP", "-O json")),
    Line(DEV + "docs/developer/how-to/releasing.md", "azldev version", check=has("trib ")),
    # azldev's agent skills (what `azldev docs agent` installs).
    Line(DEV + "agentskill/content/add-component.md.tmpl", "azldev comp update -p greet"),
    Line(DEV + "agentskill/content/add-component.md.tmpl", "azldev comp diff-sources -p greet",
         check=has("+++ rendered/greet.spec")),
    Line(DEV + "agentskill/content/remove-component.md.tmpl", "azldev comp list -p removed-one -q -O json", code=2,
         check=has("unknown component 'removed-one'", where="err")),
    Line(DEV + "agentskill/content/comp-toml.md.tmpl", "azldev comp query -p greet -q -O json"),
    Line(DEV + "agentskill/content/update-component.md.tmpl", "azldev comp render -p greet", check=rendered),
    Line(DEV + "agentskill/content/skill-wrapper.md.tmpl", "azldev docs agent show --skill azldev-overlays", code=2,
         check=one_line_error()),
    # azldev's CLI reference: the examples of each command.
    Line(DEV + "docs/user/reference/cli/azldev_component_changed.md", "azldev component changed --from main -a",
         check=has("no component changed", where="err")),
    Line(DEV + "docs/user/reference/cli/azldev_component_changed.md",
         "azldev component changed --from v1.0 --to v2.0 -a -O json",
         check=json_rows("component", "changeType", "sourcesChange")),
    Line(DEV + "docs/user/reference/cli/azldev_component_changed.md",
         "azldev component changed --from main -a --include-unchanged -O json",
         check=json_rows("component", "changeType", "sourcesChange", count=10)),
    Line(DEV + "docs/user/reference/cli/azldev_component_changed.md", "azldev component changed --from main -a -q -O json",
         check=lambda out, err, d: json.loads(out) == [] or pytest.fail(out)),
    Line(DEV + "docs/user/reference/cli/azldev_component_history.md", "azldev component history -a",
         check=has("Customizations")),
    Line(DEV + "docs/user/reference/cli/azldev_component_history.md", "azldev component history -a -O json",
         check=json_rows("name", "tomlCommits", "customizations", "fingerprintChanges", lists=("customizationItems",))),
    Line(DEV + "docs/user/reference/cli/azldev_component_history.md", "azldev component history greet",
         check=has("spec-add-tag", "greet: customizations")),
    Line(DEV + "docs/user/reference/cli/azldev_component_list.md", "azldev component list -p 'greet*'",
         check=has("greet-data")),
    Line(DEV + "docs/user/reference/cli/azldev_component_prepare-sources.md",
         "azldev component prep-sources -p greet -o ./build/work/scratch/curl --force"),
    Line(DEV + "docs/user/reference/cli/azldev_component_query.md", "azldev component query -p greet"),
    Line(DEV + "docs/user/reference/cli/azldev_component_render.md", "azldev component render -a -o rendered/ --force",
         check=lambda out, err, d: (d.root / "rendered/g/greet/greet.spec").is_file() or pytest.fail(err)),
    Line(DEV + "docs/user/reference/cli/azldev_component_update.md", "azldev component update -a"),
    Line(DEV + "docs/user/reference/cli/azldev_component_update.md", "azldev component update -g core"),
    Line(DEV + "docs/user/reference/cli/azldev_component_list.md", "azldev component list -g core -O csv",
         check=lambda out, err, d: out.splitlines() == [
             "Component,Spec,Upstream,Pin,Groups,Overlays,Release",
             "greet,upstream,example-upstream 43,8a703d672120f80ce19dbe4ea275515d3ef949cc,core,5,auto",
             "libgreet,upstream,example-upstream 43,,core,8,auto"] or pytest.fail(out)),
    Line(DEV + "docs/user/reference/cli/azldev_component_update.md", "azldev component update -a --check-only -q"),
    Line(DEV + "docs/user/reference/cli/azldev_config_dump.md", "azldev config dump",
         check=has('"components"')),
    Line(DEV + "docs/user/reference/cli/azldev_config_dump.md", "azldev config dump -f json",
         check=lambda out, err, d: json.loads(out)["project"]["workDir"] or pytest.fail()),
    Line(DEV + "docs/user/reference/cli/azldev_config_dump.md", "azldev config dump -f toml",
         check=has("[project]", "rendered-specs-dir = ")),
    Line(DEV + "docs/user/reference/cli/azldev_image_list.md", "azldev image list 'container-*'",
         check=has("container-base")),
    Line(DEV + "docs/user/reference/cli/azldev_image_list.md", "azldev image list -q -O json",
         check=json_rows("name", "description", "capabilities", "tests", "publish", "definition", count=4)),
    Line(DEV + "docs/user/reference/cli/azldev_image_test.md", "azldev image test vm-base --test-suite common-vm-checks",
         code=2, check=has("--test-suite", where="err")),
    Line(DEV + "docs/user/reference/cli/azldev_image_inject-files.md",
         "azldev image inject-files --image-file base.vhdx --image-config inject-files.yaml --output-path out/", code=2,
         check=one_line_error("inject")),
    Line(DEV + "docs/user/reference/cli/azldev_version.md", "azldev version -O json",
         check=lambda out, err, d: {"version", "platform", "compiler"} <= set(json.loads(out)) or pytest.fail(out)),
    Line(DEV + "docs/user/reference/cli/azldev_repo_query.md",
         "azldev repo query --repo-prefix=file://{prefix} --arch x86_64 -- repoquery --available tribex-release",
         check=has("tribex-release-0:1.0")),
    Line(DEV + "docs/user/reference/cli/azldev_repo_query.md", "azldev repo query --version 1.0 -- list --available",
         check=has("tribex-release.noarch")),
    Line(DEV + "docs/user/reference/cli/azldev_repo_query.md",
         "azldev repo query --version 1.0 --use-case image-build -- repolist", check=has("local")),
    Line(DEV + "docs/user/reference/cli/azldev_advanced_download-sources.md",
         "azldev advanced download-sources -p greet -o /tmp/output", code=2, check=one_line_error("prep-sources")),
    Line(DEV + "docs/user/reference/cli/azldev_advanced_mock_build-rpms.md",
         "azldev advanced mock build-rpms --srpm ./my-package.src.rpm -o ./rpms/", code=2,
         check=one_line_error("trib build")),
    Line(DEV + "docs/user/reference/cli/azldev_advanced_wget.md",
         "azldev advanced wget --uri https://example.com/file.tar.gz -o ./file.tar.gz", code=2,
         check=one_line_error()),
    Line(DEV + "docs/user/reference/cli/azldev_docs_markdown.md", "azldev docs markdown -o docs/user/reference/cli/",
         code=2, check=one_line_error("--help")),
    Line(DEV + "docs/user/reference/cli/azldev_completion_bash.md", "azldev completion bash",
         check=has("_TRIB_COMPLETE")),
    # azldev's command tree (/work/shared/reference/azldev-reference.md section 5): help, image test's flags.
    Line("azldev-reference.md section 5", "azldev help comp build", check=has("Usage: trib comp build",
                                                                               "--preserve-buildenv")),
    Line("azldev-reference.md section 5", "azldev help comp nope", code=2,
         check=has("trib has no command 'trib comp nope'", where="err")),
    Line("azldev-reference.md section 5", "azldev image test vm-base -i out/images/vm-base/vm-base.raw", code=2,
         check=has("--image-path", "trib image build vm-base", where="err")),
]

# The lines that build (each source's placeholders filled with the example's two smallest components).
BUILD_LINES = [
    Line(AZL + "AGENTS.md", "azldev comp build -p tribex-release", check=has("tribex-release")),
    Line(AZL + ".github/copilot-instructions.md", "azldev comp build -p tribex-release -q"),
    Line("issue 20", "azldev comp build -p tribex-release --preserve-buildenv on-failure -q"),
    Line(AZL + ".github/copilot-instructions.md",
         "azldev comp build --local-repo-with-publish ./base/out -p tribex-rpm-config -p tribex-release -q",
         check=lambda out, err, d: (d.root / "base/out/repodata/repomd.xml").is_file() or pytest.fail(err)),
    Line(AZL + ".github/skills/skill-build-component/SKILL.md", "azldev comp build -p tribex-release --local-repo ./base/out"),
    Line(AZL + "scripts/demo-build.sh",
         "azldev comp build --local-repo-with-publish ./base/out tribex-rpm-config tribex-release"),
    Line(DEV + "agentskill/content/build-component.md.tmpl", "azldev comp build -p tribex-release --preserve-buildenv always"),
    Line(DEV + "docs/user/how-to/build-component.md", "azldev comp build -p tribex-release -O json",
         check=json_rows("componentName", count=2, lists=("srpmPaths", "rpmPaths", "rpmChannels", "rpms"))),
    # The reference's line is `component build -a -k`: here one component, not the whole distribution.
    Line(DEV + "docs/user/reference/cli/azldev_component_build.md", "azldev component build -p tribex-release -k"),
    Line(DEV + "docs/user/reference/cli/azldev_component_build.md", "azldev component build -p tribex-release --srpm-only",
         code=2, check=has("--srpm-only", where="err")),
]


@pytest.fixture(scope="module")
def azl(tmp_path_factory: pytest.TempPathFactory, example_upstream) -> ExampleDistro:
    """The example distribution, locked and rendered, committed on ``main`` and tagged ``v1.0`` and
    ``v2.0``; a source map and a repository-input configuration for the lines that need them."""
    distro = copy_example_distro(tmp_path_factory.mktemp("azldev-lines"), example_upstream.root, lookaside=True)
    run_git("tag", "v1.0", cwd=distro.root)
    assert main(distro.args("-q", "comp", "update", "-a")) == 0
    assert main(distro.args("-q", "comp", "render", "-a")) == 0
    distro.commit_all("Lock and render every component", date="2026-01-02T09:00:00+00:00")
    run_git("tag", "v2.0", cwd=distro.root)
    (distro.root / "base/build").mkdir(parents=True, exist_ok=True)
    (distro.root / "base/build/rpm_source_map.json").write_text(json.dumps(
        [{"packageName": "libgreet-devel", "sourcePackageName": "libgreet"},
         {"packageName": "libgreet", "sourcePackageName": "libgreet"}]))
    return distro


def run_line(trib, distro: ExampleDistro, line: Line, *, extra: tuple[str, ...] = (), **values: str):
    """Run ``line`` with trib (the program after each ``|`` for real), in the project's directory."""
    stages = [shlex.split(stage.format(**values)) for stage in line.command.split(" | ")]
    words = stages[0]
    assert words[0] == "azldev"
    words = [w for w in words[1:] if w != "2>&1"]
    target = None
    if ">" in words:
        target = distro.root / words[words.index(">") + 1]
        words = words[:words.index(">")]
    result = trib(*distro.args(*extra, *words), cwd=distro.root)
    out = result.out
    if target is not None:
        if str(target) != "/dev/null":
            target.write_text(out)
        out = ""
    for stage in stages[1:]:
        piped = subprocess.run(stage, input=out + (result.err if line.pipe_stderr else ""), capture_output=True,
                               text=True, timeout=60, cwd=distro.root)
        assert piped.returncode == 0, piped.stderr
        out = piped.stdout
    return result.code, out, result.err


@pytest.mark.parametrize("line", LINES, ids=lambda line: f"{line.source}: {line.command}")
def test_azldev_command_line(azl: ExampleDistro, trib, line: Line, local_repo: Path) -> None:
    code, out, err = run_line(trib, azl, line, extra=("--config-file", str(local_repo / "extras.toml")),
                              prefix=local_repo / "prefix")
    assert code == line.code, f"exit {code}\n{err}"
    if line.check is not None:
        line.check(out, err, azl)


@pytest.fixture(scope="module")
def local_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository of one RPM (made with rpmbuild) laid out as azldev's ``azl-standard`` template
    (``base/x86_64``), and a configuration naming it as the input of tribex 1.0 (the repo query lines)
    and defining a component group ``core`` (the ``-g`` lines)."""
    from tributary.tools.createrepo import index_directory

    root = tmp_path_factory.mktemp("local-repo")
    top = root / "rpmbuild"
    spec = root / "tribex-release.spec"
    spec.write_text("Name: tribex-release\nVersion: 1.0\nRelease: 1\nSummary: x\nLicense: MIT\nBuildArch: noarch\n"
                    "%description\nx\n%files\n")
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)], check=True, capture_output=True,
                   timeout=120)
    tree = root / "prefix" / "base" / "x86_64"
    tree.mkdir(parents=True)
    for rpm in (top / "RPMS").rglob("*.rpm"):
        rpm.rename(tree / rpm.name)
    index_directory(tree)
    (root / "extras.toml").write_text(
        f'[resources.rpm-repos.local]\nbase-uri = "{tree.as_uri()}"\ndisable-gpg-check = true\n\n'
        '[distros.tribex.versions."1.0"]\nrelease-ver = "1.0"\n\n[distros.tribex.versions."1.0".inputs]\nrpm-build = [{ repo = "local" }]\nimage-build = [{ repo = "local" }]\n'
        '\n[component-groups.core]\ncomponents = ["greet", "libgreet"]\n')
    return root


@pytest.mark.builds
def test_azldev_build_command_lines(azl: ExampleDistro, trib, trib_cache: Path) -> None:
    """The build lines, in order: the first builds tribex-rpm-config and tribex-release, the rest are
    cache hits."""
    for line in BUILD_LINES:
        code, out, err = run_line(trib, azl, line, extra=("--config-file", str(azl.root / "stage1.toml")))
        assert code == line.code, f"{line.source}: {line.command}: exit {code}\n{err}"
        if line.check is not None:
            line.check(out, err, azl)
    # --local-repo-with-publish left a repository with both packages, a later --local-repo reads it.
    assert {p.name.split("-1.0")[0] for p in (azl.root / "base/out").glob("*.rpm")} == {"tribex-rpm-config",
                                                                                      "tribex-release"}


def test_comp_add_appends_bare_components_and_refuses_known_ones(tmp_path: Path, example_upstream, trib) -> None:
    """azldev's docs (add-component.md, azldev_component_add.md): ``comp add <package-name>``, ``comp add curl
    wget bash``; a name the project has is refused and nothing is written; -n writes nothing."""
    distro = copy_example_distro(tmp_path, example_upstream.root, git_repository=False)
    root_file = distro.root / "azldev.toml"
    before = root_file.read_text()
    assert trib(*distro.args("-n", "comp", "add", "curl"), cwd=distro.root).code == 0
    assert root_file.read_text() == before
    refused = trib(*distro.args("comp", "add", "curl", "greet"), cwd=distro.root)
    assert refused.code == 2 and "already has component(s) greet" in refused.err
    assert root_file.read_text() == before
    assert trib(*distro.args("comp", "add", "curl", "wget", "bash"), cwd=distro.root).code == 0
    assert root_file.read_text() == before + "\n[components.curl]\n\n[components.wget]\n\n[components.bash]\n"
    listed = trib(*distro.args("-O", "json", "comp", "list", "-p", "curl", "-p", "wget", "bash"), cwd=distro.root)
    assert [row["name"] for row in json.loads(listed.out)] == ["bash", "curl", "wget"]


def test_junit_report_has_one_case_per_check() -> None:
    """``image test --junit-xml``: each check a test case, a failed one with its detail as the failure."""
    from xml.etree import ElementTree

    from tributary.cli.image import junit_report

    suite = ElementTree.fromstring(junit_report("image vm-base", [("boots", True, "in 3 s"), ("sshd", False, "no <unit>")]))
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["boots"].find("failure") is None and cases["boots"].findtext("system-out") == "in 3 s"
    assert cases["sshd"].find("failure").get("message") == "no <unit>"


def test_project_new_and_init(tmp_path: Path, trib) -> None:
    """azldev's create-project.md: ``project new <path>``, ``project init``; the result is a project."""
    made = trib("project", "new", "my-distro", cwd=tmp_path)
    assert made.code == 0, made.err
    assert (tmp_path / "my-distro/.gitignore").read_text().splitlines() == [
        "# Build logs and work directories", "build/", "", "# Build output", "out/"]
    assert trib("project", "new", "my-distro", cwd=tmp_path).code == 2  # it exists now
    spec_dir = tmp_path / "my-distro" / "hello"
    spec_dir.mkdir()
    (spec_dir / "hello.spec").write_text("Name: hello\n")
    listed = trib("-O", "json", "comp", "list", "-a", cwd=tmp_path / "my-distro")
    assert [row["name"] for row in json.loads(listed.out)] == ["hello"], listed.err  # the default spec group
    other = tmp_path / "existing"
    other.mkdir()
    assert trib("project", "init", cwd=other).code == 0
    assert (other / "azldev.toml").is_file() and not (other / ".gitignore").exists()
    again = trib("project", "init", cwd=other)
    assert again.code == 2 and "already exists" in again.err


def test_comp_update_bump(tmp_path: Path, example_upstream, trib) -> None:
    """azldev_component_update.md: ``component update --bump curl`` (here greet): manual-bump goes up."""
    distro = copy_example_distro(tmp_path, example_upstream.root)
    assert trib(*distro.args("comp", "update", "-a"), cwd=distro.root).code == 0
    lock = distro.root / "locks/greet.lock"
    assert "manual-bump" not in lock.read_text()
    bumped = trib(*distro.args("component", "update", "--bump", "greet"), cwd=distro.root)
    assert bumped.code == 0, bumped.err
    assert "manual-bump = 1" in lock.read_text()
