"""`python -m kasset.runtime`: the same as `kasset runtime`."""

from kasset.runtime.main import main

raise SystemExit(main())
