"""`python -m kasset.operator ...`: the operator command without the `kasset` CLI."""

import sys

from kasset.operator.process.main import main

sys.exit(main())
