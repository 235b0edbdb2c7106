"""``batchorch schedules list|remove``: the managed schedules (created from chat) in ``BATCHORCH_SCHEDULES_TABLE``.

The CLI is an operator's tool: it lists and removes every schedule, whoever created it.
"""

from __future__ import annotations

import argparse
import json
import os

from airflow_provider_batchorch.core.errors import InvalidConfError
from airflow_provider_batchorch.core.managed_schedule import SCHEDULES_TABLE_ENV


def add_schedules_parser(commands: argparse._SubParsersAction, aws_arguments) -> None:
    schedules = commands.add_parser("schedules", help="managed schedules (recurring enrichments created from chat)")
    schedules.add_argument("action", choices=["list", "remove"])
    schedules.add_argument("schedule_id", nargs="?", help="the schedule to remove (sched-...)")
    schedules.add_argument("--table", default=os.environ.get(SCHEDULES_TABLE_ENV) or None,
                           help=f"the DynamoDB table (default {SCHEDULES_TABLE_ENV})")
    schedules.add_argument("--json", action="store_true", help="list: one JSON line per schedule")
    aws_arguments(schedules)


def cmd_schedules(args: argparse.Namespace, clients) -> int:
    from airflow_provider_batchorch.aws.schedule_records import ScheduleStore

    if not args.table:
        raise InvalidConfError("no schedules table.", hint=f"Give --table or set {SCHEDULES_TABLE_ENV}.")
    (ddb,) = clients(args, "dynamodb")
    store = ScheduleStore(ddb, args.table)
    if args.action == "remove":
        if not args.schedule_id:
            raise InvalidConfError("schedules remove needs a schedule id.", hint="e.g. batchorch schedules remove "
                                   "sched-0a1b2c3d4e (batchorch schedules list shows them)")
        if not store.remove(args.schedule_id):
            raise InvalidConfError(f"there is no schedule {args.schedule_id!r} in {args.table}.",
                                   hint="batchorch schedules list shows them.")
        print(f"removed {args.schedule_id}")
        return 0
    for schedule in store.list():
        if args.json:
            print(schedule.model_dump_json())
        else:
            owner = "/".join(filter(None, [schedule.owner.team_id, schedule.owner.user_id])) or "-"
            print(f"{schedule.schedule_id}  {schedule.cron}  {schedule.request.get('csv_uri')}  "
                  f"{schedule.request.get('agent')}  owner {owner}  {schedule.phrase}")
    return 0
