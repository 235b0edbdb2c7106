"""One orchestrator turn in a process of its own (a restarted component): the same S3 store, the model server and
the Slack stand-in given on the command line; prints the turn as JSON.

    python -m tests.support.chat_turn_process --model-url URL --slack-url URL --bucket B --allowed-agent A \
        --user U1 --team T1 --channel C1 --thread-ts TS "the message"
"""

from __future__ import annotations

import argparse
import json

import boto3
from slack_sdk import WebClient

from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy
from airflow_provider_batchorch.orchestrator.chat_agent import ChatMessage, ChatOrchestrator, orchestrator_model
from airflow_provider_batchorch.orchestrator.conversations import S3ConversationStore
from airflow_provider_batchorch.orchestrator.launchers import EmbeddedLauncher
from airflow_provider_batchorch.orchestrator.tools import BatchToolset
from tests.support.slack_stand_in import TOKEN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    for name in ("--model-url", "--slack-url", "--bucket", "--user", "--team", "--channel", "--thread-ts", "--log-dir"):
        parser.add_argument(name)
    parser.add_argument("--allowed-agent", action="append", default=[])
    parser.add_argument("text")
    args = parser.parse_args(argv)
    import os

    policy = RequestPolicy(allowed_buckets=[args.bucket], max_concurrency=20, allowed_agents=args.allowed_agent)
    s3 = boto3.client("s3", endpoint_url=os.environ.get("BATCHORCH_AWS_ENDPOINT_URL"))
    orchestrator = ChatOrchestrator(BatchToolset(policy, EmbeddedLauncher(args.log_dir)),
                                    S3ConversationStore(s3, args.bucket),
                                    orchestrator_model(base_url=args.model_url, model="scripted-orchestrator"),
                                    slack=WebClient(token=TOKEN, base_url=args.slack_url))
    turn = orchestrator.handle(ChatMessage(text=args.text, user_id=args.user, team_id=args.team,
                                           channel_id=args.channel, thread_ts=args.thread_ts))
    print(json.dumps({"reply": turn.reply, "thread_ts": turn.thread_ts,
                      "batches": [b.model_dump(mode="json") for b in turn.conversation.batches]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
