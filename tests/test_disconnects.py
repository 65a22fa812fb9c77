"""A client that disconnects before its write is done costs no more encoder time and stores nothing."""

from __future__ import annotations

import asyncio
import json
import threading

from helpers import SETTINGS, make_batcher, make_workspace

from cerebro_serve.api import create_app
from cerebro_serve.objects import PROFILE
from cerebro_serve.services.keys import new_key
from cerebro_serve.services.queries import PoolCreate


class HeldEncoder:
    """The real encoder, with forward passes held until released."""

    def __init__(self, encoder) -> None:
        self.inner = encoder
        self.name, self.dimension, self.device = encoder.name, encoder.dimension, "cpu"
        self.release = threading.Event()
        self.pieces: list[str] = []

    def prepare(self, texts):
        return self.inner.prepare(texts)

    def head_cutter(self):
        return self.inner.head_cutter()

    def pool(self, pieces, owners, vectors, count):
        return self.inner.pool(pieces, owners, vectors, count)

    def encode_pieces(self, pieces):
        self.release.wait(timeout=30)
        self.pieces.extend(pieces)
        return self.inner.encode_pieces(pieces)


async def _post_then_disconnect(app, key: str, body: dict, disconnect_after: float) -> list[dict]:
    """POST over raw ASGI; the client goes away `disconnect_after` seconds after sending its body."""
    payload = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/profile/indexing",
        "raw_path": b"/v1/profile/indexing",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"x-api-key", key.encode()), (b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    messages = iter([{"type": "http.request", "body": payload, "more_body": False}])
    sent: list[dict] = []

    async def receive() -> dict:
        message = next(messages, None)
        if message is not None:
            return message
        await asyncio.sleep(disconnect_after)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_a_write_whose_client_left_is_not_encoded_or_stored(store, encoder, tmp_path) -> None:
    held = HeldEncoder(encoder)
    batcher = make_batcher(held, batch_wait_ms=1)
    admin = new_key()
    workspace = make_workspace(store, batcher, tmp_path / "indexes", admin)
    try:
        source = workspace.pools.create(PROFILE, PoolCreate(name="pool")).key
        # Another caller holds the encoder, so the departing client's texts are still queued when it goes.
        blocker = threading.Thread(target=batcher.embed_documents, args=(["someone else's long resume"],))
        blocker.start()
        app = create_app(workspace, SETTINGS.max_body_bytes)
        body = {"source_key": source, "text": "departing candidate: registered nurse, ICU, triage"}
        sent = asyncio.run(asyncio.wait_for(_post_then_disconnect(app, admin, body, 0.3), timeout=30))
        held.release.set()
        blocker.join(timeout=30)
        assert sent[0]["status"] == 499
        assert not any("departing" in piece for piece in held.pieces)  # never encoded
        assert list(workspace.store.records.index_rows(source)) == []  # nothing stored
        assert batcher.stats.dropped == 1
    finally:
        held.release.set()
        workspace.close()
        batcher.close()
