"""``python -m saswot``: the same as the ``saswot`` command."""

import sys

from saswot.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
