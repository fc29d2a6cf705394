"""The engine boundary: the stages whose cost grows with the number of events.

Wave bucketing, co-reporting pair aggregation, the exposure joins and text-duplicate
grouping read every report (and the graph around it); what they hand back is small
(a wave per report, a number per account, a flag per reporter-target pair, a number
per wave). The pipeline asks an engine for them and runs everything after (groups,
signals, scores, tiers) on those results in this process. ``LocalEngine`` computes
them with numpy here; ``app.detection.spark.SparkEngine`` on Apache Spark, where the
events stay. Both give the same answers (tests/test_spark_engine.py).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.sparse import csr_matrix

from app.detection.coreport import PartnerParams, repeat_partners
from app.detection.data import BoolArray, Data, FloatArray, IntArray
from app.detection.graph import exposure
from app.detection.text import duplicate_clusters
from app.detection.waves import WaveParams, Waves, find_waves


class Engine(Protocol):
    name: str

    def find_waves(self, data: Data, params: WaveParams) -> Waves:
        """Stage 1 of waves.py for every report."""

    def repeat_partners(self, data: Data, params: PartnerParams) -> FloatArray:
        """coreport.repeat_partners for every account."""

    def exposure(
        self, data: Data, followees: csr_matrix, reporter: IntArray, target: IntArray
    ) -> BoolArray:
        """graph.exposure for each (reporter, target) pair."""

    def duplicate_clusters(
        self, data: Data, rows: IntArray, wave: IntArray, n_waves: int
    ) -> tuple[FloatArray, FloatArray]:
        """text.duplicate_clusters of the reports ``rows`` (in waves ``wave``)."""

    def event_ids(self, data: Data, rows: IntArray) -> list[str]:
        """The event ids of the reports ``rows``."""


class LocalEngine:
    """numpy on the columns in ``data``."""

    name = "local"

    def find_waves(self, data: Data, params: WaveParams) -> Waves:
        return find_waves(data.reports, len(data.accounts), data.now, params)

    def repeat_partners(self, data: Data, params: PartnerParams) -> FloatArray:
        reports = data.reports
        return repeat_partners(
            reports.reporter, reports.target, reports.time, len(data.accounts), params
        )

    def exposure(
        self, data: Data, followees: csr_matrix, reporter: IntArray, target: IntArray
    ) -> BoolArray:
        return exposure(data, followees, reporter, target)

    def duplicate_clusters(
        self, data: Data, rows: IntArray, wave: IntArray, n_waves: int
    ) -> tuple[FloatArray, FloatArray]:
        texts = data.reports.text
        return duplicate_clusters([texts[i] for i in rows.tolist()], wave, n_waves)

    def event_ids(self, data: Data, rows: IntArray) -> list[str]:
        ids = data.reports.event_id
        return [ids[i] for i in np.asarray(rows).tolist()]
