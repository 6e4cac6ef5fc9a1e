"""The redactor's screen: one set scan decides which patterns run, and the result is exactly
what running every pattern in order gives."""

from __future__ import annotations

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.redact import BUILTIN, Redactor

EXTRA = ("ACME-[0-9]+-[A-Z]+", r"REDACTED\]@")
SECRETS = [
    "https://user:hunter22@db.internal:5432/x",
    "xoxb-123456789012-abcdefghijkl",
    "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
    "https://prod.logic.azure.com/workflows/1?api-version=1&sig=abcDEF123%2B",
    "AccountKey=abc123==;EndpointSuffix=core.windows.net",
    "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "Authorization: Bearer abcdefghijklmnop",
    'password="s3cr3t-value"',
    "ACME-42-XYZ",
]


def every_pattern_in_order(text: str, extra: tuple[str, ...]) -> str:
    """The reference: each pattern substituted over the whole text, one after another."""
    for pattern, replacement in [*BUILTIN, *((p, "[REDACTED]") for p in extra)]:
        text = re2.compile(pattern).sub(replacement, text)
    return text


pieces = st.one_of(
    st.sampled_from(SECRETS),
    st.sampled_from(["[REDACTED]", " ", "\n", "=", ":", "@", "token", "secret="]),
    st.text(max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces, max_size=8).map("".join))
def test_the_screen_gives_what_every_pattern_in_order_gives(text: str) -> None:
    assert Redactor(EXTRA)(text) == every_pattern_in_order(text, EXTRA)


def test_text_without_credentials_is_returned_unchanged() -> None:
    line = "2026-11-19 12:13:22,931 [INFO ] W-9000-model-stdout - CUDA out of memory"
    assert Redactor()(line) is line


def test_each_known_secret_is_removed() -> None:
    redact = Redactor(EXTRA)
    for secret in SECRETS:
        assert redact(f"failed with {secret} in request") == every_pattern_in_order(
            f"failed with {secret} in request", EXTRA
        )
        assert "REDACTED" in redact(secret)
