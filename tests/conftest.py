import os

import pytest

# Tests never talk to real AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def embedded_aws(tmp_path_factory):
    """A moto server (Step Functions interpreter on) with the processor deployed; no workers."""
    from airflow_provider_batchorch.aws.embedded import EmbeddedAws

    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("embedded")) as aws:
        yield aws
