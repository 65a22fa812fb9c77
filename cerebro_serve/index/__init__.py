"""Vector indexes, one per source or board, persisted next to the store and rebuildable from it."""

from cerebro_serve.index.registry import IndexRegistry
from cerebro_serve.index.vector_index import VectorIndex

__all__ = ["IndexRegistry", "VectorIndex"]
