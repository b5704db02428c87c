"""Asset projects of the reliability tests (tests/reliability/)."""
