"""Managed schedules from Slack: ``/enrich every weekday at 6:00 s3://my-data/companies.csv with industry`` creates
one, ``schedules`` lists the asker's, ``unschedule <id>`` removes one. Answers go to the command's ``response_url``.

The request is checked by the chat ``RequestPolicy`` (allowed buckets, agents, limits) when the schedule is created,
like a one-off run; the text is data: only the phrase's cron and the policy-checked request are stored. A schedule
is bound to the Slack user and workspace of the verified request: only they, or a ``BATCHORCH_SLACK_ADMINS`` user,
see it in ``schedules`` and may remove it. Its id comes from the signed request, so a replay creates nothing more.
Needs ``BATCHORCH_SCHEDULES_TABLE`` (the DynamoDB table the ``batch_managed_schedules`` DAG file reads).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Callable

from airflow_provider_batchorch.core.chat.commands import ChatCommand
from airflow_provider_batchorch.core.chat.request_policy import ParsedRequest
from airflow_provider_batchorch.core.errors import BatchorchError
from airflow_provider_batchorch.core.managed_schedule import SCHEDULES_TABLE_ENV, ManagedSchedule, schedule_id_for
from airflow_provider_batchorch.core.schedule_phrase import find_schedule
from airflow_provider_batchorch.plugins.chat_follow_ups import SlashCommand

log = logging.getLogger(__name__)


class ChatSchedules:
    """Create, list and remove managed schedules for Slack users.

    :param store: Returns the ``ScheduleStore`` (``None``: schedules are not configured).
    :param parse: Chat text -> ``ParsedRequest`` under the chat policy (``parse_request`` with the configured
        registry and ``RequestPolicy``).
    """

    def __init__(self, store: Callable[[], Any], parse: Callable[[str], ParsedRequest]) -> None:
        self.store = store
        self.parse = parse

    @classmethod
    def from_env(cls, aws_conn_id: str) -> "ChatSchedules":
        def store():
            from airflow_provider_batchorch.aws.schedule_records import ScheduleStore, schedules_table_name
            from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

            table = schedules_table_name()
            return ScheduleStore(BatchorchHook(aws_conn_id=aws_conn_id).dynamodb, table).ensure() if table else None

        def parse(text: str) -> ParsedRequest:
            from airflow_provider_batchorch.agents.registry_loader import assemble_registry
            from airflow_provider_batchorch.core.chat.request_parser import parse_request
            from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy
            from airflow_provider_batchorch.core.registry_trust import RegistryTrust

            policy = RequestPolicy.from_env()
            registry = assemble_registry(trust=RegistryTrust.from_env(registry_files=[policy.registry]))
            return parse_request(text, registry, policy)

        return cls(store, parse)

    def answer(self, chat: ChatCommand, command: SlashCommand, *, admins: Iterable[str] = ()) -> None:
        try:
            store = self.store()
            if store is None:
                text = f"Recurring enrichments are not set up here (the operator sets {SCHEDULES_TABLE_ENV})."
            else:
                text = getattr(self, f"_{chat.kind}")(store, chat, command, frozenset(admins))
        except BatchorchError as error:
            text = f":x: {error}"
        except Exception as error:  # DynamoDB unreachable, ...: told, not raised into the background task
            log.warning("Schedule command %s failed: %s", chat.kind, error)
            text = f":x: I couldn't do that: {error}"
        if text is not None:
            command.reply(text)

    def _schedule(self, store, chat: ChatCommand, command: SlashCommand, admins: frozenset[str]) -> str | None:
        if not (command.user_id and command.team_id):
            return "A schedule needs a Slack user to belong to."
        found = find_schedule(chat.text)  # an impossible time raises SchedulePhraseError: told as is
        parsed = self.parse(chat.text[:found.start] + " " + chat.text[found.end:])
        if not parsed.ready:
            return f"Before I schedule it: {parsed.question}"
        schedule = ManagedSchedule(
            schedule_id=schedule_id_for(command.start_run_id), cron=found.cron, phrase=found.phrase,
            request=parsed.request.model_dump(mode="json", exclude_defaults=True), owner=command.requester)
        if not store.add(schedule):
            log.warning("Slack request already received (replayed?): schedule %s exists", schedule.schedule_id)
            return None
        return (f"Scheduled {schedule.line()}. Its DAG appears at the next parse; `schedules` lists yours, "
                f"`unschedule {schedule.schedule_id}` removes it.")

    def _schedules(self, store, chat: ChatCommand, command: SlashCommand, admins: frozenset[str]) -> str:
        mine = [s for s in store.list() if command.requester.may_follow_up(s.owner, admins)]
        if not mine:
            return "You have no schedules. Create one: `every weekday at 6:00 s3://my-data/companies.csv ...`"
        return "Your schedules (UTC):\n" + "\n".join(f"- {schedule.line()}" for schedule in mine)

    def _unschedule(self, store, chat: ChatCommand, command: SlashCommand, admins: frozenset[str]) -> str:
        schedule = store.get(chat.schedule_id)
        if schedule is None:
            return f"There is no schedule `{chat.schedule_id}`."
        if not command.requester.may_follow_up(schedule.owner, admins):
            log.warning("Slack user %s (team %s) refused removing schedule %s: not theirs", command.user_id,
                        command.team_id, schedule.schedule_id)
            return f":no_entry: Schedule `{schedule.schedule_id}` is not yours."
        store.remove(schedule.schedule_id)
        return f"Removed schedule `{schedule.schedule_id}` ({schedule.phrase or schedule.cron}); its DAG goes at the next parse."
