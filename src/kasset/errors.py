"""Every error kasset raises on purpose, rooted at `KassetError`.

User mistakes (definitions, selections, specs) are `DefinitionError`s: the CLI prints
their message alone, with no traceback, and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "CodeLocationError",
    "CycleError",
    "DefinitionError",
    "HistoryError",
    "KassetError",
    "PartitionError",
    "PlanError",
    "SelectionError",
    "StorageError",
    "UserCodeError",
]


class KassetError(Exception):
    """Root of every error kasset raises on purpose."""


class DefinitionError(KassetError):
    """A mistake in what the user declared: assets, checks, schedules, partitions."""


class CycleError(DefinitionError):
    """The asset graph has a cycle; `members` lists the keys around it, in order."""

    def __init__(self, members: list[str]) -> None:
        self.members = members
        loop = " -> ".join([*members, members[0]])
        super().__init__(f"the asset graph has a cycle: {loop}")


class SelectionError(DefinitionError):
    """A selection string names an asset, group or tag that does not exist, or is malformed."""


class PartitionError(DefinitionError):
    """A partition key, range or mapping that the definitions cannot accept."""


class PlanError(DefinitionError):
    """A run that cannot be planned, e.g. too many steps for one Materialization."""


class CodeLocationError(KassetError):
    """The code location (`module:attribute`) cannot be imported or is not a Definitions."""


class StorageError(KassetError):
    """An IO manager could not store or load a value."""


class UserCodeError(KassetError):
    """An exception raised by the user's asset or check function, with its traceback kept."""

    def __init__(self, message: str, *, original: BaseException, traceback_text: str) -> None:
        super().__init__(message)
        self.original = original
        self.traceback_text = traceback_text


class HistoryError(KassetError):
    """The history store cannot do what was asked: a malformed cursor or URL, a schema
    newer than this kasset, or a database it cannot reach."""
