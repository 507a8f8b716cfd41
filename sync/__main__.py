import sys

from sync.app.cli import main

sys.exit(main())
