import pytest


@pytest.fixture(scope="session")
def aws_with_workers(embedded_aws):
    """The session's moto server with two local `batchorch worker` processes polling its queue."""
    embedded_aws.start_workers(2)
    yield embedded_aws
