"""REFLECTOR: the MIRROR STAGE host agent."""

__version__ = "0.1.0"
