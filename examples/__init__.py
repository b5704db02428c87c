"""Runnable example projects: `kasset materialize examples/population/definitions.py --local`."""
