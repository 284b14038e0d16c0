"""Buildroot definitions: mock configs (a .cfg including a .tpl, Jinja2 in its values) and the TOML form."""

from __future__ import annotations

import json
import platform
import textwrap
from pathlib import Path

import pytest

from tributary.build.buildroot.definition import macros_text
from tributary.build.buildroot.frommock import buildroot_from_mock_config
from tributary.build.buildroot.native import buildroot_from_toml
from tributary.errors import ConfigError, PathEscapeError

ARCH = platform.machine()

# Written for these tests in the shape of Azure Linux 4.0's stage 2 configuration: the .cfg names the
# root and includes the .tpl, which sets the macros, the package list and a templated dnf.conf.
AZURE_TPL = '''
config_opts['chroot_setup_cmd'] = 'install {{ azl_build_set }} {% if azl_stage == 2 %}azurelinux-rpm-config{% else %}@buildsys-build{% endif %}'
config_opts['azl_build_set'] = 'bash coreutils rpm-build'
config_opts['dist'] = 'azl4'
config_opts['releasever'] = '4.0'
config_opts['package_manager'] = 'dnf5'
config_opts['macros']['%dist'] = '.azl4'
config_opts['macros']['%vendor'] = 'Microsoft Corporation'
config_opts['macros']['%distribution'] = 'Azure Linux'
config_opts['plugin_conf']['rpmautospec_enable'] = True
config_opts['use_bootstrap'] = False
config_opts['rpmbuild_networking'] = False
config_opts['dnf.conf'] = """
[main]
keepcache=1
install_weak_deps=0

[azl-base]
name=Azure Linux {{ releasever }} base ($basearch)
baseurl=https://packages.example.invalid/azl/{{ releasever }}/base/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/MICROSOFT-RPM-GPG-KEY
priority=10
skip_if_unavailable=False

{% if azl_stage == 2 %}
[azl-sdk]
name=Azure Linux {{ releasever }} SDK
baseurl={{ tributary_stage0 }}
gpgcheck=0
excludepkgs=kernel*
{% endif %}

[disabled-one]
baseurl=https://nowhere.invalid/
enabled=0
"""
'''

AZURE_CFG = f'''
config_opts['root'] = 'azl-4.0-stage2-{{{{ target_arch }}}}'
config_opts['target_arch'] = '{ARCH}'
config_opts['legal_host_arches'] = ('{ARCH}',)
config_opts['azl_stage'] = 2
config_opts['some_unknown_option'] = 'x'
include('templates/azurelinux-4.0.tpl')
'''


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def azure(tmp_path: Path) -> Path:
    write(tmp_path, {"mock/azurelinux-4.0-stage2.cfg": AZURE_CFG, "mock/templates/azurelinux-4.0.tpl": AZURE_TPL})
    return tmp_path / "mock" / "azurelinux-4.0-stage2.cfg"


def test_an_azure_linux_shaped_config_becomes_a_buildroot(azure: Path, tmp_path: Path) -> None:
    asked: list[str] = []

    def stage0() -> str:
        asked.append("stage0")
        return "file:///srv/stage0"

    root = buildroot_from_mock_config(azure, confine_to=tmp_path, variables={"tributary_stage0": stage0})
    assert root.name == f"azl-4.0-stage2-{ARCH}"
    assert root.releasever == "4.0"
    assert root.package_manager == "dnf5"
    assert root.packages == ("bash", "coreutils", "rpm-build", "azurelinux-rpm-config")
    assert root.macros == {"%dist": ".azl4", "%vendor": "Microsoft Corporation", "%distribution": "Azure Linux"}
    base, sdk = root.repos
    assert (base.id, base.baseurl, base.gpgcheck, base.priority) == (
        "azl-base", f"https://packages.example.invalid/azl/4.0/base/{ARCH}/", True, 10)
    assert base.gpgkeys == ("file:///etc/pki/rpm-gpg/MICROSOFT-RPM-GPG-KEY",)
    assert base.name == f"Azure Linux 4.0 base ({ARCH})"
    assert (sdk.id, sdk.baseurl, sdk.gpgcheck, sdk.excludes) == ("azl-sdk", "file:///srv/stage0", False, ("kernel*",))
    assert asked == ["stage0"], "the stage-0 repository is made once, and only because a template asks for it"


def test_options_not_applied_are_listed_once_with_file_and_line(azure: Path, tmp_path: Path) -> None:
    root = buildroot_from_mock_config(azure, confine_to=tmp_path, variables={"tributary_stage0": lambda: "file:///s"})
    listed = [str(item) for item in root.unsupported]
    cfg, tpl = "azurelinux-4.0-stage2.cfg", "azurelinux-4.0.tpl"
    assert any(item.endswith(f"{cfg}:5: config_opts['some_unknown_option']: not supported") for item in listed), listed
    assert any(f"{tpl}:9: config_opts['plugin_conf']: no effect" in item for item in listed), listed
    assert any(f"{tpl}:10: config_opts['use_bootstrap']: no effect" in item for item in listed), listed
    assert any("dnf.conf [main] install_weak_deps, keepcache" in item for item in listed), listed
    # rpmbuild_networking = False asks for what tributary does anyway; azl_stage and azl_build_set are
    # used by templates; dist only matters through the macros: none is reported as unsupported.
    assert not any("rpmbuild_networking" in item or "azl_stage" in item or "azl_build_set" in item for item in listed)
    assert len(listed) == len(set(listed))


def test_stage_one_of_the_same_template(tmp_path: Path) -> None:
    write(tmp_path, {"stage1.cfg": "config_opts['azl_stage'] = 1\ninclude('t.tpl')\n", "t.tpl": AZURE_TPL})
    root = buildroot_from_mock_config(tmp_path / "stage1.cfg", confine_to=tmp_path, arch=ARCH)
    assert root.packages == ("bash", "coreutils", "rpm-build", "@buildsys-build")
    assert [repo.id for repo in root.repos] == ["azl-base"]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("config_opts['a'] = 1\nimport os\n", 2, "import statements are not read in a mock config"),
    ("config_opts['a'] = (\n", 1, "mock config is not valid Python"),
    ("config_opts['a'] = open('/etc/passwd').read()\n", 1, "is not read in a mock config"),
    ("include('missing.tpl')\n", 1, "include('missing.tpl'): no such file"),
    ("config_opts['x'] = config_opts['nope']\n", 1, "config_opts['nope'] is not set at this point"),
    ("for x in []:\n    pass\n", 1, "for statements are not read"),
    ("config_opts['root'] = '{{ undefined_name }}'\n", 1, "'undefined_name' is undefined"),
])
def test_a_broken_mock_config_names_its_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    write(tmp_path, {"bad.cfg": text + "config_opts['dnf.conf'] = '[r]\\nbaseurl=file:///x\\n'\n"})
    with pytest.raises(ConfigError) as caught:
        buildroot_from_mock_config(tmp_path / "bad.cfg", confine_to=tmp_path)
    assert str(caught.value.where).endswith(f"bad.cfg:{line}")
    assert message in caught.value.message


def test_an_include_may_not_leave_the_project(tmp_path: Path) -> None:
    write(tmp_path, {"outside.tpl": "config_opts['a'] = 1\n", "project/m.cfg": "include('../outside.tpl')\n"})
    with pytest.raises(PathEscapeError) as caught:
        buildroot_from_mock_config(tmp_path / "project" / "m.cfg", confine_to=tmp_path / "project")
    assert str(caught.value.where).endswith("m.cfg:1")


@pytest.mark.parametrize(("dnf_conf", "message"), [
    ("[fedora]\nmetalink=https://mirrors.example.invalid/metalink?repo=fedora-43\n",
     "dnf.conf repository [fedora] has no baseurl"),
    ("[main]\nkeepcache=1\n", "dnf.conf enables no repository"),
    ("[r]\nbaseurl=file:///x\npriority=high\n", "dnf.conf [r] priority must be a number"),
])
def test_repositories_tributary_cannot_use_are_errors(tmp_path: Path, dnf_conf: str, message: str) -> None:
    write(tmp_path, {"m.cfg": f"config_opts['chroot_setup_cmd'] = 'install bash'\nconfig_opts['dnf.conf'] = {dnf_conf!r}\n"})
    with pytest.raises(ConfigError) as caught:
        buildroot_from_mock_config(tmp_path / "m.cfg", confine_to=tmp_path)
    assert message in caught.value.message
    assert str(caught.value.where).endswith("m.cfg:2")


def test_chroot_setup_cmd_must_install_something(tmp_path: Path) -> None:
    write(tmp_path, {"m.cfg": "config_opts['chroot_setup_cmd'] = 'update'\nconfig_opts['dnf.conf'] = '[r]\\nbaseurl=file:///x\\n'\n"})
    with pytest.raises(ConfigError, match="only 'install' and 'groupinstall' are read") as caught:
        buildroot_from_mock_config(tmp_path / "m.cfg", confine_to=tmp_path)
    assert str(caught.value.where).endswith("m.cfg:1")


def test_a_config_for_another_architecture_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"m.cfg": "config_opts['legal_host_arches'] = ('s390x',)\nconfig_opts['dnf.conf'] = '[r]\\nbaseurl=file:///x\\n'\n"})
    with pytest.raises(ConfigError, match="allows s390x"):
        buildroot_from_mock_config(tmp_path / "m.cfg", confine_to=tmp_path)


def test_the_toml_form(tmp_path: Path) -> None:
    write(tmp_path, {"root.toml": '''
        [buildroot]
        name = "tribex-{{ releasever }}-{{ arch }}"
        packages = ["@buildsys-build", "tribex-rpm-config"]
        packages-if-built = ["system-rpm-config"]
        macros = { "%dist" = ".tribex10" }

        [[buildroot.repos]]
        id = "stage0"
        baseurl = "{{ tributary_stage0 }}"
        gpgcheck = true
        gpgkey = ["{{ tributary_stage0 }}/RPM-GPG-KEY-stage0"]
        '''})
    root = buildroot_from_toml(tmp_path / "root.toml", variables={"tributary_stage0": lambda: "file:///s0"},
                               releasever="1.0")
    assert root.name == f"tribex-1.0-{ARCH}"
    assert root.packages == ("@buildsys-build", "tribex-rpm-config")
    assert root.packages_if_built == ("system-rpm-config",)
    assert root.repos[0].baseurl == "file:///s0"
    assert root.repos[0].gpgkeys == ("file:///s0/RPM-GPG-KEY-stage0",)


def test_the_toml_form_names_a_wrong_key_and_its_line(tmp_path: Path) -> None:
    write(tmp_path, {"root.toml": '[buildroot]\nname = "x"\npackages = ["bash"]\nrepo = []\n'})
    with pytest.raises(ConfigError) as caught:
        buildroot_from_toml(tmp_path / "root.toml")
    assert "buildroot.repo" in caught.value.message
    assert str(caught.value.where).endswith("root.toml:4")


def test_macros_are_written_as_mock_writes_rpmmacros() -> None:
    assert macros_text({"%vendor": "Example", "dist": ".ex1", "%multi": "a\nb"}) == (
        "%dist .ex1\n%multi a\\\nb\n%vendor Example\n")


def test_trib_buildroot_show_reads_the_example_mock_config(trib, trib_cache) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "distro"
    result = trib("-C", str(example), "-O", "json", "buildroot", "show")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert shown["name"] == f"tribex-1.0-stage2-{ARCH}" and shown["source"].endswith("tribex-1.0-stage2-x86_64.cfg")
    assert shown["packages"][-1] == "tribex-rpm-config" and shown["macros"]["%dist"] == ".tribex10"
    assert [repo["id"] for repo in shown["repos"]] == ["tribex-stage0", "tribex-stage1"]
    assert shown["repos"][0]["baseurl"].startswith(f"file://{trib_cache}/stage0/")
    assert any("tribex-1.0.tpl:" in item and "plugin_conf" in item for item in shown["unsupported"])
    stage1 = trib("-C", str(example), "--config-file", str(example / "stage1.toml"), "-O", "json", "buildroot", "show")
    assert [repo["id"] for repo in json.loads(stage1.out)["repos"]] == ["tribex-stage0"]
