"""The registry entry of an agent: what it needs, what it returns (a JSON Schema), and how it is called."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class InputField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: Literal["string", "integer", "number", "boolean"] = "string"
    required: bool = True
    description: str = ""
    synonyms: list[str] = Field(default_factory=list, description="Other column names that mean this field")


class PythonInvocation(BaseModel):
    """``callable`` is ``"module:function"``; the function takes the mapped row (a dict) and returns a dict."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["python"] = "python"
    callable: str


# Issue 3 adds llm / lambda / stepfunctions members to this union.
Invocation = Annotated[Union[PythonInvocation], Field(discriminator="kind")]


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = "1"
    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="Other names users call this agent by")
    input_fields: list[InputField]
    structured_output: bool = True
    output_schema: dict[str, Any] | None = None
    prompt: str = ""
    invocation: Invocation

    @property
    def output_fields(self) -> list[str]:
        """Top-level properties of the output schema, in schema order."""
        return list((self.output_schema or {}).get("properties", {}).keys())

    @property
    def required_inputs(self) -> list[InputField]:
        return [f for f in self.input_fields if f.required]

    @property
    def is_structured(self) -> bool:
        schema = self.output_schema or {}
        return self.structured_output and schema.get("type") == "object" and bool(schema.get("properties"))
