"""Running assets without a cluster: `materialize()` in this process, and the
subprocess executor behind `kasset materialize --local`."""

from kasset.local.inprocess import materialize
from kasset.local.result import ExecutionResult

__all__ = ["ExecutionResult", "materialize"]
