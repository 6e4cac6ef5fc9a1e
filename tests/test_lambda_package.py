"""The check ``make infra`` runs on the built Lambda package: it passes only when the handler
and what it imports load from hash-based bytecode and every built-in rule file has a current
parsed copy, and it names whatever is missing."""

from __future__ import annotations

import compileall
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

from shared.rulebook.load import write_parsed
from shared.rulebook.parsed import NAME

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "infra" / "aws" / "check_package.py"
HASHED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def package(tmp_path: Path) -> Path:
    """A package shaped like the Lambda's: medic's core, a handler module and a library it
    imports (the real handler would need the cloud settings to import)."""
    root = tmp_path / "package"
    skipped = shutil.ignore_patterns("__pycache__", NAME)  # the build adds both
    shutil.copytree(ROOT / "shared", root / "shared", ignore=skipped)
    files = {
        "functions/__init__.py": "",
        "functions/aws/__init__.py": "",
        "functions/aws/app.py": "import lib\n\ndef handler(event, context):\n    return lib.X\n",
        "lib.py": "X = 1\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def built(tmp_path: Path, mode: py_compile.PycInvalidationMode = HASHED) -> Path:
    """The package as the build leaves it: a parsed copy of the rules, then bytecode."""
    root = package(tmp_path)
    write_parsed(root / "shared" / "rules")
    assert compileall.compile_dir(root, quiet=1, invalidation_mode=mode)
    return root


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(CHECK), str(root)], capture_output=True, text=True, check=False
    )


def test_a_built_package_passes(tmp_path: Path) -> None:
    done = check(built(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "loads from bytecode; the rulebook from its parsed copy" in done.stdout


def test_a_bare_package_fails_naming_what_a_cold_start_would_redo(tmp_path: Path) -> None:
    done = check(package(tmp_path))
    assert done.returncode == 1
    assert "compiled from source: functions/aws/app.py" in done.stderr
    assert "compiled from source: lib.py" in done.stderr
    assert "no parsed copy: shared/rules/python.yaml" in done.stderr


def test_timestamped_bytecode_fails_as_it_may_look_stale_once_zipped(tmp_path: Path) -> None:
    done = check(built(tmp_path, py_compile.PycInvalidationMode.TIMESTAMP))
    assert done.returncode == 1
    assert "timestamp-checked bytecode: " in done.stderr
    assert "compiled from source" not in done.stderr


def test_a_rule_file_changed_after_its_copy_was_written_is_named(tmp_path: Path) -> None:
    root = built(tmp_path)
    changed = root / "shared" / "rules" / "python.yaml"
    changed.write_text(changed.read_text() + "\n# edited\n")
    done = check(root)
    assert done.returncode == 1
    assert done.stderr.count("no parsed copy:") == 1
    assert "no parsed copy: shared/rules/python.yaml" in done.stderr
