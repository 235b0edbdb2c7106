#!/usr/bin/env python3
"""The compose stack's AWS emulator: a moto server with the batch processor deployed on it.

1. starts ``moto.server`` on 0.0.0.0:$MOTO_PORT (its Step Functions interpreter calls back through that port);
2. ``batchorch deploy --target emulator``: turns the interpreter on, creates the bucket, the state machine,
   the chunk queue and its dead-letter queue, the progress and jobs tables;
3. uploads the example CSVs to s3://$BATCHORCH_BUCKET/examples/ so a first run needs nothing else;
4. touches $BATCHORCH_EMULATOR_READY_FILE (the healthcheck waits for it) and serves until stopped.

moto keeps everything in memory: restarting this container starts from an empty emulator again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import requests


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"moto server exited with {server.returncode}")
        try:
            requests.get(f"{url}/moto-api/config", timeout=2).raise_for_status()
            return
        except requests.RequestException:
            time.sleep(0.2)
    sys.exit(f"moto server not up at {url} after {timeout:.0f}s")


def upload_examples(url: str, region: str, bucket: str, folder: Path) -> int:
    if not folder.is_dir():
        return 0
    s3 = boto3.client("s3", endpoint_url=url, region_name=region)
    files = sorted(path for path in folder.iterdir() if path.suffix in (".csv", ".yaml", ".yml", ".json"))
    for path in files:
        s3.upload_file(str(path), bucket, f"examples/{path.name}")
    return len(files)


def main() -> int:
    from airflow_provider_batchorch.cli.command import main as batchorch

    port = int(os.environ.get("MOTO_PORT", "5000"))
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    bucket = os.environ.get("BATCHORCH_BUCKET", "batchorch-local")
    ready = Path(os.environ.get("BATCHORCH_EMULATOR_READY_FILE", "/tmp/batchorch-emulator-ready"))
    examples = Path(os.environ.get("BATCHORCH_EXAMPLES_DIR", "/opt/batchorch/examples"))
    url = f"http://127.0.0.1:{port}"

    ready.unlink(missing_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", os.environ.get("BATCHORCH_EMULATOR_HOST", "0.0.0.0"), "-p", str(port)],
        env={**os.environ, "MOTO_PORT": str(port)},
    )
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    signal.signal(signal.SIGINT, lambda *_: server.terminate())
    wait_until_up(url, server)
    if batchorch(["deploy", "--target", "emulator", "--endpoint-url", url, "--region", region, "--bucket", bucket]):
        server.terminate()
        return 1
    count = upload_examples(url, region, bucket, examples)
    print(f"batchorch emulator ready on port {port}: processor deployed, {count} examples in s3://{bucket}/examples/",
          flush=True)
    ready.touch()
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
