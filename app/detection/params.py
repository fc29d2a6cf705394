"""Every setting of the pipeline in one frozen value, so a run can say exactly how it
was made: the windows, floors and tails of each stage. The shipped models were fitted
with the defaults (``app/tools/training.py``), except the tier-3 conduct rule
(``NetworkParams.target_tail`` and after), added since, which only takes accounts out
of tier 3. A run records its settings and the models it used
(``DetectionParams.record``) beside its results.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.detection.attribution import AttributionParams
from app.detection.core import CoreParams
from app.detection.coreport import PartnerParams
from app.detection.groups import GroupParams
from app.detection.network import NetworkParams
from app.detection.recreation import RecreationParams
from app.detection.scores import TARGET_LOOKBACK_S, Models
from app.detection.waves import WaveParams


@dataclass(frozen=True, kw_only=True)
class DetectionParams:
    """The settings of every stage. ``target_lookback_s``: how far back from a target's
    latest wave its reports count towards ``target_risk`` and ``core_risk``;
    ``min_crowd``: the fewest distinct reporters that can make an orchestrated wave (one
    account flooding a target is abuse of the report button, not coordination). The
    directive window (``attribution.directive_window_s``) is also the window of the wave
    model's ``directed_share`` signal."""

    waves: WaveParams = field(default_factory=WaveParams)
    groups: GroupParams = field(default_factory=GroupParams)
    partners: PartnerParams = field(default_factory=PartnerParams)
    core: CoreParams = field(default_factory=CoreParams)
    attribution: AttributionParams = field(default_factory=AttributionParams)
    recreation: RecreationParams = field(default_factory=RecreationParams)
    network: NetworkParams = field(default_factory=NetworkParams)
    target_lookback_s: float = TARGET_LOOKBACK_S
    min_crowd: int = 2

    def record(self, models: Models) -> dict[str, Any]:
        """The settings and a digest of each model's coefficients, as stored with a run:
        two runs with the same record, on the same data, give the same answers."""
        return {
            "settings": asdict(self),
            "models": {
                name: model.digest()
                for name, model in models._asdict().items()
                if model is not None
            },
        }
