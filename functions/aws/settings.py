"""What the Lambda needs from its environment, resolved once per container and refreshed
when cached values age: the config (a file or an SSM parameter), chat credentials (from
Secrets Manager or SSM SecureString, never plain parameters), the state store and receivers.

Environment:
- ``MEDIC_CONFIG`` (file path) or ``MEDIC_CONFIG_PARAMETER`` (SSM parameter name); neither
  means the zero-config defaults.
- ``MEDIC_STATE`` (``dynamodb://TABLE`` in the template).
- For every credential variable a receiver reads (``SLACK_BOT_TOKEN``, ``SLACK_WEBHOOK_URL``,
  ``TEAMS_WEBHOOK_URL``, or a config's own ``*_env`` names): either the value itself (local
  runs), ``<NAME>_SECRET_ARN`` (a Secrets Manager secret) or ``<NAME>_SSM_PARAMETER`` (an SSM
  SecureString).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.config import Config, parse_config

#: The same config text parses to the same (frozen) Config object, so warm invocations
#: neither validate it again nor rebuild its classifier.
_parsed = lru_cache(maxsize=4)(parse_config)

#: Seconds a fetched config or secret is reused before it is fetched again.
CACHE_SECONDS = 300
SECRET_SUFFIX = "_SECRET_ARN"
PARAMETER_SUFFIX = "_SSM_PARAMETER"


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one invocation."""

    config: Config
    where: str | None
    env: Mapping[str, str]


def _config(env: Mapping[str, str]) -> tuple[Config, str | None]:
    name = env.get("MEDIC_CONFIG_PARAMETER")
    if name:
        from aws_lambda_powertools.utilities import parameters

        text: Any = parameters.get_parameter(name, decrypt=True, max_age=CACHE_SECONDS)
        where = f"ssm:{name}"
        return _parsed(str(text), where), where
    from shared.config import config_from_env

    return config_from_env(env.get("MEDIC_CONFIG") or None)


def _credentials(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with ``*_SECRET_ARN`` / ``*_SSM_PARAMETER`` resolved to values."""
    resolved = dict(env)
    references = [
        (key, suffix, ref)
        for key, ref in env.items()
        for suffix in (SECRET_SUFFIX, PARAMETER_SUFFIX)
        if ref and key.endswith(suffix)
    ]
    if references:
        from aws_lambda_powertools.utilities import parameters

        for key, suffix, ref in references:
            value: Any = (
                parameters.get_secret(ref, max_age=CACHE_SECONDS)
                if suffix == SECRET_SUFFIX
                else parameters.get_parameter(ref, decrypt=True, max_age=CACHE_SECONDS)
            )
            resolved[key.removesuffix(suffix)] = str(value).strip()
    return resolved


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Config and credentials for this invocation (cached fetches, so cheap when warm)."""
    env = os.environ if env is None else env
    config, where = _config(env)
    return Settings(config, where, _credentials(env))
