"""The ``mrd`` command: serve, migrate, manage keys."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

import typer

from app.config import get_settings
from app.logs import configure_logging

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Coordinated mass-reporting detector. Settings come from MRD_* environment variables.",
)
keys_cli = typer.Typer(no_args_is_help=True, help="Manage API keys.")
cli.add_typer(keys_cli, name="keys")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run migrations, make sure an admin key exists, then serve the API."""
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Before any metric exists: workers then share their figures through files.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mrd-metrics-")
    import uvicorn

    from app.db.engine import Database
    from app.db.migrations import upgrade_to_head
    from app.main import announce_bootstrap_key

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    upgrade_to_head(settings.database_url)
    db = Database(settings.database_url)
    announce_bootstrap_key(settings, db)
    db.dispose()
    typer.echo(f"Serving on http://{host}:{port} (API docs at http://{host}:{port}/docs)", err=True)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest migration."""
    from app.db.migrations import head_revision, upgrade_to_head

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    upgrade_to_head(settings.database_url)
    typer.echo(f"Database schema at revision {head_revision(settings.database_url)}.")


@keys_cli.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. the calling system.")],
    scope: Annotated[list[str], typer.Option(help="ingest, read or admin; repeat for several.")],
) -> None:
    """Create an API key and print its secret (shown only this once)."""
    from app.db.engine import Database
    from app.services.keys import SCOPES, create_key

    unknown = sorted(set(scope) - set(SCOPES))
    if unknown:
        raise typer.BadParameter(
            f"unknown scope(s) {unknown}; use {list(SCOPES)}", param_hint="--scope"
        )
    settings = get_settings()
    db = Database(settings.database_url)
    with db.session() as session:
        key, secret = create_key(session, name, scope)
        session.commit()
    db.dispose()
    typer.echo(f"key_id: {key.key_id}\nscopes: {','.join(key.scopes)}\nkey:    {secret}")


def main() -> None:
    cli()
