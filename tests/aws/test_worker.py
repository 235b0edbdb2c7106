"""The worker always answers Step Functions: an unexpected error in a chunk becomes a retryable task failure."""

import asyncio
import json

from airflow_provider_batchorch.aws.worker import ChunkWorker


class _Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda **kwargs: self.calls.append((name, kwargs)) or {}


def test_an_unexpected_error_is_answered_as_a_retryable_failure_and_the_message_deleted(monkeypatch):
    s3, sqs, sfn, ddb = _Recorder(), _Recorder(), _Recorder(), _Recorder()
    worker = ChunkWorker(s3=s3, sqs=sqs, sfn=sfn, ddb=ddb, queue_url="q", progress_table="t", visibility_seconds=30)

    async def broken(config_uri, chunk):
        raise KeyError("a bug")

    monkeypatch.setattr(worker, "process_chunk", broken)
    chunk = {"chunk": 3, "start": 0, "end": 10, "rows": 2, "first_row": 0}
    body = {"task_token": "tok", "config_uri": "s3://b/runs/x/config.json", "chunk": chunk}
    asyncio.run(worker.handle_message({"Body": json.dumps(body), "ReceiptHandle": "rh"}))
    (failure,) = [kwargs for name, kwargs in sfn.calls if name == "send_task_failure"]
    assert failure["taskToken"] == "tok" and failure["error"] == "ChunkRetryable" and "KeyError" in failure["cause"]
    assert ("put_object", ) == tuple(name for name, _ in s3.calls)  # the error is recorded for the results step
    assert [name for name, _ in sqs.calls] == ["delete_message"]
