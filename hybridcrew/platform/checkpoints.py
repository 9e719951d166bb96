"""Where LangGraph checkpoints go: SQLite under the data dir, or Redis 8 for several workers."""

from __future__ import annotations

import sqlite3
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from hybridcrew.platform.store.sqlite_schema import tune_for_durable_writes
from hybridcrew.settings import Settings


def open_checkpointer(settings: Settings) -> BaseCheckpointSaver[Any]:
    """Redis when ``HYBRIDCREW_REDIS_URL`` is set, else SQLite on the data dir.

    With Redis any worker can resume any run; SQLite serves the processes of one machine.
    """
    if settings.redis_url:
        from langgraph.checkpoint.redis import RedisSaver  # noqa: PLC0415 - optional extra

        saver = RedisSaver(redis_url=settings.redis_url)
        saver.setup()  # creates its search indexes (needs Redis 8 or the JSON+search modules)
        return saver
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings.data_dir / "checkpoints.sqlite",
                                 check_same_thread=False)
    tune_for_durable_writes(connection)
    return SqliteSaver(connection)
