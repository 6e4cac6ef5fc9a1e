"""The deployment requirement files list what pyproject.toml declares, so neither cloud ships
with a dependency the tests never saw (or without one they did)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared(*extras: str) -> set[str]:
    lines = list(PROJECT["dependencies"])
    for extra in extras:
        lines += PROJECT["optional-dependencies"][extra]
    return {str(Requirement(line)) for line in lines}


def _listed(name: str) -> set[str]:
    lines = (ROOT / name).read_text().splitlines()
    return {str(Requirement(line)) for line in lines if line.strip() and not line.startswith("#")}


def test_the_functions_app_requirements_are_the_core_and_azure_dependencies() -> None:
    assert _listed("requirements.txt") == _declared("azure")


def test_the_lambda_requirements_are_the_core_and_aws_dependencies_but_boto3() -> None:
    # the Lambda runtime provides boto3
    expected = {r for r in _declared("aws") if not r.startswith("boto3")}
    assert _listed("requirements-lambda.txt") == expected
