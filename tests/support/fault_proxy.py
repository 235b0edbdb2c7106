"""A fault-injecting HTTP proxy for the embedded moto server: real 500s and throttling on the wire.

    with FaultProxy(aws.endpoint_url, rate=0.1, seed=7) as proxy:
        aws.start_workers(2, endpoint_url=proxy.url)

Every request is forwarded to the upstream unless the dice say otherwise; then it is answered with an error the
way the service would send it (S3: XML ``SlowDown`` 503 / ``InternalError`` 500; JSON protocols, i.e. SQS,
DynamoDB, Step Functions: ``ThrottlingException`` 400 / ``InternalFailure`` 500). Half the faults are injected
*before* forwarding (the request never happened) and half *after* (it happened, its answer is lost), which is
what makes retries interesting: a retried ``UpdateItem ADD`` or ``SendTaskSuccess`` runs twice.

``outage(seconds)`` fails every request for a while (a regional blip). ``counts`` says what was injected, per
service and kind, and how many requests went through.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
FAULTS = ("throttle-before", "throttle-after", "error-before", "error-after")


def _service(headers) -> str:
    target = headers.get("X-Amz-Target", "")
    if target:  # DynamoDB_20120810.UpdateItem, AmazonSQS.ReceiveMessage, AWSStepFunctions.SendTaskSuccess
        prefix = target.split(".", 1)[0].lower()
        return next((name for name in ("dynamodb", "sqs", "stepfunctions") if name in prefix), prefix)
    authorization = headers.get("Authorization", "")
    if "/sqs/" in authorization:
        return "sqs"
    return "s3"


def _error(service: str, kind: str) -> tuple[int, bytes, str]:
    throttle = kind.startswith("throttle")
    if service == "s3":
        code, status = ("SlowDown", 503) if throttle else ("InternalError", 500)
        body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>injected by fault_proxy" \
               f"</Message><RequestId>fault</RequestId></Error>"
        return status, body.encode(), "application/xml"
    code, status = ("ThrottlingException", 400) if throttle else ("InternalFailure", 500)
    body = f'{{"__type": "{code}", "message": "injected by fault_proxy"}}'
    return status, body.encode(), "application/x-amz-json-1.0"


class FaultProxy:
    def __init__(self, upstream: str, *, rate: float = 0.1, seed: int = 0, services: tuple[str, ...] | None = None):
        """``rate``: share of requests answered with a fault; ``services``: only these (default all)."""
        self.upstream = urlsplit(upstream)
        self.rate = rate
        self.services = services
        self.counts: Counter = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._outage: tuple[float, tuple[str, ...] | None] = (0.0, None)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FaultProxy":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def injected(self) -> int:
        return sum(count for key, count in self.counts.items() if key[1] in FAULTS)

    def outage(self, seconds: float, services: tuple[str, ...] | None = None) -> None:
        """From now on, for ``seconds``, fail every request (to ``services``) with a 503/throttling or a 500."""
        with self._lock:
            self._outage = (time.monotonic() + seconds, services)

    def _draw(self, service: str) -> str | None:
        with self._lock:
            self.counts[(service, "requests")] += 1
            until, services = self._outage
            if time.monotonic() < until and (services is None or service in services):
                kind = self._random.choice(("throttle-before", "error-before"))
                self.counts[(service, kind)] += 1
                return kind
            if self.services is not None and service not in self.services:
                return None
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(FAULTS)
            self.counts[(service, kind)] += 1
            return kind

    def _handler_class(self):
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                for attempt in range(2):  # a kept-alive upstream connection may have been closed meanwhile
                    connection = getattr(local, "connection", None)
                    if connection is None:
                        connection = local.connection = http.client.HTTPConnection(
                            proxy.upstream.hostname, proxy.upstream.port, timeout=120)
                    try:
                        connection.request(self.command, self.path, body=body, headers=headers)
                        response = connection.getresponse()
                        return response.status, response.getheaders(), response.read()
                    except (ConnectionError, http.client.HTTPException):
                        connection.close()
                        local.connection = None
                        if attempt:
                            raise
                raise AssertionError("unreachable")

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                head = self.command == "HEAD"  # its Content-Length is the object's, with no body
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP and (head or key.lower() != "content-length"):
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                service = _service(self.headers)
                fault = proxy._draw(service)
                if fault is None or fault.endswith("after"):
                    status, headers, payload = self._forward(body)
                if fault is not None:
                    status, payload, content_type = _error(service, fault)
                    headers = [("Content-Type", content_type), ("x-amzn-RequestId", "fault")]
                self._reply(status, headers, payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler
