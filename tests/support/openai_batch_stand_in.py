"""A local fake of the OpenAI batch API on 127.0.0.1, on top of the chat-completions stub (``openai_stub_server``).

Routes (real HTTP, the shapes of api.openai.com): ``POST /v1/files`` (multipart, purpose=batch), ``POST
/v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``, ``GET /v1/files/{id}/content``, and
``POST /v1/chat/completions`` (the real-time path, answered by the same responder).

A batch's lines are answered by the server's responder, as chat completions, when the batch ends. How it ends is
the ``BatchScript``: ``finish_after`` seconds after creation it is ``completed`` (or ``expired``: only the first
``answer_first`` lines answered, the rest in the error file as ``batch_expired``); rows named in ``error_rows``
(by the row's ``id``) get a 500 in the error file. A batch cancelled before it ends answers nothing.
``batch_rows`` lists the row ids each batch was asked, ``requests`` the real-time requests only.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Any

from tests.support.openai_stub_server import OpenAIStubServer, StubRequest, row_of, schema_of


@dataclass
class BatchScript:
    finish_after: float = 0.0
    expire: bool = False
    answer_first: int | None = None  # with expire: lines answered before it expired
    error_rows: set[str] = field(default_factory=set)


@dataclass
class _Batch:
    id: str
    input_file_id: str
    created: float
    script: BatchScript
    status: str = "in_progress"
    output_file_id: str | None = None
    error_file_id: str | None = None


class OpenAIBatchStandIn(OpenAIStubServer):
    def __init__(self, *args: Any, script: BatchScript | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script = script or BatchScript()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.batch_rows: list[list[str]] = []
        self.cancelled: list[str] = []
        self._batch_lock = threading.Lock()
        self._file_ids = itertools.count(1)

    def _new_file(self, data: bytes) -> str:
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = data
        return file_id

    def _answer_line(self, line: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the output or error line, whether it is an answer)."""
        body = line["body"]
        row = row_of(body)
        row_id = str((row or {}).get("id", ""))
        base = {"id": f"batch_req_{line['custom_id']}", "custom_id": line["custom_id"], "error": None}
        if row_id in self.script.error_rows:
            return {**base, "response": {"status_code": 500, "request_id": "req", "body": {
                "error": {"message": "The server had an error", "type": "server_error"}}}}, False
        reply = self.responder(StubRequest(body=body, row=row, schema=schema_of(body), attempt=1))
        return {**base, "response": {"status_code": 200, "request_id": "req",
                                     "body": self._completion(body, reply)}}, True

    def _settle(self, batch: _Batch) -> None:
        """End the batch once its time has come (on the first read after it)."""
        if batch.status != "in_progress" or time.time() < batch.created + batch.script.finish_after:
            return
        lines = [json.loads(raw) for raw in self.files[batch.input_file_id].splitlines() if raw.strip()]
        outputs, errors = [], []
        for index, line in enumerate(lines):
            if batch.script.expire and index >= (batch.script.answer_first or 0):
                errors.append({"id": f"batch_req_{line['custom_id']}", "custom_id": line["custom_id"],
                               "response": None, "error": {"code": "batch_expired",
                                                           "message": "This request could not be executed before "
                                                                      "the completion window expired."}})
                continue
            record, answered = self._answer_line(line)
            (outputs if answered else errors).append(record)
        jsonl = lambda records: b"".join(json.dumps(r).encode() + b"\n" for r in records)  # noqa: E731
        batch.output_file_id = self._new_file(jsonl(outputs)) if outputs else None
        batch.error_file_id = self._new_file(jsonl(errors)) if errors else None
        batch.status = "expired" if batch.script.expire else "completed"

    def _batch_json(self, batch: _Batch) -> dict[str, Any]:
        return {"id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions",
                "input_file_id": batch.input_file_id, "completion_window": "24h", "status": batch.status,
                "output_file_id": batch.output_file_id, "error_file_id": batch.error_file_id,
                "created_at": int(batch.created)}

    def _handler(self):
        base = super()._handler()
        server = self

        class Handler(base):
            def do_POST(self) -> None:  # noqa: N802
                path = self.path.rstrip("/")
                if path == "/v1/chat/completions":
                    return super().do_POST()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server._batch_lock:
                    if path == "/v1/files":
                        message = BytesParser().parsebytes(
                            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + raw)
                        parts = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                                 for part in message.get_payload()}
                        assert parts.get("purpose") == b"batch", parts.keys()
                        file_id = server._new_file(parts["file"])
                        return self._send(200, {"id": file_id, "object": "file", "purpose": "batch"})
                    if path == "/v1/batches":
                        body = json.loads(raw)
                        assert body["endpoint"] == "/v1/chat/completions" and body["completion_window"] == "24h"
                        lines = [json.loads(x) for x in server.files[body["input_file_id"]].splitlines() if x]
                        assert all(line["url"] == "/v1/chat/completions" for line in lines)
                        server.batch_rows.append([str((row_of(line["body"]) or {}).get("id")) for line in lines])
                        batch = _Batch(f"batch_{len(server.batches) + 1}", body["input_file_id"], time.time(),
                                       server.script)
                        server.batches[batch.id] = batch
                        return self._send(200, server._batch_json(batch))
                    if path.startswith("/v1/batches/") and path.endswith("/cancel"):
                        batch = server.batches[path.split("/")[3]]
                        server._settle(batch)
                        if batch.status == "in_progress":
                            batch.status = "cancelled"
                        server.cancelled.append(batch.id)
                        return self._send(200, server._batch_json(batch))
                self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_GET(self) -> None:  # noqa: N802
                parts = self.path.rstrip("/").split("/")
                with server._batch_lock:
                    if len(parts) == 4 and parts[2] == "batches" and parts[3] in server.batches:
                        batch = server.batches[parts[3]]
                        server._settle(batch)
                        return self._send(200, server._batch_json(batch))
                    if len(parts) == 5 and parts[2] == "files" and parts[4] == "content" and parts[3] in server.files:
                        data = server.files[parts[3]]
                        self.send_response(200)
                        self.send_header("Content-Type", "application/jsonl")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return None
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        return Handler
