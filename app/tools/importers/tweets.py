"""Import the "How ISIS Uses Twitter" CSV (17,410 tweets of 112 accounts) as a data set.

Each row is a tweet: ``name, username, description, location, followers,
numberstatuses, time, tweets``. Authors and everyone they retweet or mention become
accounts (ids are lower-cased handles, as handles are case-insensitive); tweets
become posts with their mentions and hashtags; a retweet of a tweet present in the
file points to it with ``reshare_of``. Retweets and mentions are also written as
weighted ``retweet`` and ``mention`` edges, stamped with their first occurrence.
The data has no reports and no labels; its 112 authors were collected as pro-ISIS
accounts, so they are labelled ``extremist``, the label that seeds the supporter
network (docs/real-data.md).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.datasets import write_entities
from app.detection.data import MEMBER_LABEL, to_iso

RETWEET = re.compile(r"^RT @(\w{1,15}):?\s*(.*)$", re.DOTALL)
MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


@dataclass
class Tweet:
    row: int
    author: str
    time: datetime
    text: str


def account_key(username: str) -> str:
    """The account id for a handle: lower case, and within the 128-character id limit
    (the file has one corrupt username hundreds of characters long)."""
    key = username.lower()
    if len(key) <= 128:
        return key
    return f"{key[:100]}~{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def parse_time(value: str) -> datetime:
    """``M/D/YYYY H:MM`` as UTC."""
    return datetime.strptime(value.strip(), "%m/%d/%Y %H:%M").replace(tzinfo=UTC)


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def import_tweets(
    path: Path, out: Path, progress: Callable[[int], None] = lambda _done: None
) -> dict[str, int]:
    """Write accounts, posts and edges for the tweets in ``path``; returns row counts."""
    authors: dict[str, dict[str, Any]] = {}
    handles: dict[str, str] = {}
    tweets: list[Tweet] = []
    for number, row in enumerate(read_rows(path), start=1):
        username = row["username"].strip()
        key = account_key(username)
        handles.setdefault(key, username[:256])
        authors[key] = {
            "account_id": key,
            "handle": username[:256],
            "display_name": row["name"].strip() or None,
            "followers_count": _count(row.get("followers")),
            "labels": [MEMBER_LABEL],
        }
        tweets.append(Tweet(number, key, parse_time(row["time"]), row["tweets"]))
        if number % 1000 == 0:
            progress(number)
    progress(len(tweets))

    by_text: dict[tuple[str, str], str] = {}
    for tweet in tweets:
        by_text.setdefault((tweet.author, tweet.text.strip()), f"tw{tweet.row:05d}")

    posts: list[dict[str, Any]] = []
    interactions: dict[tuple[str, str, str], list[Any]] = {}
    for tweet in sorted(tweets, key=lambda t: (t.time, t.row)):
        post: dict[str, Any] = {
            "post_id": f"tw{tweet.row:05d}",
            "author_id": tweet.author,
            "created_at": to_iso(tweet.time.timestamp()),
            "text": tweet.text,
        }
        retweet = RETWEET.match(tweet.text)
        if retweet:
            original = retweet.group(1)
            handles.setdefault(original.lower(), original)
            _note(interactions, tweet.author, original.lower(), "retweet", tweet.time)
            source = by_text.get((original.lower(), retweet.group(2).strip()))
            if source and source != post["post_id"]:
                post["reshare_of"] = source
        mentioned = []
        for name in MENTION.findall(tweet.text):
            handles.setdefault(name.lower(), name)
            if name.lower() not in mentioned:
                mentioned.append(name.lower())
            if not (retweet and name.lower() == retweet.group(1).lower()):
                _note(interactions, tweet.author, name.lower(), "mention", tweet.time)
        if mentioned:
            post["mentions"] = mentioned
        tags = list(dict.fromkeys(HASHTAG.findall(tweet.text)))
        if tags:
            post["hashtags"] = tags
        posts.append(post)

    accounts = [
        authors.get(key) or {"account_id": key, "handle": handle}
        for key, handle in sorted(handles.items())
    ]
    edges = [
        {
            "src": src,
            "dst": dst,
            "kind": kind,
            "weight": weight,
            "created_at": to_iso(first.timestamp()),
        }
        for (src, dst, kind), (weight, first) in sorted(interactions.items())
        if src != dst
    ]
    return {
        "accounts": write_entities(
            out, "accounts", ({k: v for k, v in a.items() if v is not None} for a in accounts)
        ),
        "posts": write_entities(out, "posts", posts),
        "edges": write_entities(out, "edges", edges),
    }


def _count(value: str | None) -> int | None:
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


def _note(
    interactions: dict[tuple[str, str, str], list[Any]], src: str, dst: str, kind: str, at: datetime
) -> None:
    entry = interactions.setdefault((src, dst, kind), [0, at])
    entry[0] += 1
    entry[1] = min(entry[1], at)
