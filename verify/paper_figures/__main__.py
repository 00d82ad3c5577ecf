"""``python -m verify.paper_figures``."""

import sys

from verify.paper_figures.cli import main

sys.exit(main())
