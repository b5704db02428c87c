"""A flaky asset healed by its retry policy, a diamond, and blocking checks."""
