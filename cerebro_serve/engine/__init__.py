"""Text encoders and the object views they embed."""

from cerebro_serve.engine.encoder import Encoder, SentenceTransformerEncoder, load_encoder

__all__ = ["Encoder", "SentenceTransformerEncoder", "load_encoder"]
