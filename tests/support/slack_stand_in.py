"""A local stand-in for the Slack Web API and for slash-command ``response_url``s: a real HTTP server on
127.0.0.1 that answers like Slack and records what it was sent.

- ``POST /api/chat.postMessage`` and ``/api/chat.update`` (JSON or form body, ``Authorization: Bearer``);
  a channel named ``C_NOT_IN`` answers ``not_in_channel`` like a channel the bot was not invited to;
- ``POST /response/<anything>``: a ``response_url``.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

TOKEN = "xoxb-stand-in-token"
NOT_IN_CHANNEL = "C_NOT_IN"


@dataclass
class SlackCall:
    method: str  # "chat.postMessage", "chat.update" or "response_url"
    body: dict
    path: str

    @property
    def text(self) -> str:
        return self.body.get("text", "")


class SlackStandIn:
    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self._ts = (f"1700000000.{n:06d}" for n in itertools.count(1))
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                body = json.loads(raw) if "json" in (self.headers.get("Content-Type") or "") else dict(parse_qsl(raw))
                status, answer = stand_in.answer(self.path, body, self.headers.get("Authorization", ""))
                payload = answer if isinstance(answer, str) else json.dumps(answer)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json")
                self.send_header("Content-Length", str(len(payload.encode())))
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/response/{name}"

    def answer(self, path: str, body: dict, authorization: str) -> tuple[int, dict | str]:
        if path.startswith("/response/"):
            self._record("response_url", body, path)
            return 200, "ok"
        method = path.removeprefix("/api/")
        if authorization != f"Bearer {TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}
        if body.get("channel") == NOT_IN_CHANNEL:
            return 200, {"ok": False, "error": "not_in_channel"}
        self._record(method, body, path)
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": body["channel"], "ts": next(self._ts), "message": {"text": body.get("text")}}
        if method == "chat.update":
            return 200, {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body.get("text")}
        return 404, {"ok": False, "error": "unknown_method"}

    def _record(self, method: str, body: dict, path: str) -> None:
        with self._lock:
            self.calls.append(SlackCall(method, body, path))

    def of(self, method: str) -> list[SlackCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def texts(self) -> list[str]:
        with self._lock:
            return [call.text for call in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
