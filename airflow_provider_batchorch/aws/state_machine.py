"""The batch processor's Step Functions definition: one JSONPath ASL document for the emulator and for AWS."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def definition_text() -> str:
    return resources.files(__package__).joinpath("batch_processor.asl.json").read_text(encoding="utf-8")


def load_definition() -> dict[str, Any]:
    return json.loads(definition_text())
