"""The code location of the partitioned example, with a nightly schedule that
materializes the day that just ended."""

from kasset import Definitions, ScheduleDefinition

from .assets import daily_total, page_views, weekly_report

nightly = ScheduleDefinition(name="nightly", cron="0 2 * * *", selection="group:web")

defs = Definitions(assets=[page_views, daily_total, weekly_report], schedules=[nightly])
