"""The check ``make infra`` runs on the built Lambda package: it passes only when the handler
and what it imports load from hash-based bytecode, and names what would be compiled instead."""

from __future__ import annotations

import compileall
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "infra" / "aws" / "check_bytecode.py"


def package(tmp_path: Path) -> Path:
    """A package shaped like the Lambda's: the handler module and a library it imports."""
    files = {
        "functions/__init__.py": "",
        "functions/aws/__init__.py": "",
        "functions/aws/app.py": "import lib\n\ndef handler(event, context):\n    return lib.X\n",
        "lib.py": "X = 1\n",
    }
    root = tmp_path / "package"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(CHECK), str(root)], capture_output=True, text=True, check=False
    )


def test_a_package_without_bytecode_fails_naming_what_would_be_compiled(tmp_path: Path) -> None:
    done = check(package(tmp_path))
    assert done.returncode == 1
    assert "compiled from source: functions/aws/app.py" in done.stderr
    assert "compiled from source: lib.py" in done.stderr


@pytest.mark.parametrize(
    ("mode", "returncode", "said"),
    [
        (py_compile.PycInvalidationMode.UNCHECKED_HASH, 0, "load from bytecode"),
        # Checked against the source's time, which a zip keeps only to 2 s: may look stale.
        (
            py_compile.PycInvalidationMode.TIMESTAMP,
            1,
            "timestamp-checked bytecode: __pycache__/lib.",
        ),
    ],
)
def test_only_unchecked_hash_bytecode_passes(
    tmp_path: Path, mode: py_compile.PycInvalidationMode, returncode: int, said: str
) -> None:
    root = package(tmp_path)
    assert compileall.compile_dir(root, quiet=1, invalidation_mode=mode)
    done = check(root)
    assert done.returncode == returncode
    assert said in done.stdout + done.stderr
