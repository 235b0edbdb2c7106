"""The transformation rules of a batch, as plain data: what a run conf's ``transforms`` and a registry entry's
``transforms`` hold, and what ``BatchConfig.transforms`` carries to the workers (README "Transformation rules").

- ``input``: steps run in order on a copy of each row before it is mapped to the agent's inputs; each writes one
  value (``into``) that later steps, the mapping and the prompt template can use. The row written to the output
  CSV is the row as read.
- ``prompt_template``: the user message of an ``llm`` agent, filled from the agent's inputs.
- ``filter``: only rows for which this expression is true call the agent; the others come back ``SKIPPED``.
- ``output``: derived fields, casts, which fields to keep, and renames, applied to the validated agent output.

Templates and expressions are text for a sandboxed engine (``core.transforms.engine``), never code. They are
parsed and checked against the CSV's columns and the agent's fields before any row runs
(``core.transforms.row_transforms.plan_transforms`` with the checks in ``input_rules``, ``prompt_template``,
``row_filter``, ``output_rules`` and ``names``).

A registry entry's rules are defaults, not policy: a conf may extend or override them, and with
``replace_defaults`` (what a batch retry sets, so its input steps run once) drop them (docs/security.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

CastType = Literal["string", "integer", "number", "boolean"]
Engine = Literal["format", "jinja"]
MAX_TEXT = 4000  # characters of one template or expression

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


def _parses(build: str, source: str, *args: Any, label: str = "") -> None:
    """Parse ``source`` now, so that a conf or a registry entry with a bad template is refused where it is read
    (``invalid run conf: transforms.filter: ...``); the engine is imported only here, not with the models."""
    from airflow_provider_batchorch.core.transforms import engine

    try:
        getattr(engine, build)(source, *args)
    except engine.EngineError as exc:
        raise ValueError(f"{label}{' ' if label else ''}does not parse: {exc}") from None


def _expression(source: str) -> str:
    _parses("expression", source)
    return source


def _path(source: str) -> str:
    from jsonpath_ng import parse
    from jsonpath_ng.exceptions import JSONPathError

    try:
        parse(source)
    except JSONPathError as exc:
        raise ValueError(f"JSONPath does not parse: {exc}") from None
    return source


class _Templated(BaseModel):
    """A model whose ``template`` is parsed with its ``engine`` as soon as it is read."""

    @model_validator(mode="after")
    def _template_parses(self) -> "_Templated":
        source = getattr(self, "template", None)
        if source is not None:
            _parses("template", source, self.engine, label="template")  # type: ignore[attr-defined]
        return self


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConcatRule(_Rule):
    """``into`` = the ``columns``' values joined by ``separator`` (empty ones left out unless ``keep_empty``)."""

    kind: Literal["concat"] = "concat"
    columns: list[Name] = Field(min_length=1)
    separator: str = Field(" ", max_length=100)
    keep_empty: bool = False
    into: Name


class TemplateRule(_Rule, _Templated):
    """``into`` = ``template`` filled from the row: ``"{first} {last}"`` (``engine: format``: only ``{column}``
    placeholders, ``{{``/``}}`` for braces) or a sandboxed jinja template (``engine: jinja``, ``{{ first | upper }}``,
    any column as ``row["Company Name"]``)."""

    kind: Literal["template"] = "template"
    template: Text
    engine: Engine = "format"
    into: Name


class JsonPathRule(_Rule):
    """``into`` = what ``path`` (JSONPath, e.g. ``$.address.city``) finds in the JSON text of ``column``: one
    match as is (an object or array as compact JSON), several as a JSON array, none (or an empty cell) ``default``."""

    kind: Literal["jsonpath"] = "jsonpath"
    column: Name
    path: Annotated[Text, AfterValidator(_path)]
    default: str | int | float | bool | None = None
    into: Name


class StaticRule(_Rule):
    """``into`` = ``value``, the same for every row."""

    kind: Literal["static"] = "static"
    value: str | int | float | bool | None
    into: Name


class CastRule(_Rule):
    """``into`` (default: ``column`` itself) = ``column``'s value as ``to``; an empty cell stays empty and a value
    that is not one fails its row."""

    kind: Literal["cast"] = "cast"
    column: Name
    to: CastType
    into: Name | None = None

    @property
    def target(self) -> str:
        return self.into or self.column


InputRule = Annotated[Union[ConcatRule, TemplateRule, JsonPathRule, StaticRule, CastRule], Field(discriminator="kind")]


class DerivedField(_Rule, _Templated):
    """An output column computed from the agent's output fields (and the derived fields before it): a ``template``
    (text) or an ``expression`` (a sandboxed jinja expression, its value typed: ``employee_count > 1000``)."""

    into: Name
    template: Text | None = None
    expression: Annotated[Text, AfterValidator(_expression)] | None = None
    engine: Engine = "format"

    @model_validator(mode="after")
    def _one_of(self) -> "DerivedField":
        if (self.template is None) == (self.expression is None):
            raise ValueError(f"derived field {self.into!r} needs exactly one of template or expression")
        return self


class OutputRules(_Rule):
    """Applied to each validated agent output, in this order: ``derived``, ``cast``, ``keep``, ``rename``. Every
    name here is an agent output field or a derived field (``rename`` only changes the header at the end)."""

    derived: list[DerivedField] = Field(default_factory=list)
    cast: dict[Name, CastType] = Field(default_factory=dict)
    keep: list[Name] = Field(default_factory=list, description="The fields to write, in order; empty: all")
    rename: dict[Name, Name] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.derived or self.cast or self.keep or self.rename)


class TransformRules(_Rule):
    """A batch's transformation rules (see the module)."""

    input: list[InputRule] = Field(default_factory=list)
    prompt_template: Text | None = None
    prompt_engine: Engine = "format"
    filter: Annotated[Text, AfterValidator(_expression)] | None = None
    output: OutputRules = Field(default_factory=OutputRules)
    replace_defaults: bool = Field(False, description="These rules instead of the registry entry's, not over them")

    @model_validator(mode="after")
    def _prompt_parses(self) -> "TransformRules":
        if self.prompt_template:
            _parses("template", self.prompt_template, self.prompt_engine, label="prompt_template")
        return self

    @property
    def empty(self) -> bool:
        return not (self.input or self.prompt_template or self.filter) and self.output.empty


def merge_rules(entry: TransformRules | None, conf: TransformRules | None) -> TransformRules:
    """The registry entry's defaults with the run conf's rules over them: the conf's input steps run after the
    entry's; its ``prompt_template``, ``filter`` and ``keep`` replace the entry's; its ``cast`` and ``rename``
    keys win; a derived field of the same name replaces the entry's."""
    if conf is not None and conf.replace_defaults:
        return conf.model_copy(deep=True)
    entry = entry or TransformRules()
    conf = conf or TransformRules()
    derived = {field.into: field for field in entry.output.derived}
    derived.update({field.into: field for field in conf.output.derived})
    prompt = conf if conf.prompt_template else entry
    return TransformRules(
        input=[*entry.input, *conf.input],
        prompt_template=prompt.prompt_template,
        prompt_engine=prompt.prompt_engine,
        filter=conf.filter or entry.filter,
        output=OutputRules(
            derived=list(derived.values()),
            cast={**entry.output.cast, **conf.output.cast},
            keep=conf.output.keep or entry.output.keep,
            rename={**entry.output.rename, **conf.output.rename},
        ),
    )



def output_names(agent_fields: list[str], entry: TransformRules | None, conf: TransformRules | None) -> list[str]:
    """Every name an output column of these rules may have (the agent's fields, the derived ones, the new names):
    what tells the output columns from the input columns in a previous output (retry-failed)."""
    rules = merge_rules(entry, conf)
    return [*agent_fields, *(field.into for field in rules.output.derived), *rules.output.rename.values()]
