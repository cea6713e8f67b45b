"""`python -m noloss`: the command line."""

import sys

from noloss.cli import main

sys.exit(main())
