"""DocETL's ``map`` over every row: ``docetl.read_csv(...).map(...).collect(max_threads=C)``, litellm underneath.

The model is ``openai/fake-model`` with litellm's ``api_base`` pointing at the fake server (an OpenAI-compatible
endpoint); the map's output schema is the benchmark's (row_id, label, score); DocETL's cache is bypassed.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from peer_common import API_KEY, MODEL, PROMPT, measure, parse_args


def offline_tokenizer() -> None:
    """DocETL counts tokens with tiktoken's encoding for the model (o200k_base for an unknown one), which tiktoken
    downloads on first use; a machine without that download gets cl100k_base, the encoding litellm ships, instead
    (same work per token)."""
    import importlib.util
    from pathlib import Path

    litellm_dir = Path(importlib.util.find_spec("litellm").origin).parent
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(litellm_dir / "litellm_core_utils" / "tokenizers"))
    import tiktoken

    try:
        tiktoken.get_encoding("o200k_base")
    except Exception:  # no network, no cached file
        cl100k = tiktoken.get_encoding("cl100k_base")
        tiktoken.encoding_for_model = lambda model_name: cl100k
        tiktoken.get_encoding = lambda name, _original=tiktoken.get_encoding: _original("cl100k_base")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    os.environ.setdefault("OPENAI_API_KEY", API_KEY)
    offline_tokenizer()
    import docetl

    docetl.bypass_cache = True
    docetl.intermediate_dir = tempfile.mkdtemp(prefix="docetl-bench-")

    def process(rows: list[dict[str, str]]) -> list[Any]:
        frame = docetl.read_csv(str(args.csv)).map(
            prompt=PROMPT + "\n\n{{ input.text }}",
            output={"schema": {"row_id": "string", "label": "string", "score": "float"}},
            model=f"openai/{MODEL}",
            litellm_completion_kwargs={"api_base": args.base_url, "api_key": API_KEY},
        )
        results = frame.collect(max_threads=args.concurrency)
        # As DocETL returns them (its order): the benchmark checks order and completeness by row_id.
        return [{key: result.get(key) for key in ("row_id", "label", "score")} for result in results]

    measure(process, args)


if __name__ == "__main__":
    main()
