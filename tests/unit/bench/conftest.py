"""The bench package lives at the repository root, outside `src/`: make it importable
however pytest was started."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
