"""What a batch whose one chunk failed on AWS writes (tests/e2e: the chunk's rows come from the source CSV)."""

from __future__ import annotations

from airflow_provider_batchorch.aws.results import CHUNK_FAILED_CODE


def assert_only_chunk_failed(rows: list[dict[str, str]], texts: list[str], failed_ids: list[str]) -> list[dict]:
    """Every row of the echo-style batch over ``texts`` in input order; the rows ``failed_ids`` (one chunk) FAILED
    with CHUNK_FAILED, every other row SUCCEEDED with its ``upper``. Returns the failed rows."""
    assert [row["id"] for row in rows] == [str(i) for i in range(len(texts))]
    assert [row["text"] for row in rows] == texts
    failed = [row for row in rows if row["_status"] == "FAILED"]
    assert [row["id"] for row in failed] == failed_ids
    assert all(row["_error_code"] == CHUNK_FAILED_CODE for row in failed)
    assert all(row["_status"] == "SUCCEEDED" and row["upper"] == row["text"].upper()
               for row in rows if row not in failed)
    return failed
