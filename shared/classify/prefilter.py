"""Finding the few lines of a stream that can matter, without looking at each one in Python.

Most of what an endpoint logs is healthy. A rule can only fire on an event whose text holds a
match of one of its ``any`` patterns, and every such match contains a match of the pattern's
*needle*: its most selective run of pieces that cannot span lines (``No module named '``, or
``f[0-9]{4} [0-9][0-9]:`` for a glog fatal line). One RE2 scan of the whole stream, for every
rule's needle and for the *shapes* that let a line join its neighbours in a multi-line event
(indented or ``File "`` frames, tracebacks, lines ending in ``:``, blank lines), marks the lines
that may matter. The rest are dropped before any per-line work.

Dropping a line must never change a finding. An event made only of unmarked lines holds no
needle, so no rule can fire on it. An event holding a marked line is kept whole: an unmarked
line joins an event only as the line just before a shaped line (where an event may start) or
just after one (a traceback's last line, or the line an announcing ``…:`` line introduces), and
those neighbours are kept. A line marked for a needle alone neither joins its neighbours nor
lets them join it, so its neighbours are not kept on its account; most error lines are of this
kind. A stream with line breaks other than ``\\n`` (which grouping would split on) is kept
whole, and a rule whose patterns give no needle (``.*``) turns the prefilter off for the whole
rulebook: correct, only slower.
"""

from __future__ import annotations

import bisect
import re
import re._constants as sre_c
import re._parser as sre_parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Any

import re2

from shared.classify.group import _PREFIX
from shared.classify.program import Program
from shared.model import utf8_safe
from shared.rulebook.load import Rulebook

#: Line shapes that affect grouping (``group.Grouper``): lines with nothing after their prefix
#: (skipped, or kept inside a traceback), lines that announce the next one (``…:``), traceback
#: headers, and lines whose body (after a timestamp/level prefix ``group.body`` would strip)
#: starts like a continuation: indented, closing a JSON body, quoted, a chain marker, or a
#: ``File "`` frame written without indentation. RE2 tries every way the prefix can match, a
#: superset of the one ``group.body`` takes: safe.
#: Whitespace as ``str.strip`` sees it, except the line break, so no match runs past its line
#: (RE2's ``\\s`` is ASCII and includes ``\\n``).
_SPACE = r"[\pZ\t\x0b\x0c\r\x1c-\x1f\x85 ]"
#: ``group._PREFIX`` for RE2. Its classes are ASCII, like RE2's, except ``\\s``, which in RE2
#: takes the line break and leaves out ``\\v``. (RE2's ``\\S`` also takes ``\\v``: a superset.)
_LINE_PREFIX = _PREFIX.pattern.replace(r"\s", r"[\t\x0b\x0c\r ]")
_STRUCTURE = (
    rf":{_SPACE}*$|Traceback"
    rf"|^(?:{_LINE_PREFIX})?(?:{_SPACE}*$|{_SPACE}*File \""
    r"|[ \t}\]\"]|During handling|The above exception|Caused by:|\.\.\. )"
)
#: Line breaks that ``str.splitlines`` (and so grouping) honours besides ``\n``.
_OTHER_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: ``[:alpha:]`` inside a class: RE2 reads a POSIX class, Python's parser literal characters.
_POSIX = re.compile(r"\[:\^?[a-z]+:\]")
_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: (r"\d", False),
    sre_c.CATEGORY_NOT_DIGIT: (r"\D", True),
    sre_c.CATEGORY_WORD: (r"\w", False),
    sre_c.CATEGORY_NOT_WORD: (r"\W", True),
    sre_c.CATEGORY_SPACE: (r"\s", True),
    sre_c.CATEGORY_NOT_SPACE: (r"\S", False),
}


@dataclass(frozen=True, slots=True)
class Needle:
    """A regex fragment every match of some pattern contains, and how many literal characters
    every match of the fragment has (its selectivity)."""

    regex: str
    weight: int


@dataclass(frozen=True, slots=True)
class _Piece:
    """A part of a pattern: ``exact`` when ``regex`` matches exactly what the part does and no
    match spans lines; otherwise ``needle`` is the best fragment inside it, if any."""

    exact: bool
    regex: str = ""
    weight: int = 0
    needle: Needle | None = None


_OPAQUE = _Piece(exact=False)


def _better(a: Needle | None, b: Needle | None) -> Needle | None:
    if a is None or a.weight == 0:
        return b if b is not None and b.weight > 0 else None
    if b is None or b.weight <= a.weight:
        return a
    return b


def _sequence(items: Sequence[tuple[Any, Any]], dotall: bool) -> _Piece:
    run: list[str] = []
    weight = 0
    best: Needle | None = None
    exact = True
    for op, av in items:
        if op is sre_c.AT:
            continue  # anchors and word boundaries take no characters
        piece = _item(op, av, dotall)
        if piece.exact:
            run.append(piece.regex)
            weight += piece.weight
            continue
        exact = False
        best = _better(best, Needle("".join(run), weight) if run else None)
        best = _better(best, piece.needle)
        run, weight = [], 0
    if exact:
        return _Piece(exact=True, regex="".join(run), weight=weight)
    best = _better(best, Needle("".join(run), weight) if run else None)
    return _Piece(exact=False, needle=best)


@lru_cache(maxsize=4096)
def _escaped(code: int) -> str:
    """One character as RE2 text (rulebooks use few distinct characters, each many times)."""
    return str(re2.escape(chr(code)))


@lru_cache(maxsize=4096)
def _literal(code: int) -> _Piece:
    """A literal character as a fragment, lower-cased (the scan ignores case)."""
    return _Piece(exact=True, regex=str(re2.escape(chr(code).lower())), weight=1)


def _class(items: Sequence[tuple[Any, Any]]) -> _Piece:
    """A character class as a fragment; opaque when it may match a line break."""
    parts: list[str] = []
    negated = False
    newline = False
    for kind, value in items:
        if kind is sre_c.NEGATE:
            negated = True
        elif kind is sre_c.LITERAL:
            parts.append(_escaped(value))
            newline |= value == 10
        elif kind is sre_c.RANGE:
            parts.append(f"{_escaped(value[0])}-{_escaped(value[1])}")
            newline |= value[0] <= 10 <= value[1]
        elif kind is sre_c.CATEGORY and value in _CATEGORIES:
            fragment, breaks = _CATEGORIES[value]
            parts.append(fragment)
            newline |= breaks
        else:
            return _OPAQUE
    if newline != negated:  # a negated class without \n, or a class with it, may match \n
        return _OPAQUE
    return _Piece(exact=True, regex=f"[{'^' if negated else ''}{''.join(parts)}]", weight=0)


def _item(op: Any, av: Any, dotall: bool) -> _Piece:
    if op is sre_c.LITERAL:
        if av == 10:
            return _OPAQUE
        return _literal(av)
    if op is sre_c.IN:
        return _class(av)
    if op is sre_c.NOT_LITERAL:  # [^x]: cannot span lines only when x is the line break
        return _Piece(exact=True, regex=r"[^\n]", weight=0) if av == 10 else _OPAQUE
    if op is sre_c.ANY:
        return _OPAQUE if dotall else _Piece(exact=True, regex=".", weight=0)
    if op is sre_c.SUBPATTERN:
        inner = _sequence(av[3], dotall or bool(av[1] & sre_c.SRE_FLAG_DOTALL))
        if inner.exact:
            return _Piece(exact=True, regex=f"(?:{inner.regex})", weight=inner.weight)
        return inner
    if op is sre_c.BRANCH:
        branches = [_sequence(b, dotall) for b in av[1]]
        if all(b.exact for b in branches):
            regex = "|".join(b.regex for b in branches)
            return _Piece(exact=True, regex=f"(?:{regex})", weight=min(b.weight for b in branches))
        needles = [b.needle if not b.exact else Needle(b.regex, b.weight) for b in branches]
        if any(n is None or n.weight == 0 for n in needles):
            return _OPAQUE
        regex = "|".join(n.regex for n in needles if n)
        return _Piece(
            exact=False, needle=Needle(f"(?:{regex})", min(n.weight for n in needles if n))
        )
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        low, high, body = av
        inner = _sequence(body, dotall)
        if inner.exact:
            top = "" if high is sre_c.MAXREPEAT else str(high)
            bounds = "" if low == high else f",{top}"
            return _Piece(
                exact=True, regex=f"(?:{inner.regex}){{{low}{bounds}}}", weight=inner.weight * low
            )
        return _Piece(exact=False, needle=inner.needle if low > 0 else None)
    return _OPAQUE  # line breaks, back-references, look-arounds: nothing certain


def needle(pattern: str) -> Needle | None:
    """The fragment every match of ``pattern`` contains (case aside), or ``None`` when nothing
    certain can be said (matching must then look at every line)."""
    if _POSIX.search(pattern):
        return None  # POSIX classes: Python's parser would read them as literal characters
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None  # syntax only RE2 knows (\\pL, \\Q…\\E, \\z): no claim
    top = _sequence(list(parsed), bool(parsed.state.flags & sre_c.SRE_FLAG_DOTALL))
    found = Needle(top.regex, top.weight) if top.exact else top.needle
    return found if found is not None and found.weight > 0 else None


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    options.max_mem = 64 << 20
    # Only where a match starts matters (it names the line), and that is the leftmost start
    # either way; without an order among alternatives to keep, the automaton is smaller and
    # the scan about a tenth faster.
    options.longest_match = True
    return options


class Prefilter:
    """A rulebook's needles compiled into one RE2 alternation (see the module docstring)."""

    def __init__(self, needles: Iterable[str]) -> None:
        alternatives = [_STRUCTURE, *sorted(set(needles))]
        self._marks = Program("(?m)" + "|".join(alternatives), _options())
        self._shaped = Program("(?m)" + _STRUCTURE, _options())

    @classmethod
    def of(cls, rulebook: Rulebook) -> Prefilter | None:
        """The rulebook's prefilter, or ``None`` when some rule gives no needle."""
        needles: set[str] = set()
        for rule in rulebook.rules:
            for pattern in rule.match.any:
                found = needle(pattern)
                if found is None:
                    return None
                needles.add(found.regex)
        try:
            return cls(needles) if needles else None
        except re2.error:
            return None  # too big for the matcher's memory: do without

    def relevant(self, messages: Sequence[str]) -> list[int]:
        """Indices, in order, of the messages of one stream that classification must see."""
        if not messages:
            return []
        # Lone surrogates become U+FFFD, one character for one: offsets stay as they are.
        text = utf8_safe("\n".join(messages))
        if any(brk in text for brk in _OTHER_BREAKS):  # one fast substring search each
            return list(range(len(messages)))
        # RE2 works on UTF-8, so the scan is of bytes, and offsets are counted in bytes.
        if text.isascii():
            subject, sizes = text.encode("ascii"), (len(m) + 1 for m in messages)
        else:
            subject, sizes = text.encode(), (len(utf8_safe(m).encode()) + 1 for m in messages)
        starts = list(accumulate(sizes, initial=0))
        keep: set[int] = set()
        position = 0
        while position <= len(subject) and (found := self._marks.spans(subject, position)):
            index = bisect.bisect_right(starts, found[0][0]) - 1
            position = starts[index + 1]  # one match marks a message: go on from the next
            keep.add(index)
            # The neighbours of a shaped message are kept too (see the module docstring). Its
            # shape is asked of it alone: in the scan, a needle's match may have hidden the
            # shape's (a needle ending in ``:`` at the end of the line).
            if self._shaped.spans(subject, starts[index], position - 1):
                keep.update((index - 1, index + 1))
        return sorted(i for i in keep if 0 <= i < len(messages))
