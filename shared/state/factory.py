"""Choosing the store from ``MEDIC_STATE``: ``memory``, ``sqlite:///PATH``,
``dynamodb://TABLE`` (needs boto3, which the Lambda runtime has) or ``azuretable://TABLE``
(needs azure-data-tables; the function app's storage account, see
:mod:`shared.state.azuretable`).

As in SQLAlchemy URLs, ``sqlite:///state.db`` is relative to the working directory and
``sqlite:////var/lib/medic/state.db`` (four slashes) is absolute.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from shared.state.base import Store

STATE_ENV = "MEDIC_STATE"
#: Azure table names: 3-63 letters and digits, starting with a letter.
_AZURE_TABLE = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")


class StateConfigError(ValueError):
    """``MEDIC_STATE`` names a store that cannot be used."""


def default_state_url() -> str:
    """The local default: an SQLite file under the user's state directory."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return f"sqlite:///{Path(base) / 'medic' / 'state.sqlite'}"


def open_store(url: str | None = None) -> Store:
    """The store ``url`` (default: ``MEDIC_STATE``, else the local SQLite file) names."""
    url = url or os.environ.get(STATE_ENV) or default_state_url()
    if url == "memory":
        from shared.state.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:///"):
        from shared.state.sqlite import SqliteStore

        path = url.removeprefix("sqlite:///")
        if not path:
            raise StateConfigError(
                f"{STATE_ENV}={url}: give a file path, e.g. sqlite:///./state.db"
            )
        return SqliteStore(path)
    if url.startswith("dynamodb://"):
        from shared.state.dynamodb import DynamoStore

        table = url.removeprefix("dynamodb://")
        if not table:
            raise StateConfigError(
                f"{STATE_ENV}={url}: name the table, e.g. dynamodb://medic-state"
            )
        return DynamoStore(table)
    if url.startswith("azuretable://"):
        from shared.state.azuretable import AzureTableStore

        table = url.removeprefix("azuretable://")
        if not _AZURE_TABLE.fullmatch(table) or table.lower() == "tables":
            raise StateConfigError(
                f"{STATE_ENV}={url}: name the table with 3-63 letters and digits, starting with "
                "a letter (not the reserved name tables), e.g. azuretable://medicstate"
            )
        return AzureTableStore(table)
    raise StateConfigError(
        f"{STATE_ENV}={url}: not a store medic knows; use memory, sqlite:///PATH, "
        "dynamodb://TABLE or azuretable://TABLE"
    )
