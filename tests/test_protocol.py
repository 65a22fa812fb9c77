"""The server's HTTP protocol (api/protocol.py) on a listening socket bound the way uvicorn binds one for
several workers (protocol number 0): every accepted connection still gets TCP_NODELAY, so keep-alive
answers are not held back ~40 ms by Nagle's algorithm waiting for the client's delayed ACK."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from cerebro_serve.api.protocol import EnvelopedH11Protocol


class Recording(EnvelopedH11Protocol):
    nodelay: list[int] = []

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        Recording.nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def hello(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_connections_on_a_listener_without_a_protocol_number_get_tcp_nodelay() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn's bind_socket leaves it
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(hello, http=Recording, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with httpx.Client() as client:
            for _ in range(2):  # keep-alive: one connection, two answers
                assert client.get(f"http://127.0.0.1:{port}/").text == "ok"
        assert Recording.nodelay and all(Recording.nodelay)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
