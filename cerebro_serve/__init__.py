"""Cerebro Serve: a self-hostable, HrFlow-compatible talent-matching server."""

__version__ = "0.1.0"
