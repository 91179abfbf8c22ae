"""Config files that are not YAML: the message names the file, the line and the column (a
syntax error) or says the file is not text (a binary file), before any job starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qtrain.run.config_files import ConfigFileError, read_config_file

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

BROKEN = "preset: smoke\nseed: [1, 2\nprune:\n  keep_fraction: 0.1\n"
BROKEN_AT = "config/config.yaml:3:6: not valid YAML at line 3, column 6: expected ',' or ']', but "
BINARY = b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe"


def test_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BROKEN)
    with pytest.raises(ConfigFileError) as caught:
        read_config_file(path)
    assert str(caught.value) == (
        f"{path}:3:6: not valid YAML at line 3, column 6: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence that starts at line 2); check the brackets, quotes, "
        "colons and indentation there\n    prune:\n         ^"
    )


def test_tab_indentation_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("prune:\n\tkeep_fraction: 0.1\n")
    with pytest.raises(ConfigFileError, match=r"c.yaml:2:1: .*; indent with spaces, not tabs"):
        read_config_file(path)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (BINARY, r"it contains binary data: a NUL byte at offset 7"),
        ("seed: 1\nnote: café\n".encode("latin-1"), r"byte 0xe9 at offset 17, line 2, is not"),
    ],
)
def test_binary_file_is_not_a_text_yaml_file(tmp_path, content, why):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigFileError, match=rf"^{path} is not a text YAML file \({why}"):
        read_config_file(path)


def test_top_level_must_be_a_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- seed\n- 1\n")
    with pytest.raises(ConfigFileError, match=r"must be a mapping of keys .* not a list"):
        read_config_file(path)
    path.write_text("")
    assert read_config_file(path) == {}
    assert read_config_file(REPO / "config/smoke.yaml")["preset"] == "smoke"


def _workdir(tmp_path: Path, content: bytes) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "config/config.yaml").write_bytes(content)
    return tmp_path


def _snakemake(workdir: Path) -> subprocess.CompletedProcess:
    snakefile = str(REPO / "Snakefile")
    return subprocess.run(
        [str(BIN / "snakemake"), "-n", "-s", snakefile, "--configfile", "config/smoke.yaml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (BROKEN.encode(), BROKEN_AT),
        (BINARY, "config/config.yaml is not a text YAML file (it contains binary data"),
    ],
    ids=["yaml-error", "binary"],
)
def test_snakemake_names_the_broken_config_file_before_any_job(tmp_path, content, message):
    """The workflow's config file (read by the Snakefile's `configfile:`) through the CLI."""
    result = _snakemake(_workdir(tmp_path, content))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert f'WorkflowError in file "{REPO / "Snakefile"}"' in out, out[-3000:]
    assert message in out, out[-3000:]
    assert "UnicodeDecodeError" not in out and "Job stats" not in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (BROKEN.encode(), BROKEN_AT.replace("config/config.yaml", "bad.yaml")),
        (BINARY, "bad.yaml is not a text YAML file"),
    ],
    ids=["yaml-error", "binary"],
)
def test_checker_command_names_a_broken_configfile(tmp_path, content, message):
    """`python -m qtrain.run.config_files` (the Makefile runs it before Snakemake parses a
    --configfile, where Snakemake 9.27 names neither file nor line)."""
    (tmp_path / "bad.yaml").write_bytes(content)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "qtrain.run.config_files",
            str(REPO / "config/smoke.yaml"),
            "bad.yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"ConfigFileError: {message}"), result.stderr
