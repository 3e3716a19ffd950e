"""``python -m tensorcalc.web [--port 8000]``: serve the matrix calculus page."""

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
