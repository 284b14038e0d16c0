"""Typed models of the azldev configuration format, read unchanged.

TOML keys are kebab-case (``rendered-specs-dir``); Python fields are snake_case and JSON output is
camelCase. Every table forbids unknown keys, as azldev does, so a typo is an error with a line number
rather than a silently ignored setting. Validation that only needs one file lives here; rules that
need the merged project (group members exist, distro references resolve) live in ``validate``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from tributary.globbing import match
from tributary.overlays import AnyOverlay
from tributary.overlays import Overlay as Overlay  # re-exported, like the metadata: part of the format
from tributary.overlays.base import Category as Category
from tributary.overlays.base import Link as Link
from tributary.overlays.base import Metadata
from tributary.overlays.base import UpstreamStatus as UpstreamStatus
from tributary.tables import Model, kebab

# ---------------------------------------------------------------------------------------------
# Overlays: each type's model lives in its family's module (tributary.overlays); a field holding an
# overlay is annotated with AnyOverlay, the discriminated union of them all.


class OverlayFile(Model):
    """A per-file overlay document (``overlays/NNNN-*.overlay.toml``): one metadata block, many overlays."""

    metadata: Metadata
    overlays: list[AnyOverlay] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_inner_metadata(self) -> OverlayFile:
        for overlay in self.overlays:
            if overlay.metadata is not None:
                raise ValueError(
                    "an overlay file carries one top-level [metadata]; overlays in it may not have their own"
                )
        return self


# ---------------------------------------------------------------------------------------------
# Components


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_HEX_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._+-]+$")


def is_safe_name(name: str) -> bool:
    """Whether ``_safe_name`` accepts ``name``."""
    return name not in (".", "..") and _SAFE_NAME.match(name) is not None


def _safe_name(name: str) -> str:
    """A component or test suite name: it names an RPM, a spec file and a directory, so only the
    characters RPM package names use (azldev's rule), never ``.`` or ``..``."""
    if name in (".", ".."):
        raise ValueError(f"name {name!r} cannot name a directory; use ASCII letters, digits and . _ + -")
    if not _SAFE_NAME.match(name):
        wrong = "".join(dict.fromkeys(char for char in name if not _SAFE_NAME.match(char)))
        raise ValueError(f"name {name!r} uses {wrong!r}: a name (an RPM package name) may use only the ASCII "
                         "letters A-Z and a-z, the digits 0-9 and . _ + -")
    return name


SafeName = Annotated[str, AfterValidator(_safe_name)]


def parse_snapshot(value: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset, as azldev's snapshot field requires."""
    if not _RFC3339.match(value):
        raise ValueError(f"snapshot {value!r} is not an RFC 3339 timestamp such as 2026-02-24T00:00:00-08:00")
    return datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))


class DistroRef(Model):
    name: str | None = None
    version: str | None = None
    snapshot: str | None = None

    @field_validator("snapshot", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> Any:
        if isinstance(value, datetime):  # TOML offset date-times arrive parsed
            if value.tzinfo is None:
                raise ValueError("snapshot must carry a time-zone offset (RFC 3339)")
            return value.isoformat()
        if isinstance(value, str):
            parse_snapshot(value)
        return value


class SpecType(StrEnum):
    UPSTREAM = "upstream"
    LOCAL = "local"
    NONE = ""


class SpecSource(Model):
    type: SpecType
    path: str | None = None
    upstream_distro: DistroRef | None = None
    upstream_name: str | None = None
    upstream_commit: str | None = None
    reason: str | None = Field(
        default=None,
        description="tributary extension: why a local spec forks upstream (required by `trib lint` for local specs).",
    )

    @field_validator("upstream_commit")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not _HEX_COMMIT.match(value):
            raise ValueError(f"upstream-commit {value!r} must be 7 to 40 hexadecimal digits")
        return value

    @model_validator(mode="after")
    def _type_rules(self) -> SpecSource:
        if self.type == SpecType.LOCAL.value and not self.path:
            raise ValueError("a local spec needs path")
        if self.type != SpecType.LOCAL.value and self.path is not None:
            raise ValueError("path is only allowed with type = 'local'")
        for field in ("upstream_name", "upstream_commit"):
            if getattr(self, field) is not None and self.type != SpecType.UPSTREAM.value:
                raise ValueError(f"{kebab(field)} needs type = 'upstream' in the same table")
        return self


class ReleaseCalculation(StrEnum):
    AUTO = "auto"
    AUTORELEASE = "autorelease"
    STATIC = "static"
    MANUAL = "manual"


class Release(Model):
    calculation: ReleaseCalculation | None = None


class CheckConfig(Model):
    skip: bool | None = None
    skip_reason: str | None = Field(default=None, alias="skip_reason")  # azldev spells this one with _

    @model_validator(mode="after")
    def _reason(self) -> CheckConfig:
        if self.skip and not self.skip_reason:
            raise ValueError("check.skip = true needs skip_reason")
        return self


class FailureConfig(Model):
    expected: bool | None = None
    expected_reason: str | None = None

    @model_validator(mode="after")
    def _reason(self) -> FailureConfig:
        if self.expected and not self.expected_reason:
            raise ValueError("failure.expected = true needs expected-reason")
        return self


class Hints(Model):
    expensive: bool | None = None


class BuildConfig(Model):
    with_: list[str] = Field(default_factory=list, alias="with")
    without: list[str] = Field(default_factory=list)
    defines: dict[str, str] = Field(default_factory=dict)
    undefines: list[str] = Field(default_factory=list)
    emit_upstream_provenance: bool | None = None
    check: CheckConfig | None = None
    failure: FailureConfig | None = None
    hints: Hints | None = None


class RenderConfig(Model):
    skip_file_filter: bool | None = None
    keep_used_macros: bool | None = Field(default=None, description=(
        "tributary extension: a spec-remove-section/-subpackage keeps the %global/%define lines of the removed "
        "sections that the rest of the spec still uses (azldev drops them; its issue 203). Off by default."))
    drop_empty_conditionals: bool | None = Field(default=None, description=(
        "tributary extension: a spec-remove-section/-subpackage also deletes the %if ... %endif it leaves with "
        "nothing inside (azldev keeps it). Off by default."))


class OriginType(StrEnum):
    DOWNLOAD = "download"
    CUSTOM = "custom"
    OVERLAY = "overlay"


class Origin(Model):
    type: OriginType
    uri: str | None = None
    script: str | None = None
    mock_packages: list[str] | None = None
    inputs: list[str] | None = None

    @model_validator(mode="after")
    def _type_rules(self) -> Origin:
        if self.type == OriginType.DOWNLOAD.value and (not self.uri or "://" not in self.uri):
            raise ValueError("origin type 'download' needs a uri with a scheme")
        if self.type == OriginType.CUSTOM.value and not self.script:
            raise ValueError("origin type 'custom' needs script")
        if self.type == OriginType.OVERLAY.value and self.uri is not None:
            raise ValueError("origin type 'overlay' takes no uri")
        return self


class HashType(StrEnum):
    SHA256 = "SHA256"
    SHA512 = "SHA512"


class SourceFile(Model):
    filename: str
    hash: str | None = None
    hash_type: HashType | None = None
    origin: Origin
    replace_upstream: bool | None = None
    replace_reason: str | None = None

    @field_validator("hash_type", mode="before")
    @classmethod
    def _no_md5(cls, value: Any) -> Any:
        if isinstance(value, str) and value.upper() == "MD5":
            raise ValueError("MD5 is refused; use SHA256 or SHA512")
        return value

    @model_validator(mode="after")
    def _rules(self) -> SourceFile:
        if not _SAFE_NAME.match(self.filename) or self.filename in (".", ".."):
            raise ValueError(f"filename {self.filename!r} must be a plain file name")
        if self.hash is not None and self.hash_type is None:
            raise ValueError("hash needs hash-type")
        if self.replace_upstream and not self.replace_reason:
            raise ValueError("replace-upstream = true needs replace-reason")
        if self.origin.type == OriginType.OVERLAY.value and not self.replace_upstream:
            raise ValueError("origin type 'overlay' needs replace-upstream = true")
        return self


class PublishSettings(Model):
    rpm_channel: str | None = None
    srpm_channel: str | None = None
    debuginfo_channel: str | None = None
    channel: str | None = None  # deprecated spelling of rpm-channel, still read

    @model_validator(mode="after")
    def _channel_names(self) -> PublishSettings:
        for field in ("rpm_channel", "srpm_channel", "debuginfo_channel", "channel"):
            value = getattr(self, field)
            if value is not None and (value in (".", "..") or "/" in value or "\\" in value):
                raise ValueError(f"channel name {value!r} may not be '.', '..' or contain a slash")
        return self

    @property
    def effective_rpm_channel(self) -> str | None:
        return self.rpm_channel or self.channel


class PackageConfig(Model):
    publish: PublishSettings | None = None


class ComponentConfig(Model):
    """A component table, and also every ``default-component-config`` layer it inherits from."""

    spec: SpecSource | None = None
    release: Release | None = None
    overlays: list[AnyOverlay] = Field(default_factory=list)
    overlay_files: list[str] | None = None
    build: BuildConfig | None = None
    render: RenderConfig | None = None
    source_files: list[SourceFile] = Field(default_factory=list)
    packages: dict[str, PackageConfig] = Field(default_factory=dict)
    publish: PublishSettings | None = None
    unset: list[str] = Field(
        default_factory=list,
        description=(
            "tributary extension: dotted keys (for example 'build.check' or 'overlays') whose inherited "
            "values this layer clears before its own values apply."
        ),
    )

    @field_validator("unset")
    @classmethod
    def _known_paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if not is_unsettable(path):
                raise ValueError(f"unset: {path!r} is not a component setting (try e.g. 'build.check.skip')")
        return value


def is_unsettable(dotted: str) -> bool:
    """Whether ``dotted`` names a field of ComponentConfig (or a key inside one of its maps)."""
    model: Any = ComponentConfig
    parts = dotted.split(".")
    for index, part in enumerate(parts):
        if model is None:
            return False
        fields = {(info.alias or name): info for name, info in model.model_fields.items()}
        if part not in fields or part == "unset":
            return False
        annotation = fields[part].annotation
        model = _model_inside(annotation)
        if model is None and _is_map(annotation):
            return index + 1 >= len(parts) - 1  # a key of the map, or the map itself
    return True


def _model_inside(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, Model):
            return arg
    return None


def _is_map(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is dict


class Component(ComponentConfig):
    """A named ``[components.NAME]`` table as written (before inheritance)."""

    @field_validator("spec")
    @classmethod
    def _no_snapshot(cls, spec: SpecSource | None) -> SpecSource | None:
        if spec and spec.upstream_distro and spec.upstream_distro.snapshot is not None:
            raise ValueError(
                "snapshot is not allowed on a component: set it in a distro or group default-component-config, "
                "or pin spec.upstream-commit"
            )
        return spec


# ---------------------------------------------------------------------------------------------
# Project, distros, groups, images, packages


class ProjectSection(Model):
    description: str | None = None
    log_dir: str | None = None
    work_dir: str | None = None
    output_dir: str | None = None
    rendered_specs_dir: str | None = None
    lock_dir: str | None = None
    default_distro: DistroRef | None = None
    default_author_email: str | None = None


class RepoEndpoint(Model):
    base_uri: str


class RepoInput(Model):
    repo: str | None = None
    set: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RepoInput:
        if (self.repo is None) == (self.set is None):
            raise ValueError("an input names exactly one of repo or set")
        return self


class DistroInputs(Model):
    rpm_build: list[RepoInput] = Field(default_factory=list)
    image_build: list[RepoInput] = Field(default_factory=list)


class DistroVersion(Model):
    description: str | None = None
    release_ver: str
    dist_git_branch: str | None = None
    default_component_config: ComponentConfig | None = None
    mock_config: str | None = None
    mock_config_x86_64: str | None = Field(default=None, alias="mock-config-x86_64")
    mock_config_aarch64: str | None = Field(default=None, alias="mock-config-aarch64")
    inputs: DistroInputs | None = None

    @field_validator("release_ver", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class Distro(Model):
    description: str | None = None
    default_version: str | None = None
    dist_git_base_uri: str | None = None
    lookaside_base_uri: str | None = None
    repos: list[RepoEndpoint] = Field(default_factory=list)
    disable_origins: bool | None = None
    versions: dict[str, DistroVersion] = Field(default_factory=dict)


class RpmRepo(Model):
    description: str | None = None
    type: str = "rpm-md"
    base_uri: str | None = None
    metalink: str | None = None
    disable_gpg_check: bool | None = None
    gpg_key: str | None = None
    arches: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules(self) -> RpmRepo:
        if self.type != "rpm-md":
            raise ValueError("type must be 'rpm-md'")
        if (self.base_uri is None) == (self.metalink is None):
            raise ValueError("a repo needs exactly one of base-uri or metalink")
        if not self.disable_gpg_check and not self.gpg_key:
            raise ValueError("gpg-key is required unless disable-gpg-check = true")
        return self


class SubrepoKind(StrEnum):
    BINARY = "binary"
    DEBUG = "debug"
    SOURCE = "source"


class SubrepoTemplate(Model):
    name: str
    subpath: str
    kind: SubrepoKind = SubrepoKind.BINARY


class RepoSetTemplate(Model):
    description: str | None = None
    subrepos: list[SubrepoTemplate]


class RepoSet(Model):
    template: str
    base_uri: str
    name_prefix: str | None = None
    gpg_key: str | None = None
    disable_gpg_check: bool | None = None
    arches: list[str] = Field(default_factory=list)
    subrepos: list[str] = Field(default_factory=list)


_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class Resources(Model):
    rpm_repos: dict[str, RpmRepo] = Field(default_factory=dict)
    rpm_repo_set_templates: dict[str, RepoSetTemplate] = Field(default_factory=dict)
    rpm_repo_sets: dict[str, RepoSet] = Field(default_factory=dict)

    @field_validator("rpm_repos")
    @classmethod
    def _ids(cls, value: dict[str, RpmRepo]) -> dict[str, RpmRepo]:
        for key in value:
            if not _REPO_ID.match(key):
                raise ValueError(f"repo id {key!r} must match {_REPO_ID.pattern}")
        return value


class ComponentGroup(Model):
    description: str | None = None
    metadata: Metadata | None = None
    components: list[str] = Field(default_factory=list)
    specs: list[str] = Field(default_factory=list)
    excluded_paths: list[str] = Field(default_factory=list)
    default_component_config: ComponentConfig | None = None


class ImageDefinitionType(StrEnum):
    KIWI = "kiwi"
    NATIVE = "native"


class ImageDefinition(Model):
    type: ImageDefinitionType
    path: str | None = None
    profile: str | None = None


class ImageCapabilities(Model):
    machine_bootable: bool | None = None
    container: bool | None = None
    systemd: bool | None = None
    runtime_package_management: bool | None = None


class TestSuiteRef(Model):
    name: str


class ImageTests(Model):
    test_suites: list[TestSuiteRef] = Field(default_factory=list)


class ImagePublish(Model):
    channels: list[str] = Field(default_factory=list)


class Image(Model):
    description: str | None = None
    definition: ImageDefinition | None = None
    capabilities: ImageCapabilities | None = None
    tests: ImageTests | None = None
    publish: ImagePublish | None = None


class PackageGroup(Model):
    description: str | None = None
    packages: list[str] = Field(default_factory=list)
    default_package_config: PackageConfig | None = None
    import_from_buildroot: bool | None = Field(
        default=None,
        description="tributary extension: the packages of this group that no component builds, and what they "
                    "need at run time, are imported by `trib build` from the buildroot's repositories "
                    "(a bootstrap distribution's glibc, say) and published like built packages.",
    )


class TestSuiteType(StrEnum):
    PYTEST = "pytest"
    LISA = "lisa"


class PytestSuite(Model):
    working_dir: str | None = None
    test_paths: list[str] = Field(default_factory=list)
    extra_args: list[str] = Field(default_factory=list)
    install: str | None = None


class LisaFramework(Model):
    git_url: str
    ref: Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")]


class LisaSuite(Model):
    framework: LisaFramework
    test_cases: list[str] = Field(default_factory=list)
    pip_pre_install: list[str] = Field(default_factory=list)
    pip_extras: list[str] = Field(default_factory=list)
    extra_args: list[str] = Field(default_factory=list)


class TestSuite(Model):
    description: str | None = None
    type: TestSuiteType
    pytest: PytestSuite | None = None
    lisa: LisaSuite | None = None


class ImageCustomizerTool(Model):
    model_config = ConfigDict(alias_generator=None, extra="forbid", frozen=True)
    containerTag: str | None = None


class Tools(Model):
    imageCustomizer: ImageCustomizerTool | None = Field(default=None, alias="imageCustomizer")


# ---------------------------------------------------------------------------------------------
# The release audit (a tributary extension; docs/AUDIT.md)

# Every check the audit knows (tributary.audit checks that its own lists match): the ELF checks run
# on each program and library of each built RPM, the others on each image.
AUDIT_ELF_CHECKS = ("pie", "relro", "stack-protector", "fortify", "nx-stack", "cet", "rpath")
AUDIT_IMAGE_CHECKS = ("selinux-config", "selinux-policy", "sysctl", "setuid", "world-writable", "fips",
                      "sbom-rpmdb")
AUDIT_CHECKS = AUDIT_ELF_CHECKS + AUDIT_IMAGE_CHECKS


def _known_checks(pattern: str) -> str:
    """A check name or shell glob over them; one that matches no check is a typo."""
    if not any(match(pattern, check) for check in AUDIT_CHECKS):
        raise ValueError(f"{pattern!r} names no audit check (known: {', '.join(AUDIT_CHECKS)})")
    return pattern


class AuditWaiver(Model):
    """A known failure accepted, for a reason, until a date: it never silences anything else."""

    check: str
    package: str | None = None
    path: str | None = None
    image: str | None = None
    reason: Annotated[str, Field(min_length=1)]
    expires: date | None = None

    @field_validator("check")
    @classmethod
    def _check_known(cls, value: str) -> str:
        return _known_checks(value)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a waiver needs a reason")
        return value


class AuditImage(Model):
    selinux_policy_package: str | None = None


class AuditConfig(Model):
    """``[audit]``: which checks fail a release, what is waived, which set-id files are expected."""

    required: list[str] | None = None
    setuid_allow: list[str] = Field(default_factory=list)
    waivers: list[AuditWaiver] = Field(default_factory=list)
    images: dict[str, AuditImage] = Field(default_factory=dict)

    @field_validator("required")
    @classmethod
    def _required_known(cls, value: list[str] | None) -> list[str] | None:
        for pattern in value or []:
            _known_checks(pattern)
        return value


class ConfigFile(Model):
    """Everything one TOML file of the project may hold."""

    schema_: str | None = Field(default=None, alias="$schema")
    includes: list[str] = Field(default_factory=list)
    project: ProjectSection | None = None
    distros: dict[str, Distro] = Field(default_factory=dict)
    resources: Resources | None = None
    default_component_config: ComponentConfig | None = None
    components: dict[SafeName, Component] = Field(default_factory=dict)
    component_groups: dict[str, ComponentGroup] = Field(default_factory=dict)
    images: dict[str, Image] = Field(default_factory=dict)
    default_package_config: PackageConfig | None = None
    package_groups: dict[str, PackageGroup] = Field(default_factory=dict)
    test_suites: dict[SafeName, TestSuite] = Field(default_factory=dict)
    tools: Tools | None = None
    audit: AuditConfig | None = None
