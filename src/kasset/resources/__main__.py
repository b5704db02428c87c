"""`python -m kasset.resources DIR [--check]`: write the CRDs into DIR, or check they are current.

``--check`` exits 1 when a file in DIR differs from what the models generate (for CI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kasset.resources.crdgen import KINDS, crd_filename, render_crd, write_crds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kasset.resources", description=__doc__)
    parser.add_argument("directory", type=Path, help="where the CRD YAML files go, e.g. crds/")
    parser.add_argument("--check", action="store_true", help="only check the files are current")
    args = parser.parse_args(argv)
    directory: Path = args.directory
    if not args.check:
        for path in write_crds(directory):
            print(f"wrote {path}")
        return 0
    stale = [
        crd_filename(kind)
        for kind in KINDS
        if not (directory / crd_filename(kind)).is_file()
        or (directory / crd_filename(kind)).read_text(encoding="utf-8") != render_crd(kind)
    ]
    for name in stale:
        print(f"{directory / name} is out of date; run `make crds`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
