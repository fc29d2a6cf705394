"""The real-data importer: hand-made rows, and the real Kaggle file when it is present."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.datasets import read_entities
from app.tools.importers.tweets import import_tweets

REAL = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "isis-twitter-kaggle" / "tweets.csv"
)
COLUMNS = [
    "name",
    "username",
    "description",
    "location",
    "followers",
    "numberstatuses",
    "time",
    "tweets",
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})


def test_hand_made_rows(tmp_path: Path) -> None:
    source = tmp_path / "tweets.csv"
    write_csv(
        source,
        [
            {
                "name": "Sparks",
                "username": "sparksofirhabi3",
                "followers": "120",
                "time": "1/6/2015 21:07",
                "tweets": "عاجل من #ولاية_نينوى @WarReporter1 see\nthis",
            },
            {
                "name": "War",
                "username": "WarReporter1",
                "followers": "9000",
                "time": "1/6/2015 22:00",
                "tweets": "RT @sparksofirhabi3: عاجل من #ولاية_نينوى @WarReporter1 see\nthis",
            },
            {
                "name": "War",
                "username": "WarReporter1",
                "followers": "9100",
                "time": "1/7/2015 08:15",
                "tweets": "RT @someone_else: hello @sparksofirhabi3 and @sparksofirhabi3",
            },
        ],
    )
    counts = import_tweets(source, tmp_path / "out")
    assert counts == {"accounts": 3, "posts": 3, "edges": 4}
    accounts = {a["account_id"]: a for a in read_entities(tmp_path / "out", "accounts")}
    assert accounts["warreporter1"] == {
        "account_id": "warreporter1",
        "handle": "WarReporter1",
        "display_name": "War",
        "followers_count": 9100,
        "labels": ["extremist"],  # an author of the collection: a known member
    }
    assert accounts["someone_else"] == {"account_id": "someone_else", "handle": "someone_else"}
    posts = {p["post_id"]: p for p in read_entities(tmp_path / "out", "posts")}
    assert posts["tw00001"]["hashtags"] == ["ولاية_نينوى"]
    assert posts["tw00001"]["created_at"] == "2015-01-06T21:07:00Z"
    assert posts["tw00001"]["text"].endswith("see\nthis")
    assert posts["tw00002"]["reshare_of"] == "tw00001"
    assert "reshare_of" not in posts["tw00003"]
    assert posts["tw00003"]["mentions"] == ["someone_else", "sparksofirhabi3"]
    edges = {(e["src"], e["dst"], e["kind"]): e for e in read_entities(tmp_path / "out", "edges")}
    assert set(edges) == {
        ("sparksofirhabi3", "warreporter1", "mention"),
        ("warreporter1", "sparksofirhabi3", "retweet"),
        ("warreporter1", "someone_else", "retweet"),
        ("warreporter1", "sparksofirhabi3", "mention"),
    }
    assert edges[("warreporter1", "sparksofirhabi3", "mention")]["weight"] == 2


@pytest.mark.skipif(not REAL.exists(), reason="shared/data is not beside the repository")
def test_real_file_through_the_command(tmp_path: Path) -> None:
    out = tmp_path / "real"
    done = subprocess.run(
        [sys.executable, "-m", "app", "import-tweets", str(REAL), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    posts = list(read_entities(out, "posts"))
    assert len(posts) == 17_410
    accounts = {a["account_id"] for a in read_entities(out, "accounts")}
    authors = {p["author_id"] for p in posts}
    assert len(authors) == 112
    assert {"sparksofirhabi3", "sparksofirhabi4", "sparksofirhabi5"} <= accounts
    assert sum(1 for p in posts if p.get("reshare_of")) > 100
    assert sum(1 for e in read_entities(out, "edges") if e["kind"] == "retweet") > 1000


def test_overlong_usernames_get_ids_within_the_limit(tmp_path: Path) -> None:
    source = tmp_path / "tweets.csv"
    write_csv(
        source, [{"name": "x", "username": "`" * 300, "time": "3/2/2016 21:08", "tweets": "hi"}]
    )
    import_tweets(source, tmp_path / "out")
    [account] = read_entities(tmp_path / "out", "accounts")
    [post] = read_entities(tmp_path / "out", "posts")
    assert len(account["account_id"]) <= 128 and len(account["handle"]) <= 256
    assert post["author_id"] == account["account_id"]
