"""``python -m tensorcalc``: the command line (see :mod:`tensorcalc.cli`)."""

import sys

from .cli import main

sys.exit(main())
