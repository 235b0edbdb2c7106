"""Serve an ASGI app for a test: uvicorn on a free 127.0.0.1 port, in a thread."""

import contextlib
import threading
import time

from airflow_provider_batchorch.local.emulator import free_port


@contextlib.contextmanager
def serve(app, port: int | None = None, *, path: str = ""):
    """Yields the base URL (plus ``path``) once the server accepts connections; stops it on exit."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
