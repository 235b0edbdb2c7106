"""Cost mode: rows answered by a provider's asynchronous batch API (about half the price), the rest in real time.

- ``models``: the execution modes, the submitted job, its outcome and the cost per part of a batch.
- ``mode``: which mode a batch runs in (``auto``'s rule) and which batch API an agent's model has.
- ``requests``: one request per distinct agent input, as the JSONL a batch API takes.
- ``results``: the answers and errors in a batch job's output files.
- ``merge``: answers validated like real-time ones and written into the batch's answer store, which the
  workers read before calling the agent: only the rows the job did not answer call it in real time.
- ``parts``: rows, tokens and cost of the batch-API part and the real-time part.

Plain Python: the provider clients live in ``agents.openai_batch`` and ``aws.bedrock_batch``.
"""
