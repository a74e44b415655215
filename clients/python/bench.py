#!/usr/bin/env python3
"""Python vs Go latency of scope.single at decimation 1: see rpbus/bench.py.

    ../../.venv/bin/python bench.py [--nats URL] [--count N] [--rounds R] [--json]
"""

import sys

from rpbus.bench import main

if __name__ == "__main__":
    sys.exit(main())
