"""What the chat says at each step, as Slack ``mrkdwn`` text: the plan, the estimate, progress, the results
(as the design document shows them), a failed run, and the answers to ``status`` / ``failures`` follow-ups.

Text that comes from a request, a CSV or an agent (column names, URIs, failure reasons) is escaped: a column
named ``<!channel>`` must not notify a whole channel.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.chat.recommendation import match_columns
from airflow_provider_batchorch.core.cost_estimate import CostEstimate
from airflow_provider_batchorch.core.models import BatchRequest, BatchSummary, CsvProfile, Progress
from airflow_provider_batchorch.core.progress import format_duration
from airflow_provider_batchorch.core.retry_failed import RetryOutcome

MAX_COLUMNS_SHOWN = 8


def escape(text: object) -> str:
    """Slack's control characters in ``mrkdwn`` as entities, so the text cannot mention, link or format."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    return f"<{url}|{escape(label)}>" if url else f"`{escape(label)}`"


def agent_menu(agents: Sequence[AgentSpec], columns: Sequence[str] = ()) -> str:
    """The options a request can choose from, numbered as given (best first): each agent's name and description,
    what it provides (its output fields) and the input columns it needs; with the CSV's columns, which of them
    would feed each input and which required input none does."""
    return "\n".join(_menu_entry(number, spec, columns) for number, spec in enumerate(agents, 1))


def _menu_entry(number: int, spec: AgentSpec, columns: Sequence[str]) -> str:
    required = [f.name for f in spec.required_inputs]
    optional = [f.name for f in spec.input_fields if f.name not in required]
    needs = ", ".join(required) or "no particular column"
    if optional:
        needs += f" (optional: {', '.join(optional)})"
    lines = [f"{number}. *{escape(spec.name)}*: {escape(spec.description)}",
             f"   Provides: {escape(', '.join(spec.output_fields))}",
             f"   Needs columns: {escape(needs)}"]
    if columns:
        matched = match_columns(spec, list(columns))
        fit = ", ".join(f"{name} <- {column!r}" for name, column in matched.items()) or "no matching column"
        missing = [name for name in required if name not in matched]
        lines[-1] += f"; your CSV: {escape(fit)}" + (f", nothing for {escape(', '.join(missing))}" if missing else "")
    return "\n".join(lines)


def plan_message(request: BatchRequest, run_id: str, notes: list[str] | None = None) -> str:
    fields = escape(", ".join(request.output_fields)) if request.output_fields else "all of its output fields"
    lines = [
        f"I'll run *{escape(request.agent)}* over every row of `{escape(request.csv_uri)}`.",
        f"- Output: the original columns + {fields}",
        f"- Concurrency: {request.concurrency} parallel calls, timeout {request.timeout_seconds:g} s per row",
    ]
    if request.input_mapping:
        lines.append("- Input mapping: " + escape(", ".join(f"{k} <- {v}" for k, v in request.input_mapping.items())))
    lines += [f"- Note: {escape(note)}" for note in notes or []]
    lines.append(f"Run `{run_id}`: I'll post progress and results in this thread.")
    return "\n".join(lines)


def estimate_message(profile: CsvProfile, estimate: CostEstimate, *, needs_approval: bool) -> str:
    more = ", ..." if len(profile.columns) > MAX_COLUMNS_SHOWN else ""
    columns = escape(", ".join(profile.columns[:MAX_COLUMNS_SHOWN])) + more
    cost = "unknown" if estimate.cost_usd is None else f"${estimate.cost_usd:,.2f}"
    text = (f"I found a CSV with {profile.row_count:,} rows and columns: {columns}.\n"
            f"Estimated cost: {cost} ({escape(estimate.basis)}).")
    return text + ("" if needs_approval else "\nStarting the batch.")


def approval_message(reasons: list[str], approve_url: str | None) -> str:
    where = link(approve_url, "Approve or reject in Airflow") if approve_url else "Approve or reject it in Airflow"
    return (f":raised_hand: This batch needs approval before it starts: {escape('; '.join(reasons))}.\n{where} "
            "(Required actions).")


def approval_outcome_message(approved: bool, responder: str | None) -> str:
    who = f" by {escape(responder)}" if responder else ""
    if approved:
        return f"Approved{who}: starting the batch."
    return f"Rejected{who}: the batch was not run."


def progress_message(progress: Progress) -> str:
    text = (f"Progress: {progress.rows_processed:,}/{progress.total_rows:,} rows processed ({progress.percent:.0f}%)"
            f", {progress.rows_failed:,} failed, elapsed {format_duration(progress.elapsed_seconds)}")
    if progress.eta_seconds is not None:
        text += f". Estimated completion: {format_duration(progress.eta_seconds)}"
    return text


def rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "0%"


def failure_reasons_lines(summary: BatchSummary) -> list[str]:
    return [f"- {rows(count)}: {escape(reason)}" for reason, count in summary.failure_reasons.items()]


def summary_message(summary: BatchSummary, run_id: str, download_url: str | None = None,
                    link_seconds: int | None = None) -> str:
    """:param link_seconds: How long ``download_url`` stays valid (said in the message)."""
    done = summary.rows_processed
    head = (":white_check_mark: Batch processing complete!" if summary.status == "SUCCEEDED"
            else ":warning: Batch processing completed with errors.")
    lines = [
        head,
        "Results:",
        f"- Successfully processed: {rows(summary.rows_succeeded)} ({_percent(summary.rows_succeeded, done)})",
        f"- Failed: {rows(summary.rows_failed)} ({_percent(summary.rows_failed, done)})",
        f"- Output file: {link(download_url, summary.output_csv_uri)}",
        f"- Processing time: {format_duration(summary.processing_time_seconds)}",
        f"- Output fields: {escape(', '.join(summary.output_fields))}, then _status, _error_message and processing "
        "metadata",
    ]
    if summary.failure_reasons:
        lines += ["Top failure reasons:", *failure_reasons_lines(summary)]
        lines.append(f"Next steps: `failures {run_id}` for details, `retry-failed {run_id}` to run the failed "
                     "rows again.")
    if download_url:
        expires = f" in {format_duration(link_seconds)}" if link_seconds else ""
        lines.append(f"The download link expires{expires}; `status {run_id}` gives a fresh one.")
    return "\n".join(lines)


def failures_message(summary: BatchSummary, run_id: str, download_url: str | None = None) -> str:
    if not summary.rows_failed:
        return f"No rows failed in run `{run_id}`: all {summary.rows_succeeded:,} succeeded."
    return "\n".join([
        f"The {summary.rows_failed:,} failures in run `{run_id}` were due to:",
        *failure_reasons_lines(summary),
        f"These rows are marked in the output CSV ({link(download_url, summary.output_csv_uri)}) with "
        "_status = FAILED and the reason in the _error_message column.",
        f"`retry-failed {run_id}` runs them again.",
    ])


def retry_message(outcome: RetryOutcome, merged_url: str | None = None) -> str:
    return (f"Retried {outcome.retried:,} failed rows: {outcome.fixed:,} fixed, {outcome.still_failed:,} still "
            f"failing. The complete output ({outcome.rows_succeeded:,} succeeded, {outcome.rows_failed:,} failed): "
            f"{link(merged_url, outcome.output or '')}")


def run_failed_message(run_id: str, step: str, error: str) -> str:
    first_line = escape((error or "unknown error").strip().splitlines()[0][:500])
    return (f":x: Run `{run_id}` failed at *{step}*: {first_line}\n"
            f"`status {run_id}` shows where it stopped; the task log in Airflow has the details.")


def not_your_run_message(run_id: str) -> str:
    return (f":no_entry: Run `{escape(run_id)}` is not your run: only the person who started it (or a batchorch "
            "admin) can follow up on it.")


def status_message(run_id: str, state: str, current_step: str | None = None) -> str:
    where = f", at *{current_step}*" if current_step else ""
    return f"Run `{run_id}` is {state}{where}."


def deadline_missed_message(dag_id: str | None, run_id: str | None, state: str | None,
                            deadline_time: object = None) -> str:
    """A batch run that has not finished by its deadline (Airflow's deadline alert)."""
    by = f" by {escape(deadline_time)}" if deadline_time else ""
    return (f":alarm_clock: Run `{escape(run_id or '?')}` of `{escape(dag_id or '?')}` has not finished{by} "
            f"(it is {escape(state or 'not done')}): it misses its deadline. `status {escape(run_id or '')}` "
            "shows where it is.")
