"""The one way a task hands a value to the next: a native-rendered template for "the output of task T, field F".

    output_of(analyze, "request", "agent")   # '{{ ti.xcom_pull(task_ids='analyze_csv')['request']['agent'] }}'

The path is checked against the task's result model (``core.task_outputs.TASK_OUTPUTS``) when the DAG is built,
so a misspelt field fails the DAG's parse instead of rendering ``None`` at run time.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from airflow_provider_batchorch.core.task_outputs import TASK_OUTPUTS


def output_of(task: Any, *path: str | int) -> str:
    """The template pulling ``task``'s return value (an operator or a task id, group prefix included), or the
    value at ``path`` inside it."""
    task_id = task if isinstance(task, str) else task.task_id
    check_output_path(task_id.rpartition(".")[2], path)
    keys = "".join(f"[{key!r}]" for key in path)
    return f"{{{{ ti.xcom_pull(task_ids={task_id!r}){keys} }}}}"


def check_output_path(task_id: str, path: tuple[str | int, ...]) -> None:
    """Each name of ``path`` must be a field of the model reached so far; an index steps into a list's items;
    inside a plain dict (``input_mapping``, ``description``) nothing more is checked."""
    if not path:
        return
    if task_id not in TASK_OUTPUTS:
        raise ValueError(f"no result model for task {task_id!r}: add it to core.task_outputs.TASK_OUTPUTS")
    current: Any = TASK_OUTPUTS[task_id]
    for key in path:
        current = _without_none(current)
        if isinstance(key, int) and typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return
        if key not in current.model_fields:
            raise ValueError(f"{task_id} returns no field {key!r} here (fields of {current.__name__}: "
                             f"{', '.join(current.model_fields)})")
        current = current.model_fields[key].annotation


def _without_none(annotation: Any) -> Any:
    """``X`` of ``X | None``."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1 else annotation
