"""Text encoders and the object views they embed."""

from cerebro_serve.engine.encoder import (
    Encoder,
    PooledEncoder,
    SentenceTransformerEncoder,
    UniversalSentenceEncoder,
    load_encoder,
)

__all__ = ["Encoder", "PooledEncoder", "SentenceTransformerEncoder", "UniversalSentenceEncoder", "load_encoder"]
