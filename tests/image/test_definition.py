"""Image descriptions: the KIWI subset (profiles, types, containerconfig, users) and the native TOML form."""

from __future__ import annotations

from pathlib import Path

import pytest

from tributary.config import load_project
from tributary.errors import ConfigError
from tributary.image.definition import load_image, read_kiwi, read_native

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "distro"

KIWI = """<?xml version="1.0"?>
<image schemaversion="7.4" name="x">
  <profiles><profile name="core"/><profile name="vm"/></profiles>
  <preferences>
    <version>2.1</version>
    <type image="oci">
      <containerconfig name="x/base" tag="2.1">
        <entrypoint execute="/bin/sh"><argument name="-c"/></entrypoint>
        <environment><env name="LANG" value="C.UTF-8"/></environment>
      </containerconfig>
    </type>
  </preferences>
  <preferences profiles="vm"><type image="oem" format="vhd-fixed" primary="true"><size unit="G">2</size></type></preferences>
  <users><user name="admin" id="1000" home="/home/admin" groups="wheel,users"/></users>
  <drivers><file name="virtio"/></drivers>
  <packages type="image"><package name="bash"/><package name="kernel" profiles="vm"/></packages>
  <packages type="bootstrap"><package name="filesystem"/></packages>
</image>
"""


def test_kiwi_profile_selects_packages_and_type(tmp_path: Path) -> None:
    path = tmp_path / "x.kiwi"
    path.write_text(KIWI)
    core = read_kiwi(path, name="x", profile="core")
    assert core.spec.formats == ("oci", "docker-archive")
    assert core.spec.packages == ("bash",) and core.spec.bootstrap_packages == ("filesystem",)
    assert core.spec.container.entrypoint == ("/bin/sh", "-c") and core.spec.container.env == {"LANG": "C.UTF-8"}
    assert core.spec.version == "2.1" and core.spec.container.tag == "2.1"
    assert core.spec.users[0].uid == 1000 and core.spec.users[0].groups == ("wheel", "users")
    vm = read_kiwi(path, name="x", profile="vm")
    assert vm.spec.formats == ("raw", "vhd-fixed") and vm.spec.packages == ("bash", "kernel")
    assert vm.spec.disk_size_mib == 2048 and core.spec.disk_size_mib is None


@pytest.mark.parametrize("size", ['<size unit="T">1</size>', '<size>big</size>'])
def test_a_kiwi_disk_size_that_is_not_whole_m_or_g_is_an_error(tmp_path: Path, size: str) -> None:
    path = tmp_path / "x.kiwi"
    path.write_text(KIWI.replace('<size unit="G">2</size>', size))
    with pytest.raises(ConfigError, match="expected a whole number of M or G"):
        read_kiwi(path, name="x", profile="vm")


def test_unknown_kiwi_elements_are_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "x.kiwi"
    path.write_text(KIWI)
    notes = read_kiwi(path, name="x", profile="core").notes
    assert "<drivers> is not supported and was ignored" in notes and "<file> is not supported and was ignored" in notes


def test_kiwi_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.kiwi"
    path.write_text(KIWI)
    with pytest.raises(ConfigError, match="profile 'desktop' is not defined"):
        read_kiwi(path, name="x", profile="desktop")
    path.write_text("<image>\n<preferences>\n</image>\n")
    with pytest.raises(ConfigError) as raised:
        read_kiwi(path, name="x", profile=None)
    assert str(raised.value).startswith(f"{path}:3: not well-formed XML")
    path.write_text('<!DOCTYPE x [<!ENTITY a "b">]><image/>')
    with pytest.raises(ConfigError, match="DOCTYPE or entities"):
        read_kiwi(path, name="x", profile=None)


def test_native_form_errors_have_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.image.toml"
    path.write_text('formats = ["oci"]\npackages = ["a"]\ncontianer = {}\n')
    with pytest.raises(ConfigError) as raised:
        read_native(path, name="x")
    assert str(raised.value) == f"{path}:3: unknown key 'contianer'; did you mean 'container'?"
    path.write_text('formats = ["oci", "vmdk"]\npackages = ["a"]\n')
    with pytest.raises(ConfigError, match=r":1: unknown image format 'vmdk'"):
        read_native(path, name="x")


def test_the_example_images() -> None:
    project = load_project(EXAMPLE)
    base = load_image(project, "container-base").spec
    distroless = load_image(project, "container-distroless").spec
    wsl = load_image(project, "wsl").spec
    assert "bash" in base.packages and "bash" not in distroless.packages
    assert distroless.distroless and not base.distroless
    assert base.container.cmd == ("/usr/bin/greet",)
    assert wsl.formats == ("wsl",) and wsl.users[0].name == "tribex" and wsl.config_script.name == "wsl-config.sh"
    with pytest.raises(ConfigError, match="unknown image 'container-bsae'; did you mean 'container-base'"):
        load_image(project, "container-bsae")
