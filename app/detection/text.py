"""Near-duplicate report texts: Arabic-aware normalisation, MinHash, banded LSH.

Copied-and-pasted instructions drift by a letter variant, a diacritic, a tatweel or
an added word. Normalising folds the first three away; MinHash over character
trigrams finds the rest. Everything runs on numpy arrays of code points, with no
Python loop per shingle.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from app.detection.data import FloatArray, IntArray

_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ة": "ه",
        "ؤ": "و",
        "ـ": None,
    }
)
_MARKS = re.compile(r"[\u064b-\u065f\u0670\u06d6-\u06ed]")
_NON_WORD = re.compile(r"[^\w]+")

PERMUTATIONS = 16
BANDS = 4
_PRIME = (1 << 31) - 1
_RNG = np.random.default_rng(20171)
_A = _RNG.integers(1, _PRIME, size=PERMUTATIONS, dtype=np.int64)
_B = _RNG.integers(0, _PRIME, size=PERMUTATIONS, dtype=np.int64)


def normalise(text: str) -> str:
    """Fold the spelling variants of Arabic (alef, yaa, taa marbuta, hamza seats),
    drop diacritics and tatweel, lower-case, and keep only words."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    text = _MARKS.sub("", text).lower()
    return " ".join(_NON_WORD.sub(" ", text).split())


def minhash(texts: list[str]) -> np.ndarray:
    """MinHash signatures (len(texts) x PERMUTATIONS) over character trigrams.

    Texts shorter than three characters are padded, so every text has a signature.
    """
    if not texts:
        return np.empty((0, PERMUTATIONS), dtype=np.int64)
    padded = [t if len(t) >= 3 else t.ljust(3, "\0") for t in texts]
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    lengths = np.array([len(t) for t in padded], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # Trigram i starts at position i; only trigrams inside one text count.
    ends = starts + lengths
    position = np.arange(len(codes) - 2, dtype=np.int64)
    owner = np.searchsorted(ends, position, side="right")
    valid = position + 2 < ends[np.minimum(owner, len(ends) - 1)]
    position, owner = position[valid], owner[valid]
    shingle = (codes[position] * 1_000_003 + codes[position + 1]) * 1_000_003 + codes[position + 2]
    shingle %= _PRIME
    first_of_text = np.searchsorted(owner, np.arange(len(texts)))
    signatures = np.empty((len(texts), PERMUTATIONS), dtype=np.int64)
    for k in range(PERMUTATIONS):
        hashed = (_A[k] * shingle + _B[k]) % _PRIME
        signatures[:, k] = np.minimum.reduceat(hashed, first_of_text)
    return signatures


def near_duplicate_groups(texts: list[str], scope: IntArray) -> IntArray:
    """A group label per text: texts in one group are near-duplicates (through a chain of
    LSH band collisions) within the same ``scope`` (say, the same wave)."""
    count = len(texts)
    if count == 0:
        return np.empty(0, dtype=np.int64)
    signatures = minhash(texts)
    rows = PERMUTATIONS // BANDS
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for band in range(BANDS):
        block = signatures[:, band * rows : (band + 1) * rows]
        key = np.column_stack([scope, block])
        _, bucket = np.unique(key, axis=0, return_inverse=True)
        bucket = bucket.ravel()
        order = np.argsort(bucket, kind="stable")
        first_of_bucket = np.concatenate([[True], bucket[order][1:] != bucket[order][:-1]])
        leader = order[np.maximum.accumulate(np.where(first_of_bucket, np.arange(count), 0))]
        sources.append(order)
        targets.append(leader)
    src = np.concatenate(sources)
    dst = np.concatenate(targets)
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    groups: IntArray = labels.astype(np.int64)
    return groups


def duplicate_clusters(
    texts: list[str | None], wave: IntArray, n_waves: int
) -> tuple[FloatArray, FloatArray]:
    """Per wave: how many of its reports carry text, and how many of those fall in its
    largest near-duplicate cluster. ``texts`` and ``wave`` run over the same reports."""
    texted = np.zeros(n_waves)
    largest = np.zeros(n_waves)
    where = np.flatnonzero([t is not None and t.strip() != "" for t in texts])
    if len(where) == 0:
        return texted, largest
    scope = wave[where]
    groups = near_duplicate_groups([normalise(str(texts[i])) for i in where.tolist()], scope)
    texted += np.bincount(scope, minlength=n_waves)
    width = int(groups.max()) + 1
    pairs, sizes = np.unique(scope * width + groups, return_counts=True)
    np.maximum.at(largest, pairs // width, sizes)
    return texted, largest
