"""The detection pipeline, one named stage after another:

    load (data.build_data) -> waves -> co-reporting -> coordination groups -> signals
    -> wave scores -> coordinated core -> scores -> attribution
    -> re-creation (successors inherit) -> network (tiers, hubs)

``analyze`` runs them all and returns plain results; the service, ``mrd analyze`` and
``POST /v1/analyze`` all call it. Every stage's settings come from one
``DetectionParams`` (params.py), by default those the shipped models were fitted with.
The stages whose cost grows with the number of events run on an engine (engine.py):
numpy in this process, or Apache Spark.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from app.detection.attribution import Attribution, attribute
from app.detection.core import (
    core_signals,
    find_core_waves,
    overlapping_core_score,
    overlaps,
    with_core_waves,
)
from app.detection.data import BoolArray, Data, FloatArray, IntArray
from app.detection.engine import Engine, LocalEngine
from app.detection.groups import Groups, find_groups
from app.detection.model import LogisticModel
from app.detection.network import Network, find_network, tie_matrices
from app.detection.params import DetectionParams
from app.detection.recreation import Recreations, contact_matrix, inherit, link_recreations
from app.detection.scores import (
    FLAG,
    ContentRisk,
    Models,
    Reliability,
    campaign_share,
    content_risk,
    core_evidence,
    exposed_in_flagged,
    flagged_exposure,
    load_models,
    published,
    reliability,
    reporter_features,
    wave_features,
)
from app.detection.signals import WaveSignals, compute_signals
from app.detection.waves import Waves, first_reports


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """Everything the pipeline found, indexed like ``data``."""

    data: Data
    waves: Waves
    signals: WaveSignals
    wave_score: FloatArray
    core: Waves
    core_score: FloatArray
    wave_core_score: FloatArray
    wave_contributions: FloatArray
    groups: Groups
    repeat_partners: FloatArray
    flagged_exposure: FloatArray
    reliability: Reliability
    reporter_risk: FloatArray
    target_risk: FloatArray
    core_risk: FloatArray
    content_risk: ContentRisk
    orchestrators: Attribution
    recreations: Recreations
    network: Network
    wave_first_event: list[str]
    params: DetectionParams
    models: Models
    timings: dict[str, float] = field(default_factory=dict)


def distinct_reporters(reporter: np.ndarray, waves: Waves) -> np.ndarray:
    """How many different accounts reported in each wave."""
    member = waves.report_wave >= 0
    pairs = np.unique(np.stack([waves.report_wave[member], reporter[member]]), axis=1)
    return np.bincount(pairs[0], minlength=len(waves))


def crowd_score(
    model: LogisticModel,
    signals: WaveSignals,
    reporter: np.ndarray,
    waves: Waves,
    min_crowd: int = DetectionParams().min_crowd,
) -> FloatArray:
    """A model's published score of each wave; zero for a wave of fewer than
    ``min_crowd`` accounts (coordination takes several)."""
    score = published(model.probability(wave_features(signals)) if len(waves) else np.empty(0))
    score[distinct_reporters(reporter, waves) < min_crowd] = 0.0
    return score


@dataclass(frozen=True)
class Judged:
    """The waves judged with their coordinated core (core.py): scores lifted by the core
    waves inside them, and the repeating cells' small strikes appended as waves."""

    waves: Waves
    signals: WaveSignals
    wave_score: FloatArray
    wave_core_score: FloatArray
    core: Waves
    core_score: FloatArray
    # exposed_in_flagged on the waves as scored before the core judged them.
    exposed_before: tuple[IntArray, BoolArray]


def judge_with_core(
    data: Data,
    waves: Waves,
    signals: WaveSignals,
    wave_score: FloatArray,
    core_model: LogisticModel,
    params: DetectionParams,
    engine: Engine,
) -> Judged:
    reporter = data.reports.reporter
    exposed = exposed_in_flagged(data, waves, wave_score, engine)
    core = find_core_waves(data, waves, wave_score, exposed, params.waves, params.core)
    judged_core = core_signals(
        data, core, engine, params.groups, params.attribution.directive_window_s
    )
    core_score = crowd_score(core_model, judged_core, reporter, core, params.min_crowd)
    pairs = overlaps(waves, core)
    wave_core_score = overlapping_core_score(len(waves), pairs, core_score)
    wave_score = np.maximum(wave_score, wave_core_score)
    waves, added = with_core_waves(data.reports, waves, core, core_score, pairs[0])
    if len(added):
        # An appended wave shows the signals the core model scored it on.
        signals = WaveSignals(np.vstack([signals.values, judged_core.values[added]]))
        wave_score = np.concatenate([wave_score, core_score[added]])
        wave_core_score = np.concatenate([wave_core_score, core_score[added]])
    return Judged(waves, signals, wave_score, wave_core_score, core, core_score, exposed)


@dataclass(frozen=True)
class Features:
    """The stages before any model: the waves, each account's repeat co-reporting
    partners, the lockstep groups and every wave's signals. Training fits the models on
    exactly what ``analyze`` computes here, so the two cannot drift apart."""

    waves: Waves
    repeat_partners: FloatArray
    groups: Groups
    signals: WaveSignals


def features(
    data: Data,
    params: DetectionParams | None = None,
    engine: Engine | None = None,
    lap: Callable[[str], None] = lambda _stage: None,
) -> Features:
    """``lap(stage)`` is called as each stage ends (``analyze`` times them)."""
    params = params or DetectionParams()
    engine = engine or LocalEngine()
    waves = engine.find_waves(data, params.waves)
    lap("waves")
    partners = engine.repeat_partners(data, params.partners)
    lap("coreport")
    reporter = data.reports.reporter
    groups = find_groups(reporter, waves.report_wave, waves, len(data.accounts), params.groups)
    lap("groups")
    signals = compute_signals(
        data, waves, groups.account_group, engine, params.attribution.directive_window_s
    )
    lap("signals")
    return Features(waves, partners, groups, signals)


_pauses = 0
_pauses_lock = threading.Lock()
_collecting_before = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a whole analysis is read, run and shaped.
    Those build millions of objects that hold no cycles (columns, documents), and the
    collector walked every live object again and again as they piled up: on a
    graph-heavy data set it doubled the time to shape the documents. What it would
    have found is collected when the last pause ends (if the collector was on before
    the first). Threads may pause at once."""
    global _pauses, _collecting_before
    with _pauses_lock:
        if _pauses == 0:
            _collecting_before = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collecting_before:
                gc.enable()


def analyze(
    data: Data,
    models: Models | None = None,
    params: DetectionParams | None = None,
    engine: Engine | None = None,
) -> Analysis:
    params = params or DetectionParams()
    models = models or load_models()
    wave_model, reporter_model, core_model, tier_model = models
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    engine = engine or LocalEngine()
    found_features = features(data, params, engine, lap)
    waves, partners = found_features.waves, found_features.repeat_partners
    groups, signals = found_features.groups, found_features.signals
    first_events = engine.event_ids(data, first_reports(data.reports, waves))
    reports = data.reports
    # Scores are published to four decimals; deciding on the published value keeps a
    # wave shown at 0.5 orchestrated and a target shown at 0.5 held.
    wave_score = crowd_score(wave_model, signals, reports.reporter, waves, params.min_crowd)
    found = len(waves)
    judged = judge_with_core(data, waves, signals, wave_score, core_model, params, engine)
    waves, signals, wave_score = judged.waves, judged.signals, judged.wave_score
    core, core_score = judged.core, judged.core_score
    if len(waves) > found:
        first_events += engine.event_ids(data, first_reports(reports, waves)[found:])
    lap("core")
    x = wave_features(signals)
    contributions = wave_model.contributions(x) if len(waves) else np.empty((0, x.shape[1]))
    record = reliability(data)
    exposed = flagged_exposure(
        data, exposed_in_flagged(data, waves, wave_score, engine, judged.exposed_before)
    )
    reporters = reporter_features(data, waves, wave_score, groups, record, partners, exposed)
    risk = reporter_model.probability(reporters)
    filed = record.reports > 0
    risk = published(np.where(filed, risk, 0.0))
    lookback = params.target_lookback_s
    core_risk = published(core_evidence(len(data.accounts), core, core_score, lookback))
    share = campaign_share(data, waves, wave_score, lookback)
    targets = published(np.maximum(share, core_risk))
    contents = content_risk(data, waves, wave_score, lookback)
    contents = replace(contents, risk=published(contents.risk))
    lap("scores")
    flagged = wave_score >= FLAG
    orchestrators = attribute(data, waves, flagged, params.attribution)
    lap("attribution")
    ties, amplifications = tie_matrices(data)
    recreations = link_recreations(data, contact_matrix(data), params.recreation)
    risk, record = inherit(recreations, risk, record)
    lap("recreation")
    network = find_network(
        data,
        ties,
        amplifications,
        risk,
        targets,
        orchestrators,
        flagged,
        tier_model,
        params.network,
    )
    lap("network")
    return Analysis(
        data=data,
        waves=waves,
        signals=signals,
        wave_score=wave_score,
        core=core,
        core_score=core_score,
        wave_core_score=judged.wave_core_score,
        wave_contributions=contributions,
        groups=groups,
        repeat_partners=partners,
        flagged_exposure=exposed,
        reliability=record,
        reporter_risk=risk,
        target_risk=targets,
        core_risk=core_risk,
        content_risk=contents,
        orchestrators=orchestrators,
        recreations=recreations,
        network=network,
        wave_first_event=first_events,
        params=params,
        models=models,
        timings=timings,
    )
