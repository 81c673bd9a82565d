"""The harness lives in bench/ at the repository root, outside the installed package: make it
importable whichever way pytest was started."""

import sys
from pathlib import Path

REPOSITORY = str(Path(__file__).resolve().parents[2])
if REPOSITORY not in sys.path:
    sys.path.insert(0, REPOSITORY)
