"""The version of aekit: the one place it is written, with nothing above it imported."""

__version__ = "0.1.0"
