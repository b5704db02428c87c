"""Daily-partitioned page views with an unpartitioned weekly rollup and a schedule."""
