"""Answer a Human-in-the-loop task of a ``dag.test()`` run the way Airflow's HITL REST API does (record the response,
then ``handle_event_submit`` resumes the parked task), from a background thread, without an API server."""

from __future__ import annotations

import threading
import time


def answer_hitl(task_id: str, choice: str, *, user: str = "reviewer", timeout: float = 120) -> threading.Thread:
    """In the background: wait until ``task_id`` awaits input, then choose ``choice`` as ``user``. The thread keeps
    the request it answered in ``thread.answered`` (subject and body)."""
    from airflow._shared.timezones import timezone
    from airflow.models.hitl import HITLDetail, HITLUser
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    answered: list[dict[str, str | None]] = []

    def respond() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with create_session() as session:
                ti = session.scalars(select(TaskInstance).where(
                    TaskInstance.task_id == task_id,
                    TaskInstance.state == TaskInstanceState.AWAITING_INPUT)).first()
                detail = ti and session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id)).first()
                if detail is not None:
                    detail.responded_by = HITLUser(id=user, name=user)
                    detail.responded_at = timezone.utcnow()
                    detail.chosen_options = [choice]
                    detail.params_input = {}
                    session.add(detail)
                    handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti,
                                        session=session)
                    answered.append({"subject": detail.subject, "body": detail.body})
                    return
            time.sleep(0.3)

    thread = threading.Thread(target=respond, daemon=True)
    thread.answered = answered  # type: ignore[attr-defined]
    thread.start()
    return thread
