"""A demo workspace: a source of profiles and a board of jobs across ten fields, written for this project."""

from cerebro_serve.demo.loader import load_demo

__all__ = ["load_demo"]
