"""One native thread per request in a serving process (cerebro_serve/native_threads.py): FAISS's OpenMP
and numpy's BLAS are limited whether they load before or after, index builds still use every core from
their own thread, and the encoder keeps every core for its batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHILD = """
import json, numpy
from cerebro_serve.native_threads import limit_request_threads
limit_request_threads(1)  # numpy (BLAS) is loaded already; FAISS and PyTorch load after
import faiss, threading
from threadpoolctl import threadpool_info
from cerebro_serve.engine import load_encoder
load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch")
import torch
seen = {}
def request_thread():
    seen["faiss_in_a_new_thread"] = faiss.omp_get_max_threads()
thread = threading.Thread(target=request_thread)
thread.start(); thread.join()
pools = [(pool["user_api"], pool["internal_api"], pool["num_threads"]) for pool in threadpool_info()]
print(json.dumps({**seen, "pools": pools, "torch": torch.get_num_threads()}))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to limit")
def test_request_threads_are_limited_and_the_encoder_keeps_every_core() -> None:
    env = {key: value for key, value in os.environ.items() if not key.endswith("_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["faiss_in_a_new_thread"] == 1  # a request thread's FAISS calls run on one thread
    blas = [threads for user_api, _, threads in found["pools"] if user_api == "blas"]
    assert blas and all(threads == 1 for threads in blas)
    assert found["torch"] == os.cpu_count()  # the encoder's batches use every core
