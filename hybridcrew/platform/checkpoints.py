"""Where LangGraph checkpoints go: SQLite under the data dir, or Redis 8 for several workers.

Runs execute on an event loop (``graph.ainvoke``), so the savers answer LangGraph's async
methods. They do the work in place: a SQLite commit on the local disk (or a Redis round trip
on the local network) takes well under a millisecond, less than handing it to a thread and
back would cost; aiosqlite, the usual choice, runs every statement on a thread of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from hybridcrew.platform.store.sqlite_schema import tune_for_durable_writes
from hybridcrew.settings import Settings


class InlineAsync(BaseCheckpointSaver[Any]):
    """LangGraph's async checkpoint methods, done synchronously in place (see the module)."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (or the latest of its thread)."""
        return self.get_tuple(config)

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None, limit: int | None = None
                    ) -> AsyncIterator[CheckpointTuple]:
        """The checkpoints that match, newest first."""
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint,
                   metadata: CheckpointMetadata, new_versions: ChannelVersions) -> RunnableConfig:
        """Store a checkpoint (committed when this returns)."""
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                          task_id: str, task_path: str = "") -> None:
        """Store a task's pending writes."""
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint of a thread."""
        self.delete_thread(thread_id)


class SqliteCheckpoints(InlineAsync, SqliteSaver):
    """SQLite checkpoints for runs on the event loop."""


def open_checkpointer(settings: Settings) -> BaseCheckpointSaver[Any]:
    """Redis when ``HYBRIDCREW_REDIS_URL`` is set, else SQLite on the data dir.

    With Redis any worker can resume any run; SQLite serves the processes of one machine.
    """
    if settings.redis_url:
        from langgraph.checkpoint.redis import RedisSaver  # noqa: PLC0415 - optional extra

        class RedisCheckpoints(InlineAsync, RedisSaver):
            """Redis checkpoints for runs on the event loop."""

        saver = RedisCheckpoints(redis_url=settings.redis_url)
        saver.setup()  # creates its search indexes (needs Redis 8 or the JSON+search modules)
        return saver
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings.data_dir / "checkpoints.sqlite",
                                 check_same_thread=False)
    tune_for_durable_writes(connection)
    return SqliteCheckpoints(connection)
