"""A step that outlasts an operator upgrade (tests/integration/chart/test_chart_upgrade.py):
`long_running` is in flight while the release is upgraded; `after_long` is launched by the
new operator."""

import time

from kasset import Definitions, asset


@asset
def long_running() -> str:
    time.sleep(120)
    return "done"


@asset
def after_long(long_running: str) -> str:
    return long_running.upper()


defs = Definitions(assets=[long_running, after_long])
