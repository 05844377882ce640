"""Config: YAML onto typed dataclasses, --set overrides, --skip, one-line errors."""

import pytest

from ccforge.config import ConfigError, load_config, stage_names
from ccforge.stages import STAGE_NAMES


def test_default_is_fineweb_english():
    config = load_config()
    assert config.name == "fineweb-en"
    assert config.language.keep == {"en": 0.65}
    assert config.extract.extractor == "trafilatura"


def test_every_public_stage_has_a_config_section_in_flow_order():
    assert stage_names() == STAGE_NAMES


def test_multilingual_keeps_chinese():
    config = load_config("multilingual")
    assert config.name == "multilingual"
    assert "zh" in config.language.keep


def test_set_overrides_typed_values():
    config = load_config(None, ["extract.extractor=resiliparse", "extract.timeout_s=2", "language.keep.zh=0.5"])
    assert config.extract.extractor == "resiliparse"
    assert config.extract.timeout_s == 2.0 and isinstance(config.extract.timeout_s, float)
    assert config.language.keep == {"en": 0.65, "zh": 0.5}


def test_skip_switches_stages_off():
    config = load_config(None, skip=["c4", "pii"])
    assert not config.stage_enabled("c4")
    assert not config.stage_enabled("pii")
    assert config.stage_enabled("language")


@pytest.mark.parametrize(
    "overrides, skip, message",
    [
        (["extract.nope=1"], [], "unknown config key 'extract.nope'"),
        (["nosuchstage.enabled=false"], [], "unknown config key 'nosuchstage'"),
        (["extract.timeout_s=fast"], [], "config key 'extract.timeout_s' expects a number"),
        (["extract.enabled=maybe"], [], "expects true or false"),
        (["extract"], [], "--set expects dotted.key=value"),
        ([], ["dedupe"], "unknown stage 'dedupe'"),
        ([], ["extract"], "cannot be skipped"),
    ],
)
def test_errors_are_one_line_and_name_the_key(overrides, skip, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides, skip)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_file_with_unknown_key_is_rejected(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extract:\n  extractor: resiliparse\n  colour: blue\n")
    with pytest.raises(ConfigError, match="unknown config key 'extract.colour'"):
        load_config(str(path))


def test_yaml_file_is_loaded(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extract:\n  extractor: resiliparse\nlanguage:\n  keep: {de: 0.5}\n")
    config = load_config(str(path))
    assert config.name == "mine"
    assert config.extract.extractor == "resiliparse"
    assert config.language.keep == {"de": 0.5}


def test_missing_config_file_is_a_clear_error():
    with pytest.raises(ConfigError, match="neither a built-in"):
        load_config("/no/such/config.yaml")
