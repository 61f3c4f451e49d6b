"""The bundle's executable: the ``metalearn-gui`` command, and ``--smoke`` for build_bundle.sh.

A frozen app has no ``python -m``, so the smoke start needs its own way in; it is handled
here, before the command line, so that ``metalearn-gui --help`` stays as it is.
"""

import sys

if sys.argv[1:] == ["--smoke"]:
    from metalearn_gui.smoke import main
else:
    from metalearn_gui.cli import main

sys.exit(main())
