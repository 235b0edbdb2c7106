"""batchorch: run an AI agent with structured output over every row of a CSV, on Airflow + AWS Step Functions."""

from __future__ import annotations

__version__ = "0.1.0"

_PACKAGE = "airflow_provider_batchorch"


def get_provider_info() -> dict:
    """Airflow's provider metadata (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-batchorch",
        "name": "Batchorch",
        "description": "Run an AI agent with structured output over every row of a CSV, "
        "fanned out by AWS Step Functions Distributed Map.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Batchorch",
                "external-doc-url": "https://github.com/batchorch/airflow-provider-batchorch",
                "tags": ["aws", "ai"],
            }
        ],
        "operators": [
            {
                "integration-name": "Batchorch",
                "python-modules": [
                    f"{_PACKAGE}.operators.analyze_csv",
                    f"{_PACKAGE}.operators.validate_agent",
                    f"{_PACKAGE}.operators.configure_batch",
                    f"{_PACKAGE}.operators.execute_batch",
                    f"{_PACKAGE}.operators.get_batch_results",
                    f"{_PACKAGE}.operators.agent_request",
                    f"{_PACKAGE}.operators.chat_agent",
                    f"{_PACKAGE}.operators.batch_approval",
                    f"{_PACKAGE}.operators.chat_replies",
                    f"{_PACKAGE}.operators.merge_retry",
                    f"{_PACKAGE}.operators.plan_pipeline",
                    f"{_PACKAGE}.operators.stage_input",
                    f"{_PACKAGE}.operators.plan_csv_runs",
                    f"{_PACKAGE}.operators.golden_gate",
                    f"{_PACKAGE}.operators.golden_approval",
                    f"{_PACKAGE}.operators.batch_api_job",
                    f"{_PACKAGE}.operators.start_stream",
                    f"{_PACKAGE}.operators.monitor_stream",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "Batchorch", "python-modules": [f"{_PACKAGE}.sensors.batch_execution"]}
        ],
        "hooks": [{"integration-name": "Batchorch",
                   "python-modules": [f"{_PACKAGE}.hooks.batchorch", f"{_PACKAGE}.hooks.batch_metrics",
                                      f"{_PACKAGE}.hooks.llm_connection"]}],
        "triggers": [
            {
                "integration-name": "Batchorch",
                "python-modules": [f"{_PACKAGE}.triggers.batch_execution", f"{_PACKAGE}.triggers.new_csv",
                                   f"{_PACKAGE}.triggers.stream_progress", f"{_PACKAGE}.triggers.llm_batch_job"],
            }
        ],
        "extra-links": [f"{_PACKAGE}.links.batch_execution.BatchExecutionLink"],
    }
