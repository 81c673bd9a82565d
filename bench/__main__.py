"""`python -m bench …` from the repository root runs the harness without the `usm` command."""

import sys

from bench.harness import main

sys.exit(main(sys.argv[1:]))
