"""usm: service management whose engine is the USM process model."""

__version__ = "0.1.0"
