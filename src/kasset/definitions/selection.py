"""The selection syntax, parsed into terms that `AssetGraph.select` resolves.

key          the asset
+key, key+   with its parents / children (repeat `+` for more levels)
*key, key*   with all its ancestors / descendants
group:name   every asset of a group
tag:k=v      every asset with that tag (`tag:k` for any value)
*            every asset
a, b         union
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kasset.errors import SelectionError

__all__ = ["KeyTerm", "MatchTerm", "SelectionTerm", "parse_selection"]

ALL_LEVELS = -1
_KEY_TERM = re.compile(r"^(?P<up>\*|\+*)(?P<key>[A-Za-z0-9_][A-Za-z0-9_./-]*?)(?P<down>\*|\+*)\Z")


@dataclass(frozen=True)
class KeyTerm:
    """An asset key with how many levels of ancestors and descendants to add."""

    key: str
    up: int = 0
    down: int = 0


@dataclass(frozen=True)
class MatchTerm:
    """Every asset whose attribute (`group`, `tag`, or `all`) matches."""

    kind: str
    name: str = ""
    value: str | None = None


SelectionTerm = KeyTerm | MatchTerm


def parse_selection(text: str) -> list[SelectionTerm]:
    """Parses a selection string; raises SelectionError saying which term is malformed."""
    terms: list[SelectionTerm] = []
    for raw in text.split(","):
        term = raw.strip()
        if not term:
            raise SelectionError(f"empty term in selection {text!r}")
        if term == "*":
            terms.append(MatchTerm("all"))
        elif term.startswith("group:"):
            terms.append(MatchTerm("group", _require(term[6:], term)))
        elif term.startswith("tag:"):
            name, sep, value = _require(term[4:], term).partition("=")
            terms.append(MatchTerm("tag", name, value if sep else None))
        else:
            match = _KEY_TERM.match(term)
            if not match:
                raise SelectionError(
                    f"invalid selection term {term!r}: expected key, +key, key+, *key, key*, "
                    "group:NAME, tag:K=V or *"
                )
            terms.append(KeyTerm(match["key"], _levels(match["up"]), _levels(match["down"])))
    return terms


def _levels(marks: str) -> int:
    return ALL_LEVELS if marks == "*" else len(marks)


def _require(value: str, term: str) -> str:
    if not value:
        raise SelectionError(f"selection term {term!r} needs a name after ':'")
    return value
