"""The structure stages on the real data (17,410 tweets of 112 pro-ISIS accounts), when
the file is present next to the repository."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from app.datasets import load_data, read_entities
from app.detection.pipeline import analyze
from app.detection.recreation import handle_stem
from app.detection.shapes import shape
from app.importers.tweets import import_tweets
from tests.test_import_tweets import REAL

pytestmark = pytest.mark.skipif(not REAL.exists(), reason="the real data is not present")

# Numbered and variant handles of one operator, each after the one before it.
FAMILIES = [
    ("sparksofirhabi4", "sparksofirhabi3"),
    ("sparksofirhabi5", "sparksofirhabi4"),
    ("abutariq041", "abutariq040"),
    ("fidaeefulaani", "fidaee_fulaani"),
    ("ummlina6", "ummlina5"),
    ("abuayisha105", "abuayisha102"),
    ("wayf44rerr", "wayyf44rer"),
]


def test_the_real_network(tmp_path: Path) -> None:
    import_tweets(REAL, tmp_path)
    began = time.perf_counter()
    document = shape(analyze(load_data(tmp_path)))
    took = time.perf_counter() - began
    assert took < 30
    accounts = {a["account_id"]: a for a in document["accounts"]}

    links = {a: r["recreated_from"] for a, r in accounts.items() if r["recreated_from"]}
    for new, old in FAMILIES:
        assert links.get(new) == old, (new, links.get(new))
    assert all(handle_stem(new) == handle_stem(old) for new, old in links.items())
    assert len({handle_stem(new) for new in links}) >= 50

    amplifiers = Counter(
        e["dst"] for e in read_entities(tmp_path, "edges") if e["kind"] == "retweet"
    )
    for account_id, _ in amplifiers.most_common(5):
        assert accounts[account_id]["tier"] in (1, 2), account_id
    tiers = document["network"]["tiers"]
    assert tiers["1"]["count"] + tiers["2"]["count"] <= 50
    assert tiers["3"]["count"] >= 80  # the authors who amplify without being amplified
    hubs = document["network"]["hubs"]
    assert hubs and hubs[0]["member_count"] >= 10
