"""``python -m allocopt`` runs the command line."""

import sys

from allocopt.cli import main

sys.exit(main())
