"""A stand-in for the monitoring task, run as its own process so a test can SIGKILL it mid-poll.

    python -m tests.chaos.monitor ENDPOINT_URL EXECUTION_ARN

Polls the execution every 0.2 s and prints its status, one line per poll, until it ends.
"""

import sys
import time

import boto3

from airflow_provider_batchorch.core.execution_status import is_final


def main(endpoint_url: str, arn: str) -> None:
    sfn = boto3.client("stepfunctions", endpoint_url=endpoint_url, region_name="us-east-1")
    while True:
        status = sfn.describe_execution(executionArn=arn)["status"]
        print(status, flush=True)
        if is_final(status):
            return
        time.sleep(0.2)


if __name__ == "__main__":
    main(*sys.argv[1:3])
