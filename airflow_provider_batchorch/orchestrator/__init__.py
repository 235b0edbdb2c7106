"""The Batch Orchestrator's tools: the design document's six tools plus ``recommend_agents`` and
``explain_failures``, as one typed toolset (``tools.BatchToolset``) under the deployment's ``RequestPolicy``.

- ``tool_models``: each tool's pydantic input and output model;
- ``policy_guard``: every argument checked against the ``RequestPolicy`` before anything runs;
- ``launchers``: how a batch starts: a ``batch_orchestrator`` DAG run, over Airflow's REST API or embedded;
- ``tools``: the toolset; ``plain_tools`` turns its methods into flat-argument functions for MCP or pydantic-ai;
- ``mcp_server``: ``batchorch mcp``, the toolset as an MCP server (official ``mcp`` SDK);
- ``chat_agent``: the Batch Orchestrator Agent (pydantic-ai, the toolset's tools), one Slack thread one conversation;
- ``conversations``: the conversations' S3 store (history and batches, bound to their Slack owner).
"""
