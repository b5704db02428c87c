"""`python -m kasset`: the same as the `kasset` command."""

from kasset.cli import main

raise SystemExit(main())
