"""``batchorch run``'s run-setting flags, generated from ``BatchRequest`` (``core.run_settings``): a flag per field,
its help the field's description, its default the field's. Numbers reach ``BatchRequest`` as written (no argparse
``type``), so a refusal names the model's range in one line, as for a DAG run conf.

The flag of a field is ``--field-name`` unless ``FLAG_NAMES`` says otherwise; a field the CLI does not offer is
in ``CONF_ONLY`` with the reason.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_provider_batchorch.core.errors import BatchorchError
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.run_settings import RunSetting, run_settings

# field -> its flags (the first one names it in the help), where they are not the field's name.
FLAG_NAMES: dict[str, tuple[str, ...]] = {
    "csv_uri": ("--csv",),
    "timeout_seconds": ("--timeout-seconds", "--timeout"),
    "input_mapping": ("--mapping",),
    "output_fields": ("--output-field",),
    "state_uri": ("--state-dir",),
}
CONF_ONLY: dict[str, str] = {
    "output_uri": "a local run writes next to its batch in the embedded S3; --output downloads the CSV to a path",
}
METAVARS = {"input_mapping": "FIELD=COLUMN", "output_fields": "FIELD", "csv_uri": "CSV", "state_uri": "DIR",
            "transforms": "RULES"}
# What the CLI says beyond the field's description.
CLI_NOTES = {
    "csv_uri": "or instead --retry-failed",
    "state_uri": "implies --incremental",
    "output_fields": "repeat for each field",
    "transforms": "RULES: a YAML or JSON file of them, or inline JSON",
}
# Where the CLI differs from a DAG run: its own words instead of the description.
CLI_HELP = {
    "input_mapping": "Agent input field=CSV column, e.g. company_name=Company (repeat); wins over matching by "
                     "name and synonyms",
    "registry": "A YAML/JSON agent registry file; trusted for the local run it starts, Python agents included",
}
FILE_SETTINGS = {"transforms"}  # an object read from a file (or inline JSON), not repeated flags


def flags_of(name: str) -> tuple[str, ...]:
    return FLAG_NAMES.get(name, ("--" + name.replace("_", "-"),))


def flag_names() -> dict[str, str]:
    """Field -> how ``batchorch run`` spells it (``""``: conf only), for the README's table."""
    shown = {"input_mapping": "--mapping FIELD=COLUMN", "neutralize_formulas": "--no-neutralize-formulas"}
    return {setting.name: "" if setting.name in CONF_ONLY else shown.get(setting.name, flags_of(setting.name)[0])
            for setting in run_settings(BatchRequest)}


def add_run_setting_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for every ``BatchRequest`` field not in ``CONF_ONLY``, in the model's order."""
    for setting in run_settings(BatchRequest):
        if setting.name not in CONF_ONLY:
            parser.add_argument(*flags_of(setting.name), dest=setting.name, help=_help(setting),
                                **_argument_kind(setting))


def _help(setting: RunSetting) -> str:
    words = CLI_HELP.get(setting.name, setting.description).replace("%", "%%")
    if note := CLI_NOTES.get(setting.name):
        words += f"; {note}"
    if setting.json_type != "boolean" and setting.default not in (None, [], {}):
        words += f" (default {setting.shown_default()})"
    return words


def _argument_kind(setting: RunSetting) -> dict[str, Any]:
    metavar = {"metavar": METAVARS[setting.name]} if setting.name in METAVARS else {}
    if setting.json_type == "boolean":
        if setting.default:
            return {"action": argparse.BooleanOptionalAction, "default": True}
        return {"action": "store_true"}
    if setting.name in FILE_SETTINGS:
        return {"default": None, **metavar}
    if setting.json_type in ("array", "object"):
        return {"action": "append", "default": [], **metavar}
    if setting.json_type in ("integer", "number"):
        return {"default": setting.default, **metavar}
    if setting.choices:
        metavar = {**metavar, "choices": list(setting.choices)}
    required = setting.required and setting.name != "csv_uri"  # --retry-failed may stand in for --csv
    return {"required": True, **metavar} if required else {"default": setting.default, **metavar}


def request_from_flags(args: argparse.Namespace) -> BatchRequest:
    """The ``BatchRequest`` of ``batchorch run``'s flags: ``--mapping FIELD=COLUMN`` pairs, local paths made
    absolute (the run reads them from another process), ``--state-dir`` turning ``--incremental`` on."""
    values = {setting.name: getattr(args, setting.name) for setting in run_settings(BatchRequest)
              if setting.name not in CONF_ONLY}
    values["input_mapping"] = _mapping(values["input_mapping"])
    values["registry"] = str(Path(values["registry"]).resolve()) if values["registry"] else None
    values["state_uri"] = _state_location(values["state_uri"])
    values["transforms"] = _rules_file(values["transforms"])
    values["incremental"] = values["incremental"] or bool(values["state_uri"])
    return BatchRequest(**values)


def _mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep:
            raise BatchorchError(f"--mapping {item!r} is not FIELD=COLUMN.", hint="e.g. --mapping company_name=Company")
        mapping[field.strip()] = column.strip()
    return mapping


def _state_location(state_dir: str | None) -> str | None:
    if not state_dir or state_dir.startswith("s3://"):
        return state_dir
    return str(Path(state_dir).resolve())


def _rules_file(value: str | None) -> Any:
    """``--transforms``: inline JSON (``{...}``), or a YAML/JSON file; ``BatchRequest`` validates what it holds."""
    if not value:
        return None
    import yaml

    try:
        text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
        return yaml.safe_load(text)
    except OSError as exc:
        raise BatchorchError(f"--transforms {value!r} cannot be read: {exc.strerror}.",
                             hint="Give a YAML or JSON file of rules, or inline JSON.") from None
    except yaml.YAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if getattr(exc, "problem_mark", None) else ""
        raise BatchorchError(f"--transforms {value!r} is not YAML or JSON{where}.",
                             hint="Give a YAML or JSON file of rules, or inline JSON.") from None
