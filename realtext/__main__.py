"""`python -m realtext` is `python -m realtext.build`."""

import sys

from realtext.build import main

sys.exit(main())
