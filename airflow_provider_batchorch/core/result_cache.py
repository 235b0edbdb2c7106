"""Call an agent once per distinct input: in-batch dedup and a result cache shared across batches.

``cache_key(spec, inputs)`` is a sha256 over the agent's name, version, prompt, output schema and invocation,
and the mapped inputs, as canonical JSON: anything that could change the answer changes the key.

``CachedAgentCall(call, spec, store=None)`` is itself an ``AgentCall``. Rows with the same key that run at the same
time share one call (the later ones await the first); a finished result is kept for the rest of the batch and,
when a ``store`` is given, written there so that the next batch reuses it. Only outputs that satisfy the
agent's schema are stored; a failed call is shared by the rows waiting on it but never stored. A reused result
reports zero tokens: nothing was spent on it. ``stats`` counts the calls made and saved.

Stores are small sync objects with ``get(key) -> dict | None`` and ``put(key, value)``: ``S3ResultCache``,
``LocalDirResultCache`` and ``InMemoryResultCache``; they are called from a thread. ``SeededResultCache`` puts
a batch job's answers (cost mode, ``core.batch_api``) in front of the incremental store: a row answered there
reports ``reused_from="batch_api"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.agent_call import AgentCall, AgentResult
from airflow_provider_batchorch.core.callable_paths import legacy_callable


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _legacy_spelling(invocation: dict[str, Any]) -> dict[str, Any]:
    """A python callable as written before the built-in agents moved, so that earlier batches' keys still match."""
    if isinstance(invocation.get("callable"), str):
        return {**invocation, "callable": legacy_callable(invocation["callable"])}
    return invocation


class CacheKeys:
    """``cache_key`` for one agent spec, its part of the canonical JSON serialised once (not once per row).

    The material is ``{"agent", "inputs", "invocation", "output_schema", "prompt", "version"}`` in sorted key
    order, so the key is the hash of a fixed prefix, the row's canonical inputs and a fixed suffix.
    """

    def __init__(self, spec: AgentSpec) -> None:
        # "inputs": 0 stands in for the row: the spec's parts around it are fixed.
        material = {
            "agent": spec.name,
            "version": spec.version,
            "prompt": spec.prompt,
            "output_schema": spec.output_schema,
            "invocation": _legacy_spelling(spec.invocation.model_dump(mode="json")),
            "inputs": 0,
        }
        if spec.transforms and spec.transforms.prompt_template:  # another per-row prompt, another answer
            material["prompt_template"] = [spec.transforms.prompt_engine, spec.transforms.prompt_template]
        fixed = canonical_json(material)
        prefix, marker, suffix = fixed.partition(',"inputs":0,')
        assert marker, fixed
        self._prefix = f'{prefix},"inputs":'.encode("utf-8")
        self._suffix = f",{suffix}".encode("utf-8")

    def __call__(self, inputs: dict[str, Any]) -> str:
        digest = hashlib.sha256(self._prefix)
        digest.update(canonical_json(inputs).encode("utf-8"))
        digest.update(self._suffix)
        return digest.hexdigest()


def cache_key(spec: AgentSpec, inputs: dict[str, Any]) -> str:
    return CacheKeys(spec)(inputs)


class ResultCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, value: dict[str, Any]) -> None: ...


class InMemoryResultCache:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.items.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.items[key] = value


class LocalDirResultCache:
    """One JSON file per key under ``root/ab/abcdef....json``, written atomically (temp file + rename)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(canonical_json(value))
        os.replace(temp, path)


class S3ResultCache:
    """One JSON object per key at ``s3://bucket/prefix/ab/abcdef....json`` (a single PUT is atomic in S3)."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str = "batchorch/cache") -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key[:2]}/{key}.json" if self.prefix else f"{key[:2]}/{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self._key(key),
            Body=canonical_json(value).encode("utf-8"),
            ContentType="application/json",
        )


class SeededResultCache:
    """Answers of this batch's batch-API job (``seed``, read only) first, then the incremental ``store``.

    A seed answer read here is copied into ``store`` (without its ``source``), so the next incremental batch
    reuses it like any other stored answer.
    """

    def __init__(self, seed: ResultCache, store: ResultCache | None = None) -> None:
        self.seed = seed
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        seeded = self.seed.get(key)
        if seeded is None:
            return self.store.get(key) if self.store is not None else None
        if self.store is not None:
            self.store.put(key, {name: value for name, value in seeded.items() if name != "source"})
        return seeded

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self.store is not None:
            self.store.put(key, value)


@dataclass
class CacheStats:
    calls_made: int = 0
    deduplicated: int = 0  # rows that reused a call of this batch
    cache_hits: int = 0  # rows answered by the store (an earlier batch)

    @property
    def calls_saved(self) -> int:
        return self.deduplicated + self.cache_hits


def _schema_check(schema: dict[str, Any] | None) -> Callable[[Any], bool]:
    """Whether an output may be stored: compiled once per agent."""
    if not schema:
        return lambda output: isinstance(output, dict)
    import jsonschema

    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return validator_class(schema).is_valid


class CachedAgentCall:
    def __init__(
        self, call: AgentCall, spec: AgentSpec, store: ResultCache | None = None, *, max_entries: int = 100_000
    ) -> None:
        self.call = call
        self.spec = spec
        self.store = store
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._key = CacheKeys(spec)
        self._storable = _schema_check(spec.output_schema)
        self._batch: OrderedDict[str, asyncio.Future[AgentResult]] = OrderedDict()

    async def __call__(self, inputs: dict[str, Any]) -> AgentResult:
        key = self._key(inputs)
        while (shared := self._batch.get(key)) is not None:
            try:
                result = await asyncio.shield(shared)
            except asyncio.CancelledError:
                if shared.cancelled() and not _being_cancelled():
                    continue  # the row we waited on was cancelled: make the call ourselves
                raise
            except Exception:
                self.stats.deduplicated += 1
                raise
            self.stats.deduplicated += 1
            self._batch.move_to_end(key)
            return _reused(result)
        future: asyncio.Future[AgentResult] = asyncio.get_running_loop().create_future()
        self._batch[key] = future
        self._evict()
        try:
            result = await self._resolve(key, inputs)
        except asyncio.CancelledError:
            self._batch.pop(key, None)
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        future.set_result(result)
        return result

    def _evict(self) -> None:
        while len(self._batch) > self.max_entries:
            oldest_key, oldest = next(iter(self._batch.items()))
            if not oldest.done():
                break  # never drop a call that rows are waiting on
            del self._batch[oldest_key]

    async def _resolve(self, key: str, inputs: dict[str, Any]) -> AgentResult:
        if self.store is not None:
            stored = await asyncio.to_thread(self.store.get, key)
            if stored is not None and "output" in stored:
                self.stats.cache_hits += 1
                return AgentResult(output=stored["output"], reused_from=stored.get("source") or "store")
        self.stats.calls_made += 1
        result = await self.call(inputs)
        if self.store is not None and self._storable(result.output):
            value = {"output": result.output, "agent": self.spec.name, "version": self.spec.version}
            await asyncio.to_thread(self.store.put, key, value)
        return result


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return bool(task is not None and task.cancelling())


def _reused(result: AgentResult) -> AgentResult:
    return AgentResult(output=result.output, reused_from=result.reused_from or "batch")
