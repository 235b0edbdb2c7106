"""The output CSV's header: one name per column, never two alike, never a formula.

The rule (also in ``docs/output_format.md``):

1. Columns are, in order: the input columns, the agent's output fields, then the metadata columns
   (``_status``, ``_error_message``, ...).
2. With formula neutralisation on, every name is neutralised first, exactly like a data cell
   (``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``).
3. The metadata columns always keep their names: tools find a batch output by them.
4. Every other name is kept when no earlier-claimed name equals it. Names are claimed in this order: the metadata
   columns, then the input columns left to right, then the output fields left to right.
5. A name that is already claimed gets a prefix, ``in_`` for an input column and ``out_`` for an output field,
   repeated until the name is free (``_status`` -> ``in__status``; ``sentiment`` -> ``out_sentiment``, or
   ``out_out_sentiment`` when ``out_sentiment`` is taken too).

Only header names change; every cell below them is written as read.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_batchorch.core.csv.output import neutralize_formula

INPUT_PREFIX = "in_"
OUTPUT_PREFIX = "out_"


def output_header(
    columns: Sequence[str], output_fields: Sequence[str], metadata_columns: Sequence[str], *, neutralize: bool
) -> list[str]:
    """The header of the output CSV for these input columns, output fields and metadata columns (see the module)."""
    clean = neutralize_formula if neutralize else str
    wanted = [(clean(name), INPUT_PREFIX) for name in columns] + [(clean(name), OUTPUT_PREFIX) for name in output_fields]
    taken = {clean(name) for name in metadata_columns}
    names: list[str | None] = []
    for name, _ in wanted:
        names.append(None if name in taken else name)
        taken.add(name)
    for index, (name, prefix) in enumerate(wanted):
        if names[index] is None:
            while name in taken:
                name = prefix + name
            names[index] = name
            taken.add(name)
    return [*names, *(clean(name) for name in metadata_columns)]  # type: ignore[list-item]
