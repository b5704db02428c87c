"""What the operator reports to metrics: the `MetricsSink` Protocol, `NullMetrics`,
and the Prometheus implementation.
"""
