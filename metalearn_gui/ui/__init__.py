"""The Qt user interface (the core stays Qt-free)."""
