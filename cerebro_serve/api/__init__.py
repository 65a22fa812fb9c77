"""The HTTP layer: HrFlow v1 routes on Litestar. Parse, call a service, answer in the envelope."""

from cerebro_serve.api.app import create_app

__all__ = ["create_app"]
