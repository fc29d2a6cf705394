"""The detector as a library: plain records in, calibrated documents out. It imports
nothing of the service (no storage, no HTTP), so it runs anywhere numpy does::

    from app.detection import analyze, build_data, shape

    data = build_data(accounts=accounts, edges=edges, posts=posts, reports=reports,
                      decisions=decisions)
    analysis = analyze(data)          # arrays, indexed like ``data``
    documents = shape(analysis)       # typed: .waves, .groups, .accounts, .network

``analyze`` takes the models (``load_models()`` by default) and one frozen
``DetectionParams`` (every stage's windows, floors and tails; by default those the
models were fitted with); the documents' shapes are in ``app.detection.documents``. The stages are
named in ``app.detection.pipeline``.
"""

from app.detection.data import Data, build_data
from app.detection.documents import (
    AccountRecord,
    AccountRisk,
    AnalyzeResult,
    Documents,
    Group,
    Network,
    Wave,
    WaveSummary,
)
from app.detection.groups import GroupParams
from app.detection.params import DetectionParams
from app.detection.pipeline import Analysis, analyze
from app.detection.scores import FLAG, Models, load_models
from app.detection.shapes import shape
from app.detection.waves import WaveParams

__all__ = [
    "FLAG",
    "AccountRecord",
    "AccountRisk",
    "Analysis",
    "AnalyzeResult",
    "Data",
    "DetectionParams",
    "Documents",
    "Group",
    "GroupParams",
    "Models",
    "Network",
    "Wave",
    "WaveParams",
    "WaveSummary",
    "analyze",
    "build_data",
    "load_models",
    "shape",
]
