"""Every command the docs give, run (issue 24, item 6), so that documented paths cannot rot.

The commands are taken from README.md, CONTRIBUTING.md, config/README.md and docs/*.md: the
lines of shell code blocks and the inline code spans that start with ``snakemake``,
``.venv/bin/snakemake``, ``make`` or ``python -m``. Snakemake commands run as dry runs (``-n``)
in a scratch folder that mirrors the repository (so ``--unlock`` or a lock never touches a
real run); ``make`` targets run as ``make -n``; ``python -m`` modules must be importable. Every
path the docs name (in a command or in inline code) must exist in the repository, be an output,
log or benchmark of the workflow's DAG (both presets, ``bench`` included), or be one of the
files jobs write beside their declared outputs (resume state, provenance records; listed in
``UNDECLARED`` with where the code writes them). Commands with placeholders (``<rule>``, ``…``)
are templates: only their paths are checked.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOCS = sorted(
    [REPO / "README.md", REPO / "CONTRIBUTING.md", REPO / "config/README.md"],
) + sorted((REPO / "docs").glob("*.md"))
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", ""}
PROGRAM = re.compile(
    r"^(?:[A-Z_]+=\S+\s+)*(?:nice\s+(?:-n\s*\d+\s+)?)?"
    r"(?:\.venv/bin/)?(snakemake|make|python|pytest)(?=\s|$)"
)
ROOTS = ("results/", "logs/", "config/", "docs/", "src/", "tests/", "workflow/", "profiles/")
ROOTS += ("envs/", ".ci/", ".test/")
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>|\{[^{},\s]+\}")
TEMPLATE = re.compile(r"<[^<>\s][^<>]*>|\{[^{},\s]+\}|…|\.\.\.")
SEGMENT, ANY = "\x01", "\x02"

# Files that jobs and tools write beside the DAG's declared outputs, one example of each (where
# the code makes it): a documented path must name one of these, a DAG file or a DAG folder.
UNDECLARED = [
    "results/smoke/seed_0/pretrain/checkpoints/0123456789abcdef.pt",  # pretrain.smk checkpoint_dir
    "results/smoke/seed_0/large_model/pretrain/checkpoints/0123456789abcdef.pt",  # spectra.smk
    "results/smoke/seed_0/sparse_train/sparse/checkpoints/last.pt",  # sparse_training.py resume
    "results/smoke/seed_0/sparse_train/sparse/checkpoints/resume/step_00010.pt",  # kept steps
    "results/smoke/seed_0/spectra/sparse/partial/step_00020/run_0.npz",  # spectra.smk state_dir
    "results/smoke/seed_0/large_model/partial/run_0.npz",  # spectra.smk spectrum_large state_dir
    "results/smoke/seed_0/sparse_train/sparse/records.csv.lock",  # qtrain.run.locks writer lock
    "results/smoke/report.html",  # make report (snakemake --report)
    "results/paper/report.html",
    "results/bench/gpu/hvp.csv",  # make bench-gpu (python -m qtrain.bench.gpu --out ...)
    "logs/slurm/rule_spectrum/seed_0_variant_sparse_step_20/123.log",  # profiles/slurm logdir
]
# Paths the docs tell the user to make themselves (not the workflow).
USER_MADE = {"profiles/mysite"}  # README: cp -r profiles/slurm profiles/mysite
# The presets whose DAGs documented result paths may come from (tiny: the tests' preset).
PRESETS = ("paper", "smoke", "rehearsal", "tiny")


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


def _code_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines of shell code blocks."""
    lines, out, language = text.splitlines(), [], None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            language = stripped[3:].strip() if language is None else None
            continue
        if language is not None and language in SHELL_LANGUAGES:
            out.append((number, stripped))
    return out


def _spans(text: str) -> list[tuple[int, str]]:
    """(line number, text) of the inline code spans outside code blocks, joined over lines."""
    prose = []
    inside = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
            prose.append("")
            continue
        prose.append("" if inside else line)
    joined = "\n".join(prose)
    spans = []
    for match in re.finditer(r"(``?)(?!`)(.+?)(?<!`)\1(?!`)", joined, flags=re.DOTALL):
        body = " ".join(match.group(2).split())
        spans.append((joined.count("\n", 0, match.start()) + 1, body))
    return spans


def _strip_comment(line: str) -> str:
    try:
        return shlex.join(shlex.split(line, comments=True))
    except ValueError:
        return line


def documented_commands() -> list[Command]:
    """Every documented command (code block lines and inline spans that start a program)."""
    found: dict[str, Command] = {}
    for doc in DOCS:
        text = doc.read_text()
        name = str(doc.relative_to(REPO))
        candidates = _code_blocks(text) + _spans(text)
        for number, raw in candidates:
            command = _strip_comment(raw).strip()
            if command and PROGRAM.match(command) and command not in found:
                found[command] = Command(name, number, command)
    return list(found.values())


def _expand_braces(word: str) -> list[str]:
    """``a.{b,c}`` → ``a.b``, ``a.c`` (shell brace expansion, one level); other commas split."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if match:
        head, tail = word[: match.start()], word[match.end() :]
        return [w for alt in match.group(1).split(",") for w in _expand_braces(head + alt + tail)]
    return word.split(",")


def documented_paths() -> list[tuple[str, int, str]]:
    """(doc, line, path) of every repository or result path named in inline code or commands."""
    out = []
    for doc in DOCS:
        text = doc.read_text()
        name = str(doc.relative_to(REPO))
        for number, raw in _spans(text) + _code_blocks(text):
            # a placeholder stands for one path segment (`<config digest>` is one, not two
            # words), an ellipsis for any part of a path
            raw = re.sub(r"…|\.\.\.", ANY, PLACEHOLDER.sub(SEGMENT, raw))
            for word in re.split(r"[\s`'\"()\[\];=]+", raw):
                for token in _expand_braces(word):
                    token = re.sub(r"(:\d+)+$", "", token.rstrip(".:,"))  # file:line:col
                    if token.startswith(ROOTS) or re.match(r"^(tests/\S+\.py|R)?::\w", token):
                        out.append((name, number, token))
    return out


def _program(tokens: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """(leading ``nice``-free program tokens, arguments, environment) of a command."""
    env = {}
    while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
        key, value = tokens.pop(0).split("=", 1)
        env[key] = value
    if tokens and tokens[0] == "nice":
        tokens.pop(0)
        if tokens and tokens[0] == "-n":
            tokens[:2] = []
        elif tokens and re.fullmatch(r"-n?\d+", tokens[0]):
            tokens.pop(0)
    return tokens[:1], tokens[1:], env


COMMANDS = documented_commands()


def _make_snakemake_lines(target: str) -> list[str]:
    """The Snakemake commands `make -n <target>` would run (lint aside: tested on its own)."""
    plan = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True).stdout
    return [
        line
        for line in plan.splitlines()
        if line.startswith(".venv/bin/snakemake") and "--lint" not in line
    ]


_PHONY = re.search(r"^\.PHONY:(.*)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
# Make targets that run Snakemake (their commands are dry-run too).
MAKE_SNAKEMAKE_TARGETS = [t for t in _PHONY if _make_snakemake_lines(t)]


def _ids(command: Command) -> str:
    return f"{command.doc}:{command.line}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder that mirrors the repository's workflow (links), to run commands in."""
    root = tmp_path_factory.mktemp("docs")
    for name in ("Snakefile", "workflow", "config", "profiles", "src", "envs", ".test"):
        (root / name).symlink_to(REPO / name)
    return root


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    full = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env=full)


def test_the_docs_give_commands_of_every_kind():
    kinds = {PROGRAM.match(c.text).group(1) for c in COMMANDS}
    assert {"snakemake", "make", "python"} <= kinds, kinds
    assert len([c for c in COMMANDS if "snakemake" in c.text]) >= 8


@pytest.mark.slow  # one dry run per documented command: minutes in all
@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if PROGRAM.match(c.text).group(1) == "snakemake"], ids=_ids
)
def test_documented_snakemake_command_dry_runs(command, scratch):
    _, args, env = _program(shlex.split(command.text))
    if TEMPLATE.search(command.text):
        pytest.skip(f"a template, not a command: {command}")
    if "-s" in args and not (REPO / args[args.index("-s") + 1]).exists():
        pytest.skip(f"runs another checkout's Snakefile: {command}")
    if "--lint" in args:
        pytest.skip("snakemake --lint runs in tests/test_workflow.py::test_snakemake_lint_clean")
    if "--report" in args:  # a report needs a finished run: check the rest of the command
        at = args.index("--report")
        del args[at : at + (2 if at + 1 < len(args) and not args[at + 1].startswith("-") else 1)]
    if not {"-n", "--dry-run", "--dryrun", "--unlock"} & set(args):
        args.append("-n")
    result = _run([str(BIN / "snakemake"), *args], scratch, env)
    out = result.stdout + result.stderr
    assert result.returncode == 0, f"{command}\n{out[-3000:]}"


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if PROGRAM.match(c.text).group(1) == "make"], ids=_ids
)
def test_documented_make_target_exists(command):
    _, args, env = _program(shlex.split(command.text))
    if TEMPLATE.search(command.text):
        pytest.skip(f"a template, not a command: {command}")
    result = _run(["make", "-n", *args], REPO, env)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"


@pytest.mark.slow  # a dry run per target
@pytest.mark.parametrize("target", MAKE_SNAKEMAKE_TARGETS)
def test_the_snakemake_command_of_a_make_target_dry_runs(target, scratch):
    """What `make -n <target>` would run with Snakemake, dry-run (a target after
    --configfile, say, is read as a config file: `make -n` alone cannot see that)."""
    for line in _make_snakemake_lines(target):
        args = shlex.split(line, comments=True)[1:]
        if "--report" in args:
            at = args.index("--report")
            del args[at : at + 2]
        result = _run([str(BIN / "snakemake"), *args, "-n"], scratch)
        assert result.returncode == 0, f"make {target}: {line}\n{result.stderr[-3000:]}"


@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if PROGRAM.match(c.text).group(1) in ("python", "pytest")],
    ids=_ids,
)
def test_documented_python_command_names_real_modules_and_markers(command):
    import importlib.util

    import tomllib

    _, args, _ = _program(shlex.split(command.text))
    if args[-1:] == ["-m"]:
        pytest.skip(f"names no module: {command}")
    if "-m" in args and PROGRAM.match(command.text).group(1) == "python":
        module = args[args.index("-m") + 1]
        assert importlib.util.find_spec(module) is not None, f"{command}: no module {module}"
    if PROGRAM.match(command.text).group(1) == "pytest" and "-m" in args:
        markers = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
        known = {m.split(":")[0].strip() for m in markers["ini_options"]["markers"]}
        used = set(re.findall(r"\w+", args[args.index("-m") + 1])) - {"not", "and", "or"}
        assert used <= known, f"{command}: unknown markers {used - known}"


def _dag_paths(preset: str, scratch: Path) -> set[str]:
    args = [str(BIN / "snakemake"), "all", "bench", "-n", "--forceall", "--cores", "1"]
    if preset in ("smoke", "rehearsal"):
        args += ["--configfile", f"config/{preset}.yaml"]
    if preset == "tiny":
        import yaml
        from workflow_helpers import tiny_config

        (scratch / "tiny.yaml").write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
        args += ["--configfile", "tiny.yaml"]
    result = _run(args, scratch)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    paths = set()
    for line in (result.stdout + result.stderr).splitlines():
        match = re.match(r"^\s+(output|log|benchmark): (.*)$", line)
        if match:
            paths.update(p.strip() for p in match.group(2).split(","))
    return paths


@pytest.fixture(scope="module")
def dag_paths(scratch) -> set[str]:
    """Every output, log and benchmark file of the presets (all and bench), as dry runs list
    them."""
    paths: set[str] = set()
    for preset in PRESETS:
        paths |= _dag_paths(preset, scratch)
    return paths


def _regex(path: str) -> re.Pattern:
    """A documented path as a regular expression: a placeholder or ``*`` matches one path
    segment, an ellipsis any part of a path; a trailing ``/`` is dropped."""
    text = re.escape(path.rstrip("/")).replace(re.escape(SEGMENT), "[^/]*")
    text = text.replace(re.escape(ANY), ".*").replace(r"\*", "[^/]*")
    return re.compile(text)


def _glob(path: str) -> str:
    return path.replace(SEGMENT, "*").replace(ANY, "*").rstrip("/")


def _known_result(path: str, dag: set[str]) -> bool:
    files = dag | set(UNDECLARED)
    known = files | {str(parent) for p in files for parent in Path(p).parents}
    pattern = _regex(path.removesuffix(".provenance.json"))
    return any(pattern.fullmatch(p) for p in known)


def test_every_documented_path_exists_or_is_made_by_the_workflow(dag_paths):
    problems = []
    last = (None, "")  # the test file named last in a doc (`::name` refers to it)
    for doc, line, path in documented_paths():
        if path.startswith("R::"):  # docs/reliability.md's shorthand for this file
            path = "tests/test_reliability.py" + path[1:]
        if path.startswith("::") and last[0] == doc:
            path = last[1] + path
        if "::" in path:
            test_file, _, name = path.partition("::")
            last = (doc, test_file)
            source = REPO / test_file
            names = (
                re.findall(r"^def (test_\w+)", source.read_text(), re.M) if source.exists() else []
            )
            if not any(fnmatch.fnmatch(n, _glob(name)) for n in names):
                problems.append(f"{doc}:{line}: {path}: no such test")
            continue
        shown = _glob(path)
        if path.startswith(("results/", "logs/")):
            if not _known_result(path, dag_paths):
                problems.append(f"{doc}:{line}: {shown}: not made by the workflow")
        elif shown in USER_MADE:
            continue
        elif not list(REPO.glob(shown)) and not (REPO / shown).exists():
            problems.append(f"{doc}:{line}: {shown}: no such file in the repository")
    assert not problems, "\n".join(problems)


def test_bare_make_lists_the_targets_and_installs_nothing():
    result = _run(["make"], REPO)
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"^\s*make ([\w-]+)", result.stdout, re.M))
    makefile = (REPO / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split())
    assert phony <= listed, f"targets missing from `make help`: {sorted(phony - listed)}"
    assert {"install", "smoke", "test", "help", "lock"} <= listed
    plan = _run(["make", "-n"], REPO).stdout
    assert "venv" not in plan and "pip" not in plan, plan
