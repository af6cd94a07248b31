"""`python -m memhound`: the same as the `memhound` console script."""

import sys

from memhound.cli import main

sys.exit(main())
