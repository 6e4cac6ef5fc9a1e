"""Masked templates: variable parts blanked, and the screen that skips patterns a line cannot
match, and the collapsing of whitespace, give exactly what running every pattern in order gives
(templates are part of stored problem keys, so they must not change)."""

from __future__ import annotations

import re
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.classify.mask import _MASKS, MAX_TEMPLATE_CHARS, collapse_spaces, mask


def every_pattern_in_order(line: str) -> str:
    """The reference: each pattern substituted over the whole line, one after another."""
    text = line.strip()[:2000]
    for shape in _MASKS:
        text = shape.pattern.sub(shape.replacement, text)
    return re.sub(r"\s+", " ", text)[:MAX_TEMPLATE_CHARS]


FRAGMENTS = [
    "2026-11-19 12:13:22,931",
    "2026-11-19T12:13:22.5Z",
    "12:13:22",
    "3f2b8c1e-0d4a-4b6f-9a7e-1c2d3e4f5a6b",
    "https://example.com/x?y=1",
    "10.0.3.17:41236",
    "/opt/ml/model/code/inference.py",
    "C:\\models\\m.onnx",
    "0x7ffd3a",
    "deadbeef42",
    "i-0a1b2c3d4e5f60718",
    "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/x",
    "sha256:abc123",
    "req-7f3a",
    "Error: boom",
    "513.00 MiB",
    "7",
]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            st.sampled_from([" ", "-", ":", ".", "/", "\\", "x", "a", "0", "\t", "i", "n", "6"]),
            st.text(max_size=12),
        ),
        max_size=10,
    ).map("".join)
)
def test_the_screen_gives_what_every_pattern_in_order_gives(line: str) -> None:
    assert mask(line) == every_pattern_in_order(line)


#: Whitespace of every kind ``str.isspace`` knows, and characters that look like it but are not.
SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u3000\u200b\ufeff"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*SPACES, "a", "b", "<n>"]), max_size=30).map("".join))
def test_spaces_collapse_as_the_regex_does(text: str) -> None:
    assert collapse_spaces(text) == re.sub(r"\s+", " ", text)


def test_variable_parts_are_blanked() -> None:
    line = (
        "2026-11-19 12:13:22,931 worker 3f2b8c1e-0d4a-4b6f-9a7e-1c2d3e4f5a6b "
        "on i-0a1b2c3d4e5f60718 read /opt/ml/model/code/inference.py "
        "from 10.0.3.17:41236: allocate 513.00 MiB at 0x7ffd3a"
    )
    assert mask(line) == (
        "<ts> worker <id> on i-<hex> read <path> from <ip>: allocate <n> MiB at <hex>"
    )


def test_lines_differing_only_in_numbers_share_a_template() -> None:
    assert mask("queue 17 failed after 3.5 s") == mask("queue 902 failed after 12.25 s")
    assert re.fullmatch(r"queue <n> failed after <n> s", mask("queue 1 failed after 2 s"))


def test_remembered_lines_are_clipped_so_huge_lines_cannot_fill_memory() -> None:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(1100):  # more distinct lines than are remembered
        mask(f"error {n:05d} " + "x" * 20_000)
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert kept < 4 << 20  # unclipped keys would hold over 20 MB
