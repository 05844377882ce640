"""The `ccforge` command: wrong arguments are one-line errors with exit code 2."""

import subprocess
import sys

import pytest

from ccforge.cli import main
from ccforge.stages import STAGE_NAMES


def test_stages_lists_every_stage(capsys):
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for name in STAGE_NAMES:
        assert name in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--input", "x.warc.gz", "--output", "o", "--skip", "nope"], "unknown stage 'nope'"),
        (["run", "--input", "x.warc.gz", "--output", "o", "--set", "extract.bogus=1"], "unknown config key"),
        (["run", "--input", "x.warc.gz", "--output", "o", "--config", "/no/file.yaml"], "neither a built-in"),
        (["run", "--input", "x.warc.gz", "--output", "o", "--no-such-option", "3"], "unknown option --no-such-option"),
    ],
)
def test_wrong_arguments_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_missing_input_is_named(tmp_path, capsys):
    assert main(["run", "--input", str(tmp_path / "missing.warc.gz"), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing.warc.gz" in err and len(err.splitlines()) == 1


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "ccforge.cli", "stages"], capture_output=True, text=True)
    assert out.returncode == 0 and "minhash_dedup" in out.stdout


def test_scrub_pii_command_rewrites_only_the_text(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "write to jane.doe@gmail.com today", "n": 1}\n{"text": "clean", "n": 2}\n')
    target = tmp_path / "out.jsonl"
    assert main(["scrub-pii", str(source), str(target), "--set", "pii.replacement=tag"]) == 0
    lines = target.read_text().splitlines()
    assert lines[0] == '{"text": "write to <EMAIL> today", "n": 1}'
    assert "jane.doe" not in capsys.readouterr().out
