"""Text encoders (a contract, backends per runtime, a factory), the dynamic batcher and object views."""

from cerebro_serve.engine.encoder import Encoder, PooledEncoder
from cerebro_serve.engine.loading import load_encoder

__all__ = ["Encoder", "PooledEncoder", "load_encoder"]
