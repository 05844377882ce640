"""Typed configuration: one YAML file onto dataclasses, plus `--set` and `--skip`.

Every stage's settings are a dataclass next to the stage's code; `RunConfig` gathers
them under the stage names of the public interface. Unknown keys and wrongly typed
values are one-line `ConfigError`s that name the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.extract.extractor import ExtractConfig
from ccforge.filters.c4 import C4Config
from ccforge.filters.decontaminate import DecontaminateConfig
from ccforge.filters.fineweb_quality import FineWebQualityConfig
from ccforge.filters.gopher_quality import GopherQualityConfig
from ccforge.filters.gopher_repetition import GopherRepetitionConfig
from ccforge.filters.language import LanguageConfig
from ccforge.filters.pii import PiiConfig
from ccforge.filters.quality_classifier import QualityClassifierConfig
from ccforge.filters.url_filter import UrlFilterConfig
from ccforge.read.reader import ReadConfig
from ccforge.tokenize.config import TokenizeConfig

BUILTIN_CONFIGS = ("fineweb-en", "fineweb-en-hq", "multilingual")
REQUIRED_STAGES = ("read", "extract")  # without them there is no text to judge


class ConfigError(ValueError):
    """A user error in the config, `--set` or `--skip`; its message is one line."""


@dataclasses.dataclass
class OutputConfig:
    target_file_bytes: int = 256 * 1024 * 1024  # documents Parquet files roll over at this size
    compression: str = "zstd"
    write_rejects: bool = False  # OUT/rejects/<stage>/ with the drop reason per document
    # On the local runner, phase B runs inside the driver process when phase A kept less
    # text than this (characters): starting worker processes and moving rows between them
    # costs more than a second core gains on small runs (bench WARC: 5.1 s against 7.4 s).
    in_process_phase_b_chars: int = 64_000_000
    # Likewise phase A, when the inputs are local files of fewer bytes than this in all: on
    # the 53-page sample its worker processes cost 6.3 s against 2.5 s in the driver, where
    # one core extracts ~25 pages/s (README, Fixed cost of a run). 0: never.
    in_process_phase_a_bytes: int = 2 * 1024 * 1024


@dataclasses.dataclass
class RunConfig:
    """The whole job's settings, one section per stage in flow order."""

    read: ReadConfig = dataclasses.field(default_factory=ReadConfig)
    url_filter: UrlFilterConfig = dataclasses.field(default_factory=UrlFilterConfig)
    extract: ExtractConfig = dataclasses.field(default_factory=ExtractConfig)
    language: LanguageConfig = dataclasses.field(default_factory=LanguageConfig)
    gopher_repetition: GopherRepetitionConfig = dataclasses.field(default_factory=GopherRepetitionConfig)
    gopher_quality: GopherQualityConfig = dataclasses.field(default_factory=GopherQualityConfig)
    c4: C4Config = dataclasses.field(default_factory=C4Config)
    fineweb_quality: FineWebQualityConfig = dataclasses.field(default_factory=FineWebQualityConfig)
    quality_classifier: QualityClassifierConfig = dataclasses.field(default_factory=QualityClassifierConfig)
    decontaminate: DecontaminateConfig = dataclasses.field(default_factory=DecontaminateConfig)
    exact_dedup: ExactDedupConfig = dataclasses.field(default_factory=ExactDedupConfig)
    minhash_dedup: MinhashDedupConfig = dataclasses.field(default_factory=MinhashDedupConfig)
    pii: PiiConfig = dataclasses.field(default_factory=PiiConfig)
    tokenize: TokenizeConfig = dataclasses.field(default_factory=TokenizeConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    name: str = "fineweb-en"

    def stage_enabled(self, stage: str) -> bool:
        section = getattr(self, stage)
        # A stage with nothing to work with (decontaminate without benchmarks) does not run.
        return section.enabled and getattr(section, "has_work", True)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(
    name_or_path: str | None = None,
    overrides: list[str] | None = None,
    skip: list[str] | None = None,
) -> RunConfig:
    """Build a RunConfig from a built-in name or YAML path, `key=value` overrides and skips."""
    name_or_path = name_or_path or "fineweb-en"
    data = _read_yaml(name_or_path)
    config = from_dict(RunConfig, data, "")
    if name_or_path in BUILTIN_CONFIGS:
        config.name = name_or_path
    elif "name" not in data:
        config.name = Path(name_or_path).stem
    for item in overrides or []:
        apply_override(config, item)
    for stage in skip or []:
        set_stage_enabled(config, stage, False)
    return config


def stage_names() -> list[str]:
    return [f.name for f in dataclasses.fields(RunConfig) if f.name not in ("output", "name")]


def set_stage_enabled(config: RunConfig, stage: str, enabled: bool) -> None:
    names = stage_names()
    stage = stage.strip()
    if stage not in names:
        raise ConfigError(f"unknown stage '{stage}' in --skip; stages are: {', '.join(names)}")
    if stage in REQUIRED_STAGES and not enabled:
        raise ConfigError(f"stage '{stage}' cannot be skipped: later stages need its output")
    getattr(config, stage).enabled = enabled


def apply_override(config: RunConfig, item: str) -> None:
    """Apply one `dotted.key=value` override; the value is parsed as a YAML scalar."""
    if "=" not in item:
        raise ConfigError(f"--set expects dotted.key=value, got '{item}'")
    dotted, raw = item.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    parts = dotted.strip().split(".")
    target: Any = config
    for i, part in enumerate(parts[:-1]):
        here = ".".join(parts[: i + 1])
        if dataclasses.is_dataclass(target):
            if part not in _field_types(type(target)):
                raise ConfigError(_unknown_key_message(type(target), here))
            target = getattr(target, part)
        elif isinstance(target, dict):
            target = target.setdefault(part, {})
        else:
            raise ConfigError(f"config key '{here}' is a value, not a section; cannot set '{dotted}'")
    last = parts[-1]
    if dataclasses.is_dataclass(target):
        types_ = _field_types(type(target))
        if last not in types_:
            raise ConfigError(_unknown_key_message(type(target), dotted))
        setattr(target, last, _coerce(value, types_[last], dotted))
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise ConfigError(f"cannot set '{dotted}'")


def from_dict(cls: type, data: Any, path: str) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and wrong types."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{path or '<root>'}' must be a mapping, got {type(data).__name__}")
    types_ = _field_types(cls)
    kwargs = {}
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else str(key)
        if key not in types_:
            raise ConfigError(_unknown_key_message(cls, dotted))
        kwargs[key] = _coerce(value, types_[key], dotted)
    return cls(**kwargs)


def _read_yaml(name_or_path: str) -> dict:
    if name_or_path in BUILTIN_CONFIGS:
        text = resources.files("ccforge.configs").joinpath(f"{name_or_path}.yaml").read_text()
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(
                f"config '{name_or_path}' is neither a built-in ({', '.join(BUILTIN_CONFIGS)}) nor a file"
            )
        text = path.read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config '{name_or_path}' is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config '{name_or_path}' must be a YAML mapping of stage names to settings")
    return data


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unknown_key_message(cls: type, dotted: str) -> str:
    known = ", ".join(f.name for f in dataclasses.fields(cls))
    return f"unknown config key '{dotted}' (known here: {known})"


def _coerce(value: Any, annotation: Any, dotted: str) -> Any:
    """Check `value` against a type annotation, converting where it is lossless."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, dotted)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"config key '{dotted}' has a bad value")
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value, dotted)
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{dotted}' expects a list, got {value!r}")
        item_type = args[0] if args else Any
        return [_coerce(v, item_type, f"{dotted}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{dotted}' expects a mapping, got {value!r}")
        value_type = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(v, value_type, f"{dotted}.{k}") for k, v in value.items()}
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"config key '{dotted}' expects true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"config key '{dotted}' expects an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"config key '{dotted}' expects a number, got {value!r}")
    if annotation is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"config key '{dotted}' expects a string, got {value!r}")
    return value
