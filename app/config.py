"""Service settings, read from ``MRD_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service can be configured with (see docs/configuration.md)."""

    # Errors name the setting, never its value: some are secrets (keys).
    model_config = SettingsConfigDict(env_prefix="MRD_", extra="ignore", hide_input_in_errors=True)

    database_url: str = "sqlite:///./mrd.db"
    bootstrap_api_key: str | None = None
    auth_disabled: bool = False
    analysis_interval_s: float = Field(60.0, gt=0)
    analysis_lease_s: float = Field(
        120.0,
        gt=0,
        description="A run with no heartbeat for this long is failed and queued again.",
    )
    background_worker: bool = Field(
        True,
        description="Run the background work (analysis runner, fast path, webhook sender) "
        "in this service; 0 on API replicas when `mrd worker` runs elsewhere.",
    )
    engine: Literal["local", "spark"] = Field(
        "local",
        description="Where the event-heavy analysis stages run: numpy in the background "
        "process, or Apache Spark (needs the `spark` extra and Java 17+).",
    )
    spark_master: str = Field(
        "local[*]", description="Spark master URL for `MRD_ENGINE=spark` (local mode: all cores)."
    )
    spark_export_dir: str | None = Field(
        None,
        description="Where a run on Spark exports the stored entities for Spark to read "
        "(unset: the system's temporary directory); on a cluster, a directory every Spark "
        "node mounts at the same path.",
    )
    retention_days: float | None = Field(
        None,
        gt=0,
        description="Delete reports, posts and decisions older than this many days "
        "(unset: keep everything).",
    )
    webhook_allow_private: bool = False
    atproto_service_did: str | None = Field(
        None,
        description="This service's DID as AT Protocol clients address it (the `aud` of "
        "their service tokens), e.g. did:web:mrd.example.org; unset: no AT Protocol intake.",
    )
    atproto_plc_url: str = Field(
        "https://plc.directory", description="The PLC directory that resolves did:plc DIDs."
    )
    atproto_label_key: str | None = Field(
        None,
        repr=False,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="The secp256k1 private key (64 hex digits; `mrd atproto-key` makes one) "
        "that signs this service's AT Protocol labels; with MRD_ATPROTO_SERVICE_DID set, "
        "labels are published after each analysis run; unset: no labels.",
    )
    webhook_retry_base_s: float = Field(
        2.0, gt=0, description="Delay before the first retry; it doubles at every failure."
    )
    webhook_max_attempts: int = Field(
        10, ge=1, description="Attempts before a delivery becomes a dead letter."
    )
    webhook_timeout_s: float = Field(
        5.0,
        gt=0,
        description="All the time one delivery attempt may take, from resolving the host "
        "to the end of the answer's headers (its body is never read).",
    )
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0)
    body_timeout_s: float = Field(
        60.0, gt=0, description="Time a request's whole body may take to arrive."
    )
    rate_limit_per_s: float = Field(
        1_000.0, ge=0, description="Requests per second per API key and process; 0: no limit."
    )
    rate_limit_burst: float = Field(
        2_000.0, ge=1, description="Requests a key may make at once before the rate applies."
    )
    max_in_flight: int = Field(
        4,
        ge=1,
        description="Requests one HTTP worker handles at a time (enforcement checks have four "
        "times as many slots again of their own); more wait in line.",
    )
    queue_timeout_s: float = Field(
        0.5,
        gt=0,
        description="How long a request may wait in line for a slot before it is answered "
        "503 with Retry-After.",
    )
    max_queue: int = Field(
        256, ge=0, description="Requests that may wait in line per worker; more get 503 at once."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool = False
    future_tolerance_s: float = Field(
        86_400.0,
        ge=0,
        description="How far in the future an ingested timestamp may lie (clock skew).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


@lru_cache
def get_settings() -> Settings:
    """Settings of this process, read once from the environment."""
    return Settings()
