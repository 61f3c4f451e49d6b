"""Files shipped with the package (the application icon)."""
