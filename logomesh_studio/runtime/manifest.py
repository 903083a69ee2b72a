"""Plugin manifests: ``plugin.toml`` or ``manifest.json``, validated with pydantic.

Every invalid manifest becomes a :class:`ManifestError` whose problems each name
the file, the field and the reason; nothing here lets a raw traceback escape.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from logomesh_studio._validation import field_path, reason
from logomesh_studio.runtime.security import PermissionSyntaxError, parse_permission

MANIFEST_NAMES = ("plugin.toml", "manifest.json")
MAX_MANIFEST_BYTES = 1024 * 1024

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[.\-_][a-z0-9]+)*$")
_ENTRY_PATTERN = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a workspace: the file, the field and the reason."""

    path: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class ManifestError(Exception):
    """A manifest could not be read or is invalid; ``problems`` lists every reason and
    ``plugin_id`` the id it gives, when it gives one (so dependents can say it is there)."""

    def __init__(self, problems: list[Problem], plugin_id: str | None = None) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
        self.plugin_id = plugin_id

    @property
    def path(self) -> str:
        return self.problems[0].path

    @property
    def field(self) -> str:
        return self.problems[0].field

    @property
    def reason(self) -> str:
        return self.problems[0].reason


def _check_id(value: str, what: str = "id") -> str:
    if len(value) > 100:
        raise ValueError(f"{what} is {len(value)} characters long (at most 100)")
    if not ID_PATTERN.match(value):
        raise ValueError(
            f"{value[:60]!r} is not a valid plugin id (lowercase letters and digits, "
            "separated by single dots, dashes or underscores, e.g. 'text.tokenizer')"
        )
    return value


def _check_dependency_id(value: str) -> str:
    return _check_id(value, "dependency id")


def _specifier_hint(spec: str) -> str:
    """A PEP 440 spelling of an npm/Cargo-style range (``^1.0`` -> ``>=1.0,<2``), as a hint."""
    operator, rest = spec[:1], spec[1:].strip()
    if operator not in ("^", "~"):
        return ""
    try:
        release = list(Version(rest).release)
    except InvalidVersion:
        return ""
    if operator == "^":  # the first non-zero part may not change
        index = next((i for i, part in enumerate(release) if part), len(release) - 1)
    else:  # ~1.2 lets only what follows 1.2 change; ~1 means 1.x
        index = min(1, len(release) - 1)
    upper = ".".join(str(part) for part in [*release[:index], release[index] + 1])
    return f" (try '>={rest},<{upper}')"


def _check_specifier(spec: str) -> str:
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        raise ValueError(f"{spec[:60]!r} is not a valid version specifier"
                         f"{_specifier_hint(spec)}") from None
    return spec


def _check_capability(value: str) -> str:
    if not re.match(r"^[a-z0-9][a-z0-9._\-]{0,99}$", value):
        raise ValueError(f"{value[:60]!r} is not a valid capability name "
                         "(lowercase letters, digits, '.', '-', '_')")
    return value


def _check_permission(value: str) -> str:
    try:
        parse_permission(value)
    except PermissionSyntaxError as exc:
        raise ValueError(str(exc)) from None
    return value


# Each item is checked on its own, so every bad item is reported, at its own index/key.
_Capability = Annotated[str, AfterValidator(_check_capability)]
_DependencyId = Annotated[str, AfterValidator(_check_dependency_id)]
_Specifier = Annotated[str, AfterValidator(_check_specifier)]
_Permission = Annotated[str, AfterValidator(_check_permission)]


class UiSection(BaseModel):
    """The manifest's optional ``[ui]`` table: a Studio panel for the plugin.

    ``panel`` is ``module:callable``, a module beside the plugin's package that the
    runtime never imports; Studio imports it and calls the factory on the GUI thread
    (see docs/plugin-guide.md, "A Studio panel").
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    panel: str
    title: str = Field(default="", max_length=200)

    @field_validator("panel")
    @classmethod
    def _valid_panel(cls, value: str) -> str:
        if not _ENTRY_PATTERN.match(value):
            raise ValueError(f"{value[:60]!r} is not 'module:function' "
                             "(e.g. 'echo_panel:make_panel')")
        return value


def _check_file(value: str) -> str:
    if not value or "\x00" in value:
        raise ValueError(f"{value[:60]!r} is not a path (give an absolute path or one "
                         "relative to the plugin folder)")
    return value


_File = Annotated[str, AfterValidator(_check_file)]


class Limits(BaseModel):
    """The manifest's optional ``[limits]`` table: what an isolated plugin's process may
    use (see docs/plugin-guide.md, "Security"). Unset means no limit."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    memory_mb: int | None = Field(default=None, ge=64, le=1024 * 1024)
    """Address space of the plugin's process in MiB (RLIMIT_AS)."""
    cpu_seconds: int | None = Field(default=None, ge=1)
    """CPU time the plugin's process may use in all (RLIMIT_CPU)."""
    files: list[_File] = Field(default_factory=list)
    """Extra paths the plugin may read and write (absolute or relative to its folder)."""
    network: bool = False
    """Whether the plugin may open sockets."""


ISOLATION_MODES = ("none", "process")


class Manifest(BaseModel):
    """A validated plugin manifest. Field meanings are in docs/plugin-guide.md."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=200)
    version: str
    description: str = Field(default="", max_length=10_000)
    entry: str
    capabilities: list[_Capability] = Field(default_factory=list)
    dependencies: dict[_DependencyId, _Specifier] = Field(default_factory=dict)
    permissions: list[_Permission] = Field(default_factory=list)
    priority: int = 0
    config: dict[str, Any] = Field(default_factory=dict)
    ui: UiSection | None = None
    isolation: Literal["none", "process"] = "none"
    limits: Limits | None = None

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("version")
    @classmethod
    def _valid_version(cls, value: str) -> str:
        try:
            Version(value)
        except InvalidVersion:
            raise ValueError(f"{value[:60]!r} is not a PEP 440 version (e.g. '1.0.2')") from None
        return value

    @field_validator("entry")
    @classmethod
    def _valid_entry(cls, value: str) -> str:
        if not _ENTRY_PATTERN.match(value):
            raise ValueError(f"{value[:60]!r} is not 'module:Class' (e.g. 'echo:EchoPlugin')")
        return value

    @field_validator("capabilities")
    @classmethod
    def _distinct_capabilities(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists the same capability twice")
        return value

    @field_validator("limits")
    @classmethod
    def _limits_need_isolation(cls, value: Limits | None, info: ValidationInfo
                               ) -> Limits | None:
        if value is not None and info.data.get("isolation") != "process":
            raise ValueError("applies only to isolated plugins: add isolation = "
                             "\"process\" or remove [limits]")
        return value

    @property
    def parsed_version(self) -> Version:
        return Version(self.version)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(str(path), "(file)",
                                     f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                                     f"{exc.start})")]) from None


def parse_manifest_text(path: Path, raw: bytes) -> dict[str, Any]:
    """Parse manifest bytes into a raw dict; syntax problems become ManifestError."""
    where = str(path)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError([Problem(where, "(file)", f"is {len(raw)} bytes "
                                     f"(manifests are limited to {MAX_MANIFEST_BYTES})")])
    text = _decode(path, raw)
    if "\x00" in text:
        raise ManifestError([Problem(where, "(file)", "contains NUL bytes (binary file?)")])
    if path.name.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError([Problem(where, "(syntax)", f"invalid JSON: {exc.msg} "
                                         f"(line {exc.lineno}, column {exc.colno})")]) from None
        except RecursionError:
            raise ManifestError([Problem(where, "(syntax)", "JSON nested too deeply")]) from None
        if not isinstance(data, dict):
            raise ManifestError([Problem(where, "(manifest)",
                                         f"must be a JSON object, not {type(data).__name__}")])
        if "main" in data:
            if "entry" in data:
                raise ManifestError([Problem(where, "main",
                                             "give either 'entry' or its alias 'main', not both")])
            data["entry"] = data.pop("main")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError([Problem(where, "(syntax)", f"invalid TOML: {exc}")]) from None
    except RecursionError:
        raise ManifestError([Problem(where, "(syntax)", "TOML nested too deeply")]) from None


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The fields allowed where an error points: the ``[ui]`` or ``[limits]`` table's, or
    the manifest's."""
    tables: dict[Any, type[BaseModel]] = {"ui": UiSection, "limits": Limits}
    model = tables.get(loc[0], Manifest) if len(loc) > 1 else Manifest
    return list(model.model_fields)


def validate_manifest(path: Path, data: dict[str, Any]) -> Manifest:
    """Validate a raw manifest dict; every problem is reported at once."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(str(path),
                            field_path([p for p in err["loc"] if p != "[key]"], "(manifest)"),
                            reason(err, _fields_at(err["loc"])))
                    for err in exc.errors(include_url=False)]
        plugin_id = data.get("id")
        raise ManifestError(problems, plugin_id if isinstance(plugin_id, str) else None) from None


_parsed: dict[str, tuple[bytes, Manifest]] = {}
"""Manifest path -> the bytes last read there and their (frozen) Manifest: a hot reload
re-reads the manifest of every plugin it reloads, and it has rarely changed."""


def load_manifest(path: Path) -> Manifest:
    """Read and validate the manifest file at ``path``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError([Problem(str(path), "(file)", f"cannot read: {exc.strerror}")]) from None
    key = str(path)
    cached = _parsed.get(key)
    if cached is not None and cached[0] == raw:
        return cached[1]
    manifest = validate_manifest(path, parse_manifest_text(path, raw))
    _parsed[key] = (raw, manifest)
    return manifest
