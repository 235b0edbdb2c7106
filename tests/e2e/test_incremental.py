"""Incremental enrichment: a second run calls the agent only for rows whose mapped input changed."""

import uuid

from tests.e2e.test_processor_e2e import _run
from tests.support import agents


def test_second_run_reuses_unchanged_rows(aws_with_workers):
    state = f"s3://{aws_with_workers.bucket}/state-{uuid.uuid4().hex[:8]}/"
    first_texts = [f"company {i}" for i in range(200)]
    second_texts = [t if i % 20 else f"{t} renamed" for i, t in enumerate(first_texts)]  # 10 changed

    def source(texts):
        return "id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts))

    _, first, _ = _run(aws_with_workers, source(first_texts), agents.spec("echo"), chunk_rows=25,
                       incremental=True, state_uri=state)
    assert (first.agent_calls, first.rows_reused) == (200, 0)

    _, second, rows = _run(aws_with_workers, source(second_texts), agents.spec("echo"), chunk_rows=25,
                           incremental=True, state_uri=state)
    assert second.agent_calls == 10
    assert second.rows_reused == 190
    assert [r["upper"] for r in rows] == [t.upper() for t in second_texts]
    assert [r["id"] for r in rows] == [str(i) for i in range(200)]


def test_duplicate_rows_in_one_batch_call_the_agent_once(aws_with_workers):
    texts = [f"dup {i % 7}" for i in range(30)]
    _, summary, rows = _run(aws_with_workers, "text\n" + "".join(f"{t}\n" for t in texts), agents.spec("echo"),
                            chunk_rows=30, concurrency=1)
    assert summary.agent_calls == 7 and summary.calls_saved == 23 and summary.rows_reused == 0
    assert [r["upper"] for r in rows] == [t.upper() for t in texts]
