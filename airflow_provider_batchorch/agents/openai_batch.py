"""The OpenAI-compatible batch API: ``/files`` (upload the JSONL, read the output and error files) and
``/batches`` (create, retrieve, cancel). Plain blocking httpx calls: the operator calls them, the trigger
polls ``retrieve`` in a thread. Errors: ``BatchApiJobError`` for an HTTP error answer, ``httpx.TransportError``
for a connection fault (the trigger rides out a few in a row).
"""

from __future__ import annotations

from typing import Any

import httpx

from airflow_provider_batchorch.core.batch_api.requests import OPENAI_BATCH_ENDPOINT
from airflow_provider_batchorch.core.errors import BatchApiJobError

COMPLETION_WINDOW = "24h"  # the only window the OpenAI batch API takes; our deadline is our own
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
_ERROR_BODY_CHARS = 300


class OpenAIBatchClient:
    def __init__(self, base_url: str, api_key: str | None, *, timeout: float = 120.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "OpenAIBatchClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _checked(self, response: httpx.Response, what: str) -> httpx.Response:
        if response.status_code >= 400:
            raise BatchApiJobError(
                f"{what} at {self.base_url} answered HTTP {response.status_code}: "
                f"{response.text[:_ERROR_BODY_CHARS]}",
                hint="Check that the endpoint offers the batch API (/files, /batches) and the key may use it; "
                     "execution_mode realtime does without it.",
            )
        return response

    def upload(self, jsonl: bytes, filename: str) -> str:
        files = {"file": (filename, jsonl, "application/jsonl")}
        response = self._client.post("/files", data={"purpose": "batch"}, files=files)
        return self._checked(response, "uploading the batch input").json()["id"]

    def create(self, input_file_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        body = {"input_file_id": input_file_id, "endpoint": OPENAI_BATCH_ENDPOINT,
                "completion_window": COMPLETION_WINDOW, "metadata": metadata}
        return self._checked(self._client.post("/batches", json=body), "creating the batch").json()

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        return self._checked(self._client.get(f"/batches/{batch_id}"), f"reading batch {batch_id}").json()

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return self._checked(self._client.post(f"/batches/{batch_id}/cancel"), f"cancelling batch {batch_id}").json()

    def content(self, file_id: str) -> str:
        response = self._client.get(f"/files/{file_id}/content")
        return self._checked(response, f"reading file {file_id}").text
