"""`python -m demo [RECIPE] [--fresh]`: the end-to-end demo (see the package docstring)."""

import sys

from demo import main

sys.exit(main())
