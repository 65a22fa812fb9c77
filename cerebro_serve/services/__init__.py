"""Use cases, one method each, between the HTTP layer and the engine, index, scoring and store."""

from cerebro_serve.services.workspace import Workspace

__all__ = ["Workspace"]
