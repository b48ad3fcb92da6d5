"""reelflow: a self-hosted media processing service."""

__version__ = "0.1.0"
