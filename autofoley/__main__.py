"""python -m autofoley"""

import sys

from autofoley._cli import main

sys.exit(main())
