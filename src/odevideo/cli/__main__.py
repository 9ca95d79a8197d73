import sys

from odevideo.cli.main import main

sys.exit(main())
