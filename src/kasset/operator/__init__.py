"""The kasset operator: kopf handlers, the run controller, step pods, schedules, HTTP.

Entry point: `kasset operator` -> `kasset.operator.process.main.main(argv)`. Nothing here is public
API; the modules are imported by the command and by tests.
"""

__all__: list[str] = []
