"""The naive baseline of bench/bench_scale.py: a plain ASGI app, no framework, that for each request
encodes the job's text with sentence-transformers, takes a numpy dot product with every profile vector,
sorts all of them and answers the best 10. Run with uvicorn; configured by environment variables:
NAIVE_MATRIX (.npy, profiles x dim), NAIVE_JOBS (.json, a list of job texts), NAIVE_MODEL (model dir).
"""

from __future__ import annotations

import json
import os
from urllib.parse import parse_qs

import numpy as np
from sentence_transformers import SentenceTransformer

MATRIX = np.load(os.environ["NAIVE_MATRIX"])
JOBS = json.loads(open(os.environ["NAIVE_JOBS"], encoding="utf-8").read())
MODEL = SentenceTransformer(os.environ["NAIVE_MODEL"], device="cpu", local_files_only=True)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    job = int(parse_qs(scope["query_string"].decode()).get("job", ["0"])[0])
    vector = MODEL.encode([JOBS[job]], normalize_embeddings=True)[0]
    scores = MATRIX @ vector
    order = np.argsort(-scores)[:10]
    body = json.dumps({"rows": order.tolist(), "scores": scores[order].tolist()}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
