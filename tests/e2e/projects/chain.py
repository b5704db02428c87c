"""Five no-op assets in a chain (inter-step gap, termination-message fallback), plus a
schedule that fires every minute."""

from kasset import Definitions, ScheduleDefinition, asset


@asset
def c1() -> int:
    return 1


@asset
def c2(c1: int) -> int:
    return c1 + 1


@asset
def c3(c2: int) -> int:
    return c2 + 1


@asset
def c4(c3: int) -> int:
    return c3 + 1


@asset
def c5(c4: int) -> int:
    return c4 + 1


every_minute = ScheduleDefinition(name="every-minute", cron="* * * * *", selection="c1")

defs = Definitions(assets=[c1, c2, c3, c4, c5])
scheduled = Definitions(assets=[c1, c2, c3, c4, c5], schedules=[every_minute])
