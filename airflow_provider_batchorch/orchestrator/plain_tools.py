"""The toolset's methods as plain functions with flat, typed keyword arguments (one per input-model field).

An MCP server or a pydantic-ai agent builds a tool's JSON schema from its function's signature; a flat one
(``csv_uri``, ``goal``) is what a model writes best. Each function validates its arguments into the tool's input
model, so the model's rules (``extra="forbid"``, ranges) hold whoever calls it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, Any, Callable, get_type_hints

from pydantic import BaseModel, Field

from airflow_provider_batchorch.orchestrator.tools import BatchToolset


def plain_tool(method: Callable[[BaseModel], BaseModel]) -> Callable[..., BaseModel]:
    """``method(InputModel) -> Output`` as ``tool(**fields) -> Output``, with the method's name and docstring."""
    hints = get_type_hints(method)
    (input_name, input_model), = [(k, v) for k, v in hints.items() if k != "return"]
    parameters, annotations = [], {}
    for name, field in input_model.model_fields.items():
        annotation = Annotated[field.annotation, Field(description=field.description)] if field.description \
            else field.annotation
        default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))
        annotations[name] = annotation
    annotations["return"] = hints["return"]

    @functools.wraps(method)
    def tool(**arguments: Any) -> BaseModel:
        return method(input_model.model_validate(arguments))

    del tool.__wrapped__  # the signature below, not the method's, is the tool's
    tool.__signature__ = inspect.Signature(parameters, return_annotation=hints["return"])
    tool.__annotations__ = annotations
    return tool


def plain_tools(toolset: BatchToolset) -> list[Callable[..., BaseModel]]:
    return [plain_tool(getattr(toolset, name)) for name in BatchToolset.TOOL_NAMES]
