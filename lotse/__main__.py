import sys

from lotse.cli import main

sys.exit(main())
