"""apache-airflow-providers-common-ai over every row: one ``LLMOperator`` per row, C of them running at once.

How common-ai runs an LLM over many items: ``LLMBatchOperator`` hands the prompts to a provider's asynchronous
batch API (OpenAI ``/v1/batches``, Anthropic Message Batches: results within hours, no client-side concurrency,
nothing to measure against a latency), so the synchronous way is ``LLMOperator.partial(...).expand(prompt=...)``:
one task per item, each building its agent through ``PydanticAIHook`` and calling ``run_agent_sync``. Here each
row's ``LLMOperator.execute`` runs in a pool of C threads (C task slots), without Airflow's scheduler, so the
figure is an upper bound of that path. The connection comes from ``AIRFLOW_CONN_BENCH_LLM`` (a ``pydanticai``
connection: password = key, host = the fake server's base URL).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from peer_common import API_KEY, MODEL, PROMPT, measure, parse_args, user_prompt

CONN_ID = "bench_llm"


class _TaskInstance:
    """The little of a task instance that LLMOperator.execute touches without usage limits: XCom pushes."""

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        pass


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "pydanticai", "password": API_KEY, "host": args.base_url, "extra": {"model": f"openai-chat:{MODEL}"}}
    )
    from pydantic import BaseModel

    from airflow.providers.common.ai.operators.llm import LLMOperator

    class Answer(BaseModel):
        row_id: str
        label: str
        score: float

    context: dict[str, Any] = {"ti": _TaskInstance(), "task_instance": _TaskInstance()}

    def one_row(indexed: tuple[int, dict[str, str]]) -> Any:
        index, row = indexed
        operator = LLMOperator(
            task_id=f"classify_{index}",
            prompt=user_prompt(row),
            llm_conn_id=CONN_ID,
            system_prompt=PROMPT,
            output_type=Answer,
            serialize_output=True,
        )
        output = operator.execute(context)
        return output.model_dump() if isinstance(output, BaseModel) else output

    def process(rows: list[dict[str, str]]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            return list(pool.map(one_row, enumerate(rows)))

    measure(process, args)


if __name__ == "__main__":
    main()
