"""`python -m desktop.cli`: the same as the `gridledger` command."""

import sys

from desktop.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
