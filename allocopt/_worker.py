"""Entry point of a worker process: ``python -m allocopt._worker FD`` (see ``allocopt.workers``).

A module of its own, which the package never imports, so that running it as ``__main__`` does not clash with
``allocopt.workers`` already imported by ``import allocopt``.
"""

import sys
from multiprocessing.connection import Connection

from allocopt.workers import worker_main

if __name__ == "__main__":
    worker_main(Connection(int(sys.argv[1])))
