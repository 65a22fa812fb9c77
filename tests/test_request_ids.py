"""Request ids: each answer carries one (the client's when sane), and every log line written while the
request is served, in a worker thread too, carries the same one; JSON log lines parse."""

from __future__ import annotations

import json
import logging
import re

import anyio.to_thread

from cerebro_serve.logs import REQUEST_ID, JsonFormatter, RequestIdFilter, configure_logging


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_each_answer_carries_its_request_id(client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "req-42:a.b"}).headers["x-request-id"] == "req-42:a.b"
    made = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    for insane in ("has spaces", "x" * 129, "line\tbreak"):
        answered = client.get("/healthz", headers={"X-Request-ID": insane}).headers["x-request-id"]
        assert answered != insane and re.fullmatch(r"[0-9a-f]{32}", answered)
    assert client.get("/v1/no-such-route").headers["x-request-id"]  # errors too


def test_lines_logged_while_serving_carry_the_request_id(client) -> None:
    from litestar import get

    logger = logging.getLogger("cerebro_serve.test_request_ids")
    lines = Lines()
    logger.addHandler(lines)

    @get("/logs-twice", sync_to_thread=False)
    async def logs_twice() -> dict[str, str]:
        logger.warning("on the event loop")
        await anyio.to_thread.run_sync(lambda: logger.warning("in a worker thread"))
        return {}

    client.app.register(logs_twice)
    try:
        client.get("/logs-twice", headers={"X-Request-ID": "trace-7"})
        logger.warning("between requests")
    finally:
        logger.removeHandler(lines)
    assert [(line["message"], line["request_id"]) for line in lines.lines] == [
        ("on the event loop", "trace-7"),
        ("in a worker thread", "trace-7"),
        ("between requests", "-"),
    ]
    assert lines.lines[0]["level"] == "WARNING" and lines.lines[0]["time"].endswith("+00:00")


def test_json_lines_keep_exceptions_and_the_root_logger_takes_the_format() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    token = REQUEST_ID.set("r1")
    try:
        RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed here" and line["request_id"] == "r1" and "ValueError: boom" in line["exception"]
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("json")
        assert isinstance(root.handlers[0].formatter, JsonFormatter) and len(root.handlers) == 1
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
