"""Entry point of a ``solve_many`` worker process: ``python -m allocopt._worker FD`` (see ``allocopt.batch``).

A module of its own, which the package never imports, so that running it as ``__main__`` does not clash with
``allocopt.batch`` already imported by ``import allocopt``.
"""

import sys
from multiprocessing.connection import Connection

from allocopt.batch import _worker_main

if __name__ == "__main__":
    _worker_main(Connection(int(sys.argv[1])))
