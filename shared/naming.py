"""Where a log came from, read off the names the platforms give their logs.

SageMaker writes endpoint logs to the log group ``/aws/sagemaker/Endpoints/{endpoint}`` with
streams ``{variant}/{instance}`` or, for inference pipelines, ``{variant}/{instance}/{container}``.
Azure names an online endpoint in its resource id
``.../workspaces/{ws}/onlineEndpoints/{endpoint}[/deployments/{deployment}]``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

SAGEMAKER_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
_AZURE_RESOURCE = re.compile(
    r"/onlineendpoints/(?P<endpoint>[^/\s]+)(?:/deployments/(?P<deployment>[^/\s]+))?",
    re.IGNORECASE,
)
_INSTANCE = re.compile(r"i-[0-9a-f]{6,}\Z")


def sagemaker_endpoint(log_group: str | None) -> str | None:
    """The endpoint a SageMaker endpoint log group belongs to, if it is one."""
    if log_group and log_group.startswith(SAGEMAKER_GROUP_PREFIX):
        name = log_group[len(SAGEMAKER_GROUP_PREFIX) :].split("/", 1)[0]
        return name or None
    return None


def sagemaker_stream(stream: str | None, *, strict: bool = False) -> dict[str, str]:
    """Variant, instance and (pipelines) container named by a SageMaker log stream.

    With ``strict``, only streams whose second part is an instance id (``i-…``) count; used
    where the stream may belong to something other than a SageMaker endpoint.
    """
    if not stream:
        return {}
    parts = stream.split("/")
    if len(parts) < 2 or not parts[0] or (strict and not _INSTANCE.match(parts[1])):
        return {}
    fields = {"variant": parts[0], "instance": parts[1]}
    if len(parts) > 2 and parts[2]:
        fields["container"] = parts[2]
    return fields


def azure_resource(resource_id: str | None) -> dict[str, str]:
    """Endpoint and deployment named by an Azure ML online endpoint resource id."""
    if not resource_id:
        return {}
    match = _AZURE_RESOURCE.search(resource_id)
    if not match:
        return {}
    return {k: v.lower() for k, v in match.groupdict().items() if v}


def parse_time(value: object) -> datetime | None:
    """A timestamp from a datetime, epoch milliseconds/seconds or ISO 8601 text, timezone-aware:
    in UTC, except text that names its own offset, which keeps it. Else None."""
    try:
        # Epoch numbers come first: CloudWatch gives one with every record. ``type`` rather
        # than ``isinstance`` keeps out ``bool``, an int that is no time.
        if type(value) is int or type(value) is float:
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, str) and value:
            if value.isdigit():
                return parse_time(int(value))
            text = value.strip().replace(",", ".")
            parsed = datetime.fromisoformat(_trim_fraction(text))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _trim_fraction(text: str) -> str:
    """Python parses at most microseconds; Azure writes 100-ns ticks (7 digits)."""
    return _FRACTION.sub(r"\1", text)
