"""Entry point of a worker process: ``python -m tensorcalc.web._child`` (see ``worker``).

A module of its own so that running it does not re-execute ``worker`` as ``__main__`` while the
package has already imported it.
"""

from tensorcalc.web.worker import _worker_main

if __name__ == "__main__":
    _worker_main()
