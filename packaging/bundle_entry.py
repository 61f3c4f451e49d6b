"""The bundle's executable: the ``metalearn-gui`` command (``--smoke`` included, which
build_bundle.sh runs to check the bundle)."""

import sys

from metalearn_gui.cli import main

sys.exit(main())
