"""``python -m metalearn_gui`` runs the same entry point as the ``metalearn-gui`` command."""

from metalearn_gui.cli import main

raise SystemExit(main())
