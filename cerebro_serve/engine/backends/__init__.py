"""One module per runtime (PyTorch, numpy USE, ONNX Runtime, vLLM), each a PooledEncoder: adding a
runtime is adding a module here and a line in engine/loading.py."""
