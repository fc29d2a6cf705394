"""The ``mrd`` command: serve, migrate, manage keys."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.config import get_settings
from app.logs import configure_logging


class Engine(StrEnum):
    local = "local"
    spark = "spark"


cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Coordinated mass-reporting detector. Settings come from MRD_* environment variables.",
)
# Set by --debug: an unexpected error shows its traceback instead of one line.
SHOW_TRACEBACKS = {"on": False}


@cli.callback()
def options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="MRD_DEBUG", help="Show the traceback of an unexpected error."
        ),
    ] = False,
) -> None:
    """Coordinated mass-reporting detector. Settings come from MRD_* environment variables."""
    SHOW_TRACEBACKS["on"] = debug


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
    from app.processes import SERVE_PID_VARIABLE
    from app.supervisor import STATE_VARIABLE, Supervisor

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    upgrade_to_head(settings.database_url)
    db = Database(settings.database_url)
    announce_bootstrap_key(settings, db)
    db.dispose()
    # Every child (the background process, the HTTP workers) dies with this process.
    os.environ[SERVE_PID_VARIABLE] = str(os.getpid())
    background = None
    if settings.background_worker:
        state = Path(tempfile.mkdtemp(prefix="mrd-background-")) / "state.json"
        background = Supervisor([sys.executable, "-m", "app", "worker"], state)
        background.start()
        os.environ[STATE_VARIABLE] = str(state)
    # The HTTP workers answer requests only; the background process does the rest.
    os.environ["MRD_BACKGROUND_WORKER"] = "0"
    get_settings.cache_clear()
    typer.echo(f"Serving on http://{host}:{port} (API docs at http://{host}:{port}/docs)", err=True)
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
        )
    finally:
        if background is not None:
            background.stop(BACKGROUND_STOP_S)


# A running analysis finishes its current step before the background process stops.
BACKGROUND_STOP_S = 60


@cli.command()
def worker() -> None:
    """Run the background work only: analysis runs, the fast path, webhook deliveries.

    `mrd serve` starts one by itself; run it alone beside API replicas started with
    MRD_BACKGROUND_WORKER=0. Any number may run: database leases keep one runner of
    each kind at work.
    """
    from app.services.background import run_background

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    run_background(settings)


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
    from app.services import audit
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
        audit.record(session, "cli", "key.created", key.key_id, name=name, scopes=key.scopes)
        session.commit()
    db.dispose()
    typer.echo(f"key_id: {key.key_id}\nscopes: {','.join(key.scopes)}\nkey:    {secret}")


@cli.command("atproto-key")
def atproto_key(
    new: Annotated[
        bool, typer.Option("--new", help="Make a new key and print it (shown only this once).")
    ] = False,
) -> None:
    """Print the public half (#atproto_label) of the AT Protocol label-signing key
    MRD_ATPROTO_LABEL_KEY, or, with --new, make a key and print both halves."""
    from app.services.labels import LabelKey

    configured = get_settings().atproto_label_key
    if new:
        key = LabelKey.generate()
        typer.echo(f"MRD_ATPROTO_LABEL_KEY={key.hex}")
    elif configured:
        key = LabelKey(configured)
    else:
        raise typer.BadParameter(
            "MRD_ATPROTO_LABEL_KEY is not set; `mrd atproto-key --new` makes a key"
        )
    typer.echo(f"publicKeyMultibase: {key.multikey}\ndid:key:           did:key:{key.multikey}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )


@cli.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the data set to.")],
    scenario: Annotated[
        str, typer.Option(help="Scenario name (see docs/scenarios.md).")
    ] = "baseline",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 1,
    scale: Annotated[
        float, typer.Option(min=0.01, help="Multiplies every count; 10 gives ~1M reports.")
    ] = 1.0,
    force: Annotated[
        bool, typer.Option(help="Write into a folder that already holds files.")
    ] = False,
) -> None:
    """Write a synthetic data set with ground truth (truth.json)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        typer.echo(f"error: {out} already holds files; add --force to write over them", err=True)
        raise typer.Exit(2)
    from app.tools.simulate import SCENARIOS, generate
    from app.tools.simulate.output import write_world
    from app.tools.simulate.world import STAGES

    if scenario not in SCENARIOS:
        raise typer.BadParameter(
            f"unknown scenario; choose from {', '.join(SCENARIOS)}", param_hint="--scenario"
        )
    began = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task(f"simulating {scenario}", total=STAGES)
        world = generate(
            SCENARIOS[scenario],
            seed,
            scale,
            lambda stage: progress.update(task, advance=1, description=f"simulating: {stage}"),
        )
        writing = progress.add_task("writing", total=5)
        counts = write_world(
            world,
            out,
            lambda kind: progress.update(writing, advance=1, description=f"writing {kind}"),
        )
    summary = ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
    typer.echo(f"Wrote {summary} and truth.json to {out} in {time.perf_counter() - began:.1f} s.")


@cli.command()
def load(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Data-set folder.")],
    url: Annotated[str, typer.Option(help="Base URL of the service.")] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str, typer.Option(envvar="MRD_API_KEY", help="A key with scope ingest.")
    ] = "",
) -> None:
    """Send a data set to a running service, in dependency order and batches.

    Exit status: 0 when every item was stored, 3 when some items were rejected
    (listed), 1 when the service refused a batch or could not be reached.
    """
    import httpx

    from app.datasets import count_lines
    from app.tools.load import LoadError, load_dataset

    totals = {
        kind: count_lines(folder, kind)
        for kind in ("accounts", "edges", "posts", "reports", "decisions")
    }
    with (
        _progress() as progress,
        httpx.Client(base_url=url, headers={"X-API-Key": api_key}, timeout=120) as client,
    ):
        tasks = {
            kind: progress.add_task(f"loading {kind}", total=n) for kind, n in totals.items() if n
        }

        def advance(kind: str, done: int, _total: int) -> None:
            progress.update(tasks[kind], completed=done)

        try:
            summaries = load_dataset(folder, client, advance)
        except LoadError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    table = Table(title=f"Loaded {folder}")
    for column in ("entity", "sent", "accepted", "duplicates", "rejected", "items/s"):
        table.add_column(column, justify="left" if column == "entity" else "right")
    for kind, summary in summaries.items():
        table.add_row(
            kind,
            f"{summary.sent:,}",
            f"{summary.accepted:,}",
            f"{summary.duplicates:,}",
            f"{summary.rejected:,}",
            f"{summary.rate:,.0f}",
        )
    Console().print(table)
    rejected = [(kind, s.first_errors) for kind, s in summaries.items() if s.rejected]
    for kind, errors in rejected:
        for error in errors:
            typer.echo(
                f"rejected {kind} (index {error['index']} of its batch): {error['errors']}",
                err=True,
            )
    if rejected:
        raise typer.Exit(3)


@cli.command()
def analyze(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Data-set folder.")],
    out: Annotated[Path | None, typer.Option(help="Where to write the results (JSON).")] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="Also write a self-contained HTML report (charts, waves, groups, tiers).",
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            envvar="MRD_ENGINE",
            help="Where the event-heavy stages run: numpy here, or Apache Spark (which "
            "then reads the files itself).",
        ),
    ] = Engine.local,
    spark_master: Annotated[
        str, typer.Option(envvar="MRD_SPARK_MASTER", help="Spark master URL (--engine spark).")
    ] = "local[*]",
) -> None:
    """Analyse a data-set folder offline (no server): waves, groups, account risks."""
    if engine is Engine.spark and not spark_installed():
        typer.echo(
            "error: the Spark engine is not installed; pip install "
            "'mass-report-detector[spark]' (and Java 17+), or use --engine local",
            err=True,
        )
        raise typer.Exit(1)
    import orjson

    from app.datasets import load_data
    from app.detection.pipeline import analyze as run_analysis
    from app.detection.pipeline import collector_paused
    from app.detection.shapes import shape

    began = time.perf_counter()
    with _progress() as progress, collector_paused():
        task = progress.add_task("analysing", total=4 if html else 3)
        progress.update(task, description=f"reading the data set ({engine.value} engine)")
        if engine is Engine.spark:
            from app.detection.spark import load, spark_session

            data, spark_engine = load(spark_session(spark_master), folder)
            progress.update(task, advance=1, description="running the pipeline")
            result = run_analysis(data, engine=spark_engine)
        else:
            data = load_data(folder)
            progress.update(task, advance=1, description="running the pipeline")
            result = run_analysis(data)
        progress.update(task, advance=1, description="writing results")
        document = shape(result).as_json()
        destination = out or folder / "analysis.json"
        destination.write_bytes(orjson.dumps(document))
        progress.update(task, advance=1)
        if html is not None:
            from app.tools.report import render_report

            progress.update(task, description="writing the HTML report")
            handles = {
                account_id: handle
                for account_id, handle in zip(data.accounts.ids, data.accounts.handle, strict=True)
                if handle
            }
            html.write_text(render_report(document, f"Analysis of {folder.name}", handles), "utf-8")
            progress.update(task, advance=1)
    flagged = sum(1 for w in document["waves"] if w["label"] == "orchestrated")
    found = (
        f"{len(document['waves'])} waves ({flagged} orchestrated), {len(document['groups'])} groups"
    )
    took = time.perf_counter() - began
    typer.echo(f"{found}, {len(document['accounts']):,} accounts in {took:.1f} s -> {destination}")
    if html is not None:
        typer.echo(f"HTML report -> {html}")


@cli.command()
def evaluate(
    folder: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="Simulated data set.")
    ],
    predictions: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Analysis output (mrd analyze)."),
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Base URL of a service that analysed the data set.")
    ] = None,
    api_key: Annotated[str, typer.Option(envvar="MRD_API_KEY", help="A key with scope read.")] = "",
    out: Annotated[Path | None, typer.Option(help="Where to write the metrics as JSON.")] = None,
) -> None:
    """Score an analysis against the data set's truth.json (see docs/evaluation.md)."""
    import httpx
    import orjson

    from app.datasets import read_truth
    from app.tools.evaluate import TARGETS, evaluate, fetch_predictions, meets_target

    if (predictions is None) == (url is None):
        raise typer.BadParameter("give exactly one of --predictions FILE or --url URL")
    truth = read_truth(folder)
    if predictions is not None:
        predicted = orjson.loads(predictions.read_bytes())
    else:
        with httpx.Client(base_url=str(url), headers={"X-API-Key": api_key}, timeout=120) as client:
            predicted = fetch_predictions(client, folder, truth)
    metrics = evaluate(folder, truth, predicted)
    table = Table(
        title=f"{truth.get('scenario')} seed {truth.get('seed')} scale {truth.get('scale')}"
    )
    for column in ("metric", "value", "target", ""):
        table.add_column(column)
    for name, value in metrics.items():
        if isinstance(value, float) or value is None:
            verdict = meets_target(name, value)
            shown = "n/a" if value is None else f"{value:.4f}"
            target = " ".join(map(str, TARGETS[name])) if name in TARGETS else ""
            mark = {True: "[green]ok[/]", False: "[red]miss[/]", None: ""}[verdict]
            table.add_row(name, shown, target, mark)
        elif isinstance(value, int) and not isinstance(value, bool):
            table.add_row(name, f"{value:,}", "", "")
    Console().print(table)
    destination = out or folder / "evaluation.json"
    destination.write_bytes(orjson.dumps(metrics, option=orjson.OPT_INDENT_2))
    typer.echo(f"Metrics written to {destination}")


@cli.command("import-tweets")
def import_tweets_command(
    csv_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="tweets.csv of the Kaggle set.")
    ],
    out: Annotated[Path, typer.Option(help="Folder to write the data set to.")],
) -> None:
    """Turn the "How ISIS Uses Twitter" CSV into a data set (accounts, posts, edges)."""
    from app.tools.importers.tweets import import_tweets, read_rows

    total = sum(1 for _ in read_rows(csv_file))
    with _progress() as progress:
        task = progress.add_task("reading tweets", total=total)
        counts = import_tweets(csv_file, out, lambda done: progress.update(task, completed=done))
    summary = ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
    typer.echo(f"Wrote {summary} to {out}.")


@cli.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    tweets: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="tweets.csv of the real data set; default: "
            "../shared/data/isis-twitter-kaggle/tweets.csv when it exists.",
        ),
    ] = None,
    scale: Annotated[
        float, typer.Option(min=0.05, max=5.0, help="Size of the simulated scenario.")
    ] = 0.5,
    database: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="SQLite file to fill; default: a new temporary one."),
    ] = None,
) -> None:
    """Serve the dashboard and API on a demo data set, loaded and analysed first.

    The data set is a simulated mass-reporting campaign plus, when its file is found,
    the real network of 112 pro-ISIS Twitter accounts. Prints the dashboard URL, the
    docs URL and an admin key, then serves until interrupted (Ctrl-C).
    """
    from app.tools.demo import DEFAULT_TWEETS

    if tweets is None and DEFAULT_TWEETS.is_file():
        tweets = DEFAULT_TWEETS
    elif tweets is not None and not tweets.is_file():
        raise typer.BadParameter(f"{tweets} is not a file", param_hint="--tweets")
    if database is not None and database.exists():
        raise typer.BadParameter(
            f"{database} exists; the demo fills a new database", param_hint="--database"
        )
    # Before a minute of preparation, not after it.
    busy = port_taken(host, port)
    if busy:
        typer.echo(f"error: cannot listen on {host}:{port} ({busy}); try --port", err=True)
        raise typer.Exit(1)
    if tweets is None:
        typer.echo(
            f"note: the real tweets are left out ({DEFAULT_TWEETS} not found); pass "
            "--tweets tweets.csv (Kaggle: How ISIS Uses Twitter) to add them",
            err=True,
        )
    if database is not None:
        _serve_demo(host, port, tweets, scale, database, kept=True)
        return
    # A temporary database lives as long as the demo.
    scratch = Path(tempfile.mkdtemp(prefix="mrd-demo-"))
    try:
        _serve_demo(host, port, tweets, scale, scratch / "demo.db", kept=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def port_taken(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it can."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _serve_demo(
    host: str, port: int, tweets: Path | None, scale: float, path: Path, kept: bool
) -> None:
    """Fill ``path`` with the demo data, print where to look, serve until interrupted."""
    import uvicorn

    from app.config import Settings
    from app.db.engine import Database
    from app.main import create_app
    from app.services.keys import create_key
    from app.tools.demo import prepare_demo

    url = f"sqlite:///{path.resolve()}"
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def advance(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=total or 1)
            progress.update(tasks[step], completed=done, total=total or 1)

        prepared = prepare_demo(url, tweets, scale, advance)
    settings = Settings(database_url=url)
    db = Database(url)
    with db.session() as session:
        _key, secret = create_key(session, "demo", ["admin"])
        session.commit()
    db.dispose()
    stored = ", ".join(f"{n:,} {kind}" for kind, n in prepared.stored.items())
    run = prepared.run
    typer.echo(
        f"Demo data: {'; '.join(prepared.sources)}\n"
        f"Stored {stored}; analysis {run['status']}: {run.get('waves', 0)} waves "
        f"({run.get('orchestrated_waves', 0)} orchestrated), {run.get('groups', 0)} groups; "
        f"ready in {prepared.seconds:.1f} s.\n"
        f"Database:  {path}{'' if kept else ' (removed when the demo stops)'}\n\n"
        f"Dashboard: http://{host}:{port}/ui/\n"
        f"API docs:  http://{host}:{port}/docs\n"
        f"API key:   {secret}   (admin; header X-API-Key)\n"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


def spark_installed() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def describe(exc: Exception) -> str:
    """An unexpected error in one line, with what to do about it."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        answer = exc.response
        try:
            problem = answer.json()
        except ValueError:
            problem = None
        detail = (isinstance(problem, dict) and problem.get("detail")) or answer.reason_phrase
        hint = {
            401: "pass a valid key with --api-key or MRD_API_KEY",
            403: "use a key with the scope this command needs (read, or ingest to load)",
        }.get(answer.status_code, "check the service's log")
        return f"{answer.request.url} answered {answer.status_code}: {detail} ({hint})"
    if isinstance(exc, httpx.TransportError):
        return f"could not reach the service: {exc} (is it running? check --url)"
    if isinstance(exc, OSError):
        return str(exc)
    return f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"


def main() -> None:
    """``mrd``: any error the commands do not answer themselves is one line on standard
    error and exit status 1; ``--debug`` shows the traceback instead."""
    try:
        cli()
    except Exception as exc:
        if SHOW_TRACEBACKS["on"]:
            raise
        typer.echo(f"error: {describe(exc)}", err=True)
        sys.exit(1)
