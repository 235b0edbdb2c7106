"""A supervised pool of child processes that run a ``python`` agent's callable, so that one poison row costs one row.

Why: in the worker's own process an agent that calls ``os._exit()``, segfaults, calls ``sys.exit()``, raises
``KeyboardInterrupt`` or blocks the event loop (an ``async def`` that never yields) takes the whole worker down
or freezes it, with every row of every chunk it holds. Here each of those kills (at most) one child:

- **exit / signal** (``os._exit``, a segfault): the child's rows in flight are lost with it. Alone in its child,
  the row fails with ``AGENT_CRASHED`` ("exit code 3", "signal SIGSEGV"); with company, every row it held is a
  suspect and is re-run alone in a quarantine child, so the culprit is found and fails alone; the others succeed.
- **sys.exit / KeyboardInterrupt / any BaseException** is caught in the child around the one call: that row fails
  with ``AGENT_CRASHED`` and the child goes on.
- **a hang** (a thread that sleeps forever, a loop that never yields): the parent enforces the row's timeout
  (``RowDeadline``), kills the child and fails the row with ``AGENT_TIMEOUT``. An ``async`` agent runs in the
  child's own event loop; a watchdog thread in the child reports which row's task holds a blocked loop, so the
  row that blocked it is blamed, not the rows that merely could not progress. Rows that shared the killed child
  are re-run with a fresh budget (alone, after ``MAX_EVICTIONS`` such re-runs).
- **a dead child is replaced** on the next dispatch; the chunk goes on.

Efficiency: children are long-lived; a child runs up to ``rows_per_process`` rows at once (sync callables in a
thread pool, async ones as tasks of its loop), rows go to children in batches (one message per child per loop
turn) and results come back in batches, read with ``loop.add_reader`` (no thread per child in the worker).

Isolation is chosen per agent by ``PythonInvocation.isolation`` (see ``agent_spec``): ``process`` (the default for
user callables) runs here; ``none`` runs in the worker's own process, as the built-in offline agents
(``airflow_provider_batchorch.builtin_agents...``, pure, trusted) do by default.

Children are started with ``subprocess`` (``python -m`` this module, a socket pair as a
``multiprocessing.connection.Connection``): a fresh interpreter like the ``spawn`` start method, but without
re-importing the worker's ``__main__`` (the CLI and what it imports) in every child.

Settings (environment): ``BATCHORCH_AGENT_PROCESSES`` (children per agent per worker, default
``min(4, cpu count)``), ``BATCHORCH_AGENT_ROWS_PER_PROCESS`` (rows in flight per child, default 256).
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import inspect
import itertools
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from airflow_provider_batchorch.core.errors import AgentCrashedError, AgentRowError, AgentTimeoutError
from airflow_provider_batchorch.core.row_deadline import ROW_DEADLINE

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 300.0  # a call made outside a RowProcessor (no RowDeadline)
MAX_EVICTIONS = 2  # re-runs because another row killed the child; then the row runs alone
TICK_SECONDS = 0.1
STARTUP_SECONDS = 60.0  # python start-up and importing the callable, on a busy machine
WATCHDOG_PING_SECONDS = 0.1
WATCHDOG_STUCK_SECONDS = 0.5


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, "")))
    except ValueError:
        return default


def default_processes() -> int:
    return _env_int("BATCHORCH_AGENT_PROCESSES", min(4, os.cpu_count() or 1))


def default_rows_per_process() -> int:
    return _env_int("BATCHORCH_AGENT_ROWS_PER_PROCESS", 256)


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "its process stopped answering"
    if returncode < 0:
        try:
            return f"its process was killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"its process was killed by signal {-returncode}"
    return f"its process exited with exit code {returncode}"


class _Request:
    __slots__ = ("id", "inputs", "future", "row_deadline", "deadline", "solo", "evictions")

    def __init__(self, request_id: int, inputs: dict[str, Any], future: asyncio.Future, row_deadline) -> None:
        self.id = request_id
        self.inputs = inputs
        self.future = future
        self.row_deadline = row_deadline
        self.deadline = 0.0
        self.solo = False
        self.evictions = 0

    def settle(self, *, result: Any = None, error: BaseException | None = None) -> None:
        if self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)


class _Child:
    """One child process and the rows it holds."""

    def __init__(self, callable_path: str, threads: int, *, solo: bool) -> None:
        parent_end, child_end = socket.socketpair()
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", __name__, str(child_end.fileno())],
                                         pass_fds=[child_end.fileno()])
        finally:
            child_end.close()
        self.conn = Connection(parent_end.detach())
        self.conn.send(("init", callable_path, list(sys.path), threads))
        self.solo = solo
        self.in_flight: dict[int, _Request] = {}
        self.stuck: int | None = None  # the request whose task holds the child's event loop, as its watchdog says
        self.dead = False
        self.ready = False  # the callable is imported: rows' clocks start (again) then
        self.started = time.monotonic()

    def close_connection(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass


class AgentProcessPool:
    """``await pool(inputs)`` runs ``callable_path`` on ``inputs`` in a child and returns what it returned.

    Raises the agent's own exception (re-raised from the child), ``AgentCrashedError`` or ``AgentTimeoutError``.
    Bound to the event loop of its first call (a call from another loop starts fresh children).
    """

    def __init__(self, callable_path: str, *, processes: int | None = None, rows_per_process: int | None = None) -> None:
        self.callable_path = callable_path
        self.processes = processes or default_processes()
        self.rows_per_process = rows_per_process or default_rows_per_process()
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._children: list[_Child] = []
        self._pending: collections.deque[_Request] = collections.deque()
        self._solo_pending: collections.deque[_Request] = collections.deque()
        self._flush_scheduled = False
        self._ticker: asyncio.Task | None = None
        self._open = 0  # calls not answered yet: the ticker runs while there are any
        self.crashes = 0  # children lost or killed, for logs and tests

    async def __call__(self, inputs: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._rebind(loop)
        row_deadline = ROW_DEADLINE.get()
        if row_deadline is not None:
            row_deadline.managed = True
        request = _Request(next(self._ids), inputs, loop.create_future(), row_deadline)
        self._pending.append(request)
        self._schedule_flush()
        if self._ticker is None or self._ticker.done():
            self._ticker = loop.create_task(self._tick())
        self._open += 1
        try:
            return await request.future
        except asyncio.CancelledError:
            self._abandon(request)
            raise
        finally:
            self._open -= 1

    # -- dispatch ---------------------------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._solo_pending:
            child = next((c for c in self._children if c.solo and not c.in_flight), None)
            if child is None:
                if sum(c.solo for c in self._children) >= self.processes:
                    break
                child = self._spawn(solo=True)
            self._send(child, [self._solo_pending.popleft()])
        batches: dict[int, tuple[_Child, list[_Request]]] = {}
        while self._pending:
            normal = [c for c in self._children if not c.solo]
            if len(normal) < self.processes:
                child = self._spawn(solo=False)
            else:
                child = min(normal, key=lambda c: len(c.in_flight) + len(batches.get(id(c), (c, []))[1]))
            _, batch = batches.setdefault(id(child), (child, []))
            if len(child.in_flight) + len(batch) >= self.rows_per_process:
                break
            batch.append(self._pending.popleft())
        for child, batch in batches.values():
            if batch:
                self._send(child, batch)
        self._close_idle_solo_children()

    def _spawn(self, *, solo: bool) -> _Child:
        assert self._loop is not None
        child = _Child(self.callable_path, 1 if solo else self.rows_per_process, solo=solo)
        self._children.append(child)
        self._loop.add_reader(child.conn.fileno(), self._on_readable, child)
        return child

    def _send(self, child: _Child, batch: list[_Request]) -> None:
        assert self._loop is not None
        for request in batch:
            request.deadline = self._restart(request)
            child.in_flight[request.id] = request
        try:
            child.conn.send(("rows", [(request.id, request.inputs) for request in batch]))
        except (OSError, ValueError, pickle.PicklingError) as exc:
            if isinstance(exc, pickle.PicklingError):
                for request in batch:
                    child.in_flight.pop(request.id, None)
                    request.settle(error=AgentRowError("Row inputs cannot be sent to the agent process", detail=str(exc)))
                return
            self._lost(child)  # the child is gone: its rows are settled or re-run there

    def _restart(self, request: _Request) -> float:
        assert self._loop is not None
        return request.row_deadline.restart() if request.row_deadline else self._loop.time() + DEFAULT_TIMEOUT_SECONDS

    def _close_idle_solo_children(self) -> None:
        if self._solo_pending:
            return
        for child in [c for c in self._children if c.solo and not c.in_flight]:
            self._retire(child, kill=False)

    # -- results ----------------------------------------------------------------------------------------------

    def _on_readable(self, child: _Child) -> None:
        try:
            while not child.dead and child.conn.poll():
                message = child.conn.recv()
                if message[0] == "done":
                    for request_id, status, payload in message[1]:
                        request = child.in_flight.pop(request_id, None)
                        if request is not None:
                            self._settle(request, status, payload)
                elif message[0] == "ready":
                    child.ready = True
                    for request in child.in_flight.values():  # its start-up is not the rows' time
                        request.deadline = self._restart(request)
                elif message[0] == "stuck":
                    child.stuck = message[1]
                elif message[0] == "init_failed":
                    log.error("agent process could not load %s: %s", self.callable_path, message[1])
        except (EOFError, OSError):
            self._lost(child)
            return
        if self._pending or self._solo_pending or child.solo:
            self._schedule_flush()

    @staticmethod
    def _settle(request: _Request, status: str, payload: Any) -> None:
        if status == "ok":
            try:
                request.settle(result=pickle.loads(payload))
            except Exception as exc:  # noqa: BLE001 - e.g. a class the worker cannot import
                request.settle(error=AgentRowError("Agent output cannot be read back", detail=f"{type(exc).__name__}: {exc}"))
        elif status == "error":
            try:
                error = pickle.loads(payload)
            except Exception:  # noqa: BLE001 - an exception class that does not survive pickling
                error = None
            if not isinstance(error, BaseException):
                name, text = payload if isinstance(payload, tuple) else ("Exception", "")
                error = AgentRowError(f"Agent raised {name}", detail=text)
            request.settle(error=error)
        elif status == "error_text":
            name, text = payload
            request.settle(error=AgentRowError(f"Agent raised {name}", detail=text[:1000]))
        else:  # "crash": sys.exit, KeyboardInterrupt, another BaseException, caught in the child
            request.settle(error=AgentCrashedError("Agent tried to exit", detail=payload))

    # -- supervision ------------------------------------------------------------------------------------------

    def _lost(self, child: _Child) -> None:
        """The child died on its own (or its connection broke): settle or re-run what it held."""
        if child.dead:
            return
        held = list(child.in_flight.values())
        self._retire(child, kill=True)
        self.crashes += 1
        assert self._loop is not None
        self._loop.create_task(self._after_exit(child, held))

    async def _after_exit(self, child: _Child, held: list[_Request]) -> None:
        for _ in range(100):  # its exit status arrives just after its socket closes
            if child.proc.poll() is not None:
                break
            await asyncio.sleep(0.02)
        what = describe_exit(child.proc.returncode)
        live = [request for request in held if not request.future.done()]
        if len(held) == 1 or child.solo:
            log.warning("agent process for %s died (%s) running one row: that row fails", self.callable_path, what)
            for request in live:
                request.settle(error=AgentCrashedError("Agent process crashed", detail=what))
        else:
            log.warning("agent process for %s died (%s) holding %d rows: each is re-run alone", self.callable_path,
                        what, len(held))
            for request in live:
                request.solo = True
                self._solo_pending.append(request)
        self._schedule_flush()

    async def _tick(self) -> None:
        assert self._loop is not None
        while self._open:
            await asyncio.sleep(TICK_SECONDS)
            now = self._loop.time()
            for child in list(self._children):
                if not child.ready:
                    if time.monotonic() - child.started > STARTUP_SECONDS:
                        log.error("agent process for %s did not start within %ss", self.callable_path, STARTUP_SECONDS)
                        self._lost(child)
                    continue
                expired = [r for r in child.in_flight.values() if now >= r.deadline]
                if expired:
                    self._timed_out(child, expired)

    def _timed_out(self, child: _Child, expired: list[_Request]) -> None:
        blocker = child.in_flight.get(child.stuck) if child.stuck is not None else None
        guilty = [blocker] if blocker is not None else expired
        others = [r for r in child.in_flight.values() if r not in guilty]
        self._retire(child, kill=True)
        self.crashes += 1
        log.warning("agent %s: %d row(s) past their timeout; killed their process, re-running %d other row(s)",
                    self.callable_path, len(guilty), len(others))
        for request in guilty:
            seconds = request.row_deadline.seconds if request.row_deadline else DEFAULT_TIMEOUT_SECONDS
            detail = "it blocked its event loop" if request is blocker else "no answer"
            request.settle(error=AgentTimeoutError(f"Timed out after {seconds:g}s",
                                                   detail=f"{detail}; its process was killed"))
        for request in others:
            if request.future.done():
                continue
            request.evictions += 1
            request.solo = request.solo or request.evictions > MAX_EVICTIONS
            (self._solo_pending if request.solo else self._pending).appendleft(request)
        self._schedule_flush()

    def _retire(self, child: _Child, *, kill: bool) -> None:
        child.dead = True
        child.in_flight = {}
        if child in self._children:
            self._children.remove(child)
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(child.conn.fileno())
            except (OSError, ValueError):
                pass
        if kill:
            if child.proc.poll() is None:
                child.proc.kill()
        else:
            try:
                child.conn.send(("stop",))
            except OSError:
                child.proc.kill()
        child.close_connection()
        threading.Thread(target=child.proc.wait, name="agent-reaper", daemon=True).start()

    def _abandon(self, request: _Request) -> None:
        """The caller stopped waiting (its chunk was cancelled): forget the row; a child running it finishes it."""
        for waiting in (self._pending, self._solo_pending):
            try:
                waiting.remove(request)
            except ValueError:
                pass
        for child in self._children:
            child.in_flight.pop(request.id, None)

    def _rebind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.close()
        self._loop = loop
        self._ticker = None
        self._flush_scheduled = False

    def close(self) -> None:
        """Stop every child (killed: an agent may have left threads that never end)."""
        if self._ticker is not None and not self._ticker.get_loop().is_closed():
            self._ticker.cancel()
        for child in list(self._children):
            self._retire(child, kill=True)
        for request in [*self._pending, *self._solo_pending]:
            if not request.future.done() and not request.future.get_loop().is_closed():
                request.settle(error=AgentCrashedError("Agent process pool closed"))
        self._pending.clear()
        self._solo_pending.clear()


# -- the child ------------------------------------------------------------------------------------------------


def _load(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


def _outcome(request_id: int, run) -> tuple[int, str, Any]:
    try:
        return request_id, "ok", pickle.dumps(run(), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - the row's own failure, sent back whole
        return _error_outcome(request_id, exc)
    except SystemExit as exc:
        return request_id, "crash", f"it called sys.exit({exc.code!r})"
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt and the like: this row only
        return request_id, "crash", f"it raised {type(exc).__name__}"


def _error_outcome(request_id: int, exc: BaseException) -> tuple[int, str, Any]:
    try:
        return request_id, "error", pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - not picklable: its name and text
        return request_id, "error_text", (type(exc).__name__, str(exc))


async def _run_async(function, request_id: int, inputs: dict[str, Any], task_ids: dict, results: queue.SimpleQueue) -> None:
    task_ids[asyncio.current_task()] = request_id
    try:
        try:
            output = await function(inputs)
        except Exception as exc:  # noqa: BLE001
            results.put(_error_outcome(request_id, exc))
            return
        except SystemExit as exc:
            results.put((request_id, "crash", f"it called sys.exit({exc.code!r})"))
            return
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001
            results.put((request_id, "crash", f"it raised {type(exc).__name__}"))
            return
        results.put(_outcome(request_id, lambda: output))
    finally:
        task_ids.pop(asyncio.current_task(), None)


def _child_main(fd: int) -> None:
    conn = Connection(fd)
    send_lock = threading.Lock()

    def send(message: Any) -> None:
        with send_lock:
            conn.send(message)

    _, path, sys_path, threads = conn.recv()
    sys.path[:] = sys_path
    try:
        function = _load(path)
    except BaseException as exc:  # noqa: BLE001
        send(("init_failed", f"{type(exc).__name__}: {exc}"))
        os._exit(1)
    send(("ready",))
    results: queue.SimpleQueue = queue.SimpleQueue()

    def sender() -> None:
        while True:
            batch = [results.get()]
            while True:
                try:
                    batch.append(results.get_nowait())
                except queue.Empty:
                    break
            send(("done", batch))

    threading.Thread(target=sender, name="agent-results", daemon=True).start()
    if inspect.iscoroutinefunction(function):
        loop = asyncio.new_event_loop()
        task_ids: dict[asyncio.Task, int] = {}
        threading.Thread(target=loop.run_forever, name="agent-loop", daemon=True).start()
        threading.Thread(target=_watchdog, args=(loop, task_ids, send), name="agent-watchdog", daemon=True).start()

        def submit(batch: list) -> None:
            for request_id, inputs in batch:
                loop.create_task(_run_async(function, request_id, inputs, task_ids, results))

        def dispatch(batch: list) -> None:
            loop.call_soon_threadsafe(submit, batch)
    else:
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="agent")

        def run_sync(request_id: int, inputs: dict[str, Any]) -> None:
            results.put(_outcome(request_id, lambda: function(inputs)))

        def dispatch(batch: list) -> None:
            for request_id, inputs in batch:
                executor.submit(run_sync, request_id, inputs)

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] == "stop":
            break
        dispatch(message[1])
    os._exit(0)  # not sys.exit: an agent's threads that never end must not keep the child alive


def _watchdog(loop: asyncio.AbstractEventLoop, task_ids: dict, send) -> None:
    """Tell the parent which row's task holds the event loop when the loop stops answering pings."""
    last_pong = [time.monotonic()]

    def pong() -> None:
        last_pong[0] = time.monotonic()

    reported: int | None = None
    while True:
        loop.call_soon_threadsafe(pong)
        time.sleep(WATCHDOG_PING_SECONDS)
        if time.monotonic() - last_pong[0] > WATCHDOG_STUCK_SECONDS:
            culprit = task_ids.get(asyncio.current_task(loop))
            if culprit is not None and culprit != reported:
                reported = culprit
                send(("stuck", culprit))
        elif reported is not None:
            reported = None
            send(("stuck", None))


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
