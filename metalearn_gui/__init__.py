"""metalearn-gui: a desktop strategy lab for meta-learning."""

__version__ = "0.1.0"
