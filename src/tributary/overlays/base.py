"""What every overlay is, whatever its type.

An overlay type is one pydantic model, a subclass of ``Overlay`` whose ``type`` field is a ``Literal``
of its name, written in its family's module (``tags``, ``lines``, ``search_replace``, ``sections``,
``patches``, ``files``). That class is the type's one home: its fields and their validation
(``check``), how it changes a component's sources (``apply``; spec types implement ``edit`` on the
parsed spec instead), and what ``upstream check`` needs to know (``aim_met``, ``succeeds_anyway``).
Defining the class registers it; ``tributary.overlays.registry`` imports every family module and builds
the discriminated union the configuration models validate overlays with.

The common fields are ``type``, ``description`` and ``metadata`` (why the change exists and where it
stands upstream: documentation only, never fingerprinted).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, ClassVar, Literal, Self, Union, cast, get_args, get_origin

from pydantic import Field, TypeAdapter, field_validator, model_validator
from pydantic.config import ExtraValues

from tributary.errors import OverlayError
from tributary.overlays.tree import ComponentTree, edit_spec
from tributary.spec import SpecDocument
from tributary.tables import Model, kebab


class Category(StrEnum):
    UPSTREAM_BACKPORT = "upstream-backport"
    PRUNING = "azl-pruning"
    COMPATIBILITY = "azl-compatibility"
    TEMP_WORKAROUND = "azl-temp-workaround"
    BRANDING_POLICY = "azl-branding-policy"
    DISABLE_FLAKY_TESTS = "azl-disable-flaky-tests"
    DISABLE_UNSUPPORTED_TESTS = "azl-disable-unsupported-tests"
    SECURITY_COMPLIANCE = "azl-security-compliance"
    RELEASE_MANAGEMENT = "azl-release-management"
    PLATFORM_ADAPTATION = "azl-platform-adaptation"


class UpstreamStatus(StrEnum):
    UPSTREAMED = "upstreamed"
    UPSTREAMABLE = "upstreamable"
    NEEDS_UPSTREAM_HOOK = "needs-upstream-hook"
    INAPPLICABLE = "inapplicable"
    UNKNOWN = "unknown"


_URL = re.compile(r"^https?://[^\s/]+\S*$")


class Link(Model):
    url: str

    @field_validator("url")
    @classmethod
    def _absolute_http(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError(f"{value!r} is not an absolute http(s) URL")
        return value


class Metadata(Model):
    """Why a change exists and where it stands upstream: documentation only, never fingerprinted."""

    category: Category
    upstream_status: UpstreamStatus
    commits: list[Link] = Field(default_factory=list)
    bugs: list[Link] = Field(default_factory=list)

    @model_validator(mode="after")
    def _backport_rules(self) -> Metadata:
        if self.category == Category.UPSTREAM_BACKPORT.value:
            if not self.commits:
                raise ValueError("category 'upstream-backport' needs at least one entry in commits")
            if self.upstream_status not in (UpstreamStatus.UPSTREAMED.value, UpstreamStatus.UPSTREAMABLE.value):
                raise ValueError("category 'upstream-backport' needs upstream-status 'upstreamed' or 'upstreamable'")
        return self


def type_name(model: type[Overlay]) -> str | None:
    """The overlay type a model defines (its ``type`` Literal), None for a base class."""
    field = model.model_fields.get("type")
    if field is None or get_origin(field.annotation) is not Literal:
        return None
    (name,) = get_args(field.annotation)
    return str(name)


# Every overlay type by name, filled as the family modules define their classes.
_REGISTERED: dict[str, type[Overlay]] = {}
# Every field some overlay type takes beyond the common ones: a key outside this set is simply unknown.
_PAYLOAD: set[str] = set()
_COMMON = frozenset({"type", "description", "metadata"})


class Overlay(Model):
    """One declarative change to a component's spec or files. The base of every overlay type (see the
    module docstring); ``Overlay.model_validate(data)`` validates any overlay, its ``type`` choosing the
    model."""

    type: str
    description: str | None = None
    metadata: Metadata | None = None

    succeeds_anyway: ClassVar[bool] = False
    """``upstream check``: the overlay still succeeds when upstream already carries what it aims at
    (it duplicates or re-spaces it), so "no-op" is judged by ``aim_met`` before it runs."""
    leaves_tree_unchanged: ClassVar[bool] = False
    """``upstream check``: the overlay may rightly change nothing here (its effect comes later in the
    render), so an unchanged tree does not make it redundant."""
    _accepted: ClassVar[frozenset[str]] = frozenset()
    _required: ClassVar[frozenset[str]] = frozenset()
    _type_name: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = type_name(cls)
        if name is None:
            return  # an intermediate base (SpecOverlay, TagOverlay...), not a type of its own
        if name in _REGISTERED:
            raise TypeError(f"overlay type {name!r} is defined twice: {_REGISTERED[name].__qualname__} and "
                            f"{cls.__qualname__}")
        payload = {kebab(field): info for field, info in cls.model_fields.items() if field not in _COMMON}
        cls._type_name = name
        cls._accepted = frozenset(payload)
        cls._required = frozenset(key for key, info in payload.items() if info.is_required())
        _PAYLOAD.update(payload)
        _REGISTERED[name] = cls
        _adapter.cache_clear()

    # -- validation --------------------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _fields_fit_type(cls, data: Any) -> Any:
        """Say which fields the type needs or refuses, in the words of the type rather than pydantic's."""
        name = cls._type_name
        if name is None or not isinstance(data, dict):
            return data
        given = {str(key).replace("_", "-") for key, value in data.items() if value is not None} - _COMMON
        if given - _PAYLOAD:
            return data  # a key no type takes, likely a typo: pydantic's "unknown key" says more than "requires"
        missing = sorted(cls._required - given)
        if missing:
            raise ValueError(f"overlay type {name!r} requires {', '.join(missing)}")
        refused = sorted((given - cls._accepted) & _PAYLOAD)
        if refused:
            raise ValueError(f"overlay type {name!r} does not take {', '.join(refused)}")
        return data

    @model_validator(mode="after")
    def _type_rules(self) -> Self:
        self.check()
        return self

    def check(self) -> None:
        """Rules beyond the fields' types; a ValueError names what is wrong."""

    # -- what each type does -------------------------------------------------------------------------

    def apply(self, tree: ComponentTree) -> None:
        """Change the component's sources directory; an OverlayError says what did not match."""
        raise OverlayError(f"{self.type} has no way to apply itself")

    def aim_met(self, tree: ComponentTree) -> bool:
        """``upstream check``: whether the state this overlay exists to reach already holds in ``tree``,
        before it runs. In doubt, False: a false "no-op" would invite deleting a needed overlay."""
        return False

    def already_upstream(self, tree: ComponentTree) -> str | None:
        """``upstream check``: why upstream already carries this overlay's change, so that the overlay is
        redundant and can be dropped, or None. The evidence says where (types that can tell override
        this); the default only knows that ``aim_met`` holds."""
        return "what it aims at is already there" if self.aim_met(tree) else None

    def archive_name(self) -> str | None:
        """The tarball this overlay edits inside, if it does (see ``tributary.overlays.archives``)."""
        return None

    def apply_in_archive(self, work: Path, archive: str) -> None:
        """Apply inside the extracted ``archive`` (its content root is ``work``)."""
        raise OverlayError(f"{self.type} cannot work inside an archive")

    def loose_file(self) -> str | None:
        """The file (or glob) this overlay names among the loose files of the sources directory."""
        return None

    def copied_file(self) -> tuple[str, Path] | None:
        """The file this overlay copies into the sources: its name there, and where it is read from."""
        return None

    # -- JSON -----------------------------------------------------------------------------------------

    def json_shows(self, name: str, value: Any) -> bool:
        """A field appears as written: when the TOML set it (required fields always are). So an overlay's
        JSON, and the input fingerprint hashed from it, do not depend on the defaults its type chose."""
        if value is None:
            return False
        return name == "type" or name in self.model_fields_set or type(self).model_fields[name].is_required()

    # -- any overlay from data ------------------------------------------------------------------------

    @classmethod
    def model_validate(cls, obj: Any, *, strict: bool | None = None, extra: ExtraValues | None = None,
                       from_attributes: bool | None = None, context: Any | None = None,
                       by_alias: bool | None = None, by_name: bool | None = None) -> Self:
        if cls is not Overlay:
            return super().model_validate(obj, strict=strict, extra=extra, from_attributes=from_attributes,
                                          context=context, by_alias=by_alias, by_name=by_name)
        return cast(Self, _adapter().validate_python(obj, strict=strict, from_attributes=from_attributes,
                                                     context=context))

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
        """Without validation (tests of what handlers do with unchecked values); on ``Overlay`` itself
        the ``type`` value chooses the model."""
        if cls is not Overlay:
            return super().model_construct(_fields_set, **values)
        return cast(Self, _REGISTERED[values["type"]].model_construct(_fields_set, **values))


class SpecOverlay(Overlay):
    """An overlay that edits the spec alone: a pure edit of the parsed document, applied in place."""

    def edit(self, doc: SpecDocument) -> None:
        raise OverlayError(f"{self.type} does not edit the spec")

    def apply(self, tree: ComponentTree) -> None:
        edit_spec(tree, self.edit)


def registered() -> dict[str, type[Overlay]]:
    """Every overlay type defined so far, by name in alphabetical order (``registry`` imports every
    family module first)."""
    return dict(sorted(_REGISTERED.items()))


def any_overlay() -> Any:
    """The annotation configuration fields validate overlays with: the discriminated union of every
    registered type on ``type``."""
    members = tuple(registered().values())
    return Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007 - built at run time


@cache
def _adapter() -> TypeAdapter[Overlay]:
    return TypeAdapter(any_overlay())


# -- checks shared by several types -----------------------------------------------------------------------


def check_section(section: str) -> None:
    if not section.startswith("%"):
        raise ValueError(f"section {section!r} must start with '%' (for example '%build')")


def check_regex(regex: str) -> None:
    try:
        re.compile(regex)
    except re.error as exc:
        raise ValueError(f"invalid regex {regex!r}: {exc}") from exc


def check_overlay_path(value: str, field: str) -> None:
    """``file``/``archive`` values name files inside the component's own sources."""
    pure = PurePosixPath(value)
    if not value or pure.is_absolute() or value.startswith("\\"):
        raise ValueError(f"{field} {value!r} must be relative to the component's directory")
    if ".." in pure.parts:
        raise ValueError(f"{field} {value!r} must not contain '..'")

