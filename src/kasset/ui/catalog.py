"""The catalog's rows in natural order (a2 before a10), filtered and cut into pages.

At 10,000 assets a page that renders every row (and hides the unmatched with CSS) takes
seconds to arrive and to lay out; the catalog renders one page of rows and filters on the
server, so its cost is the filter, not the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from kasset.resources import AssetResource
from kasset.ui.views import HEALTH_ORDER, AssetRow, asset_row, search_text

__all__ = ["PAGE_SIZE", "Catalog", "catalog", "natural_key"]

PAGE_SIZE = 100
_DIGITS = re.compile(r"(\d+)")


@lru_cache(maxsize=1 << 16)
def natural_key(text: str) -> tuple[str | int, ...]:
    """Sorts numbers inside names by value, case-insensitively. (Cached: a catalog sorts
    the same keys on every request.)

    >>> sorted(["a10", "a2", "B1", "a1"], key=natural_key)
    ['a1', 'a2', 'a10', 'B1']
    """
    # Splitting on a captured group alternates text and digits, text first, so two keys
    # never compare a str with an int.
    parts = _DIGITS.split(text)
    return tuple(int(part) if i % 2 else part.lower() for i, part in enumerate(parts))


@dataclass(frozen=True)
class Catalog:
    rows: list[AssetRow]  # this page's
    matched: int  # rows that pass the filters
    total: int  # every row
    page: int  # 1-based, clamped to the pages there are
    pages: int
    counts: dict[str, int]  # health -> rows, over every row
    groups: list[str]
    graphs: list[str]

    @property
    def first(self) -> int:
        """The 1-based position of this page's first row (0 when nothing matched)."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0


def _health(asset: AssetResource) -> str:
    return asset.status.health.value if asset.status else "Missing"


def catalog(
    assets: Iterable[AssetResource],
    *,
    graph: str = "",
    group: str = "",
    health: str = "",
    q: str = "",
    page: int = 1,
) -> Catalog:
    """One page of the assets that match every given filter, in (graph, key) natural
    order. Only the page's assets become rows: at 10,000 assets that is most of the cost."""
    every = list(assets)
    counts = dict.fromkeys(HEALTH_ORDER, 0)
    for asset in every:
        state = _health(asset)
        counts[state] = counts.get(state, 0) + 1
    needle = q.strip().lower()
    matched = [
        a
        for a in every
        if (not graph or a.spec.graph == graph)
        and (not group or a.spec.group == group)
        and (not health or _health(a) == health)
        and (not needle or needle in search_text(a))
    ]
    matched.sort(key=lambda a: (natural_key(a.spec.graph), natural_key(a.spec.key)))
    pages = max(1, -(-len(matched) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE_SIZE
    return Catalog(
        rows=[asset_row(a) for a in matched[start : start + PAGE_SIZE]],
        matched=len(matched),
        total=len(every),
        page=page,
        pages=pages,
        counts=counts,
        groups=sorted({a.spec.group for a in every}, key=natural_key),
        graphs=sorted({a.spec.graph for a in every}, key=natural_key),
    )
