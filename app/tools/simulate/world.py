"""The simulated world: populations, graph, posts, waves, reports, decisions, truth.

Everything is drawn from one ``numpy.random.Generator`` seeded by the caller, so a
scenario, seed and scale always give the same data set. Arrays are built with numpy;
Python loops run per wave or per post, never per report.

Accounts live in one index space: organic users (victims and violators among them),
then tier 1, tier 2, tier 3, then accounts re-created after suspension, then
bystanders and lookalike sign-ups (when the scenario has them). Their ids are
opaque random numbers, so nothing about an account's role shows in its id.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from app.detection.data import MEMBER_LABEL, distinct
from app.detection.data import to_iso as iso
from app.tools.simulate import text
from app.tools.simulate.scenarios import Scenario

DAY = 86_400
HOUR = 3_600
MINUTE = 60
ORGANIC, TIER1, TIER2, TIER3 = 0, 1, 2, 3
# Journalists, researchers, news outlets and monitors: near the network, not in it.
BYSTANDER = 4
BYSTANDER_KINDS = ("journalist", "researcher", "news", "monitor")


@dataclass
class Reports:
    """Report columns; ``wave`` is the truth wave index, -1 for background reports."""

    reporter: list[np.ndarray] = field(default_factory=list)
    target: list[np.ndarray] = field(default_factory=list)
    time: list[np.ndarray] = field(default_factory=list)
    reason: list[np.ndarray] = field(default_factory=list)
    content: list[list[str | None]] = field(default_factory=list)
    text: list[list[str | None]] = field(default_factory=list)
    wave: list[np.ndarray] = field(default_factory=list)

    def add(
        self,
        reporter: np.ndarray,
        target: np.ndarray,
        time: np.ndarray,
        reason: np.ndarray,
        content: list[str | None],
        texts: list[str | None],
        wave: int,
    ) -> None:
        self.reporter.append(reporter.astype(np.int64))
        self.target.append(target.astype(np.int64))
        self.time.append(time.astype(np.int64))
        self.reason.append(reason.astype(np.int64))
        self.content.append(content)
        self.text.append(texts)
        self.wave.append(np.full(len(reporter), wave, dtype=np.int64))


@dataclass
class Posts:
    post_id: list[str] = field(default_factory=list)
    author: list[int] = field(default_factory=list)
    time: list[int] = field(default_factory=list)
    text: list[str | None] = field(default_factory=list)
    mentions: list[list[int]] = field(default_factory=list)
    hashtags: list[list[str]] = field(default_factory=list)
    reshare_of: list[int] = field(default_factory=list)

    def add(
        self,
        author: int,
        time: int,
        body: str | None = None,
        mentions: list[int] | None = None,
        hashtags: list[str] | None = None,
        reshare_of: int = -1,
    ) -> int:
        self.post_id.append(f"p{len(self.post_id) + 1:08d}")
        self.author.append(author)
        self.time.append(time)
        self.text.append(body)
        self.mentions.append(mentions or [])
        self.hashtags.append(hashtags or [])
        self.reshare_of.append(reshare_of)
        return len(self.post_id) - 1


@dataclass
class World:
    """A generated data set: entity rows plus the ground truth."""

    scenario: Scenario
    seed: int
    scale: float
    accounts: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    posts: list[dict[str, Any]]
    reports: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    truth: dict[str, Any]


class _Builder:
    def __init__(self, scenario: Scenario, seed: int, scale: float) -> None:
        self.s = scenario
        self.scale = scale
        self.seed = seed
        self.rng = np.random.default_rng([seed, zlib.crc32(scenario.name.encode())])
        self.t0 = int(datetime.fromisoformat(scenario.start.replace("Z", "+00:00")).timestamp())
        self.t_end = self.t0 + scenario.days * DAY
        self.posts = Posts()
        self.reports = Reports()
        self.waves: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []

    def n(self, count: float) -> int:
        return self.s.scaled(count, self.scale)

    # ---------------------------------------------------------------- accounts
    def populations(self) -> None:
        rng, s = self.rng, self.s
        n_org, n1, n2, n3 = (
            self.n(s.organic_users),
            self.n(s.tier1),
            self.n(s.tier2),
            self.n(s.tier3),
        )
        self.role = np.concatenate(
            [np.full(n_org, ORGANIC), np.full(n1, TIER1), np.full(n2, TIER2), np.full(n3, TIER3)]
        )
        total = len(self.role)
        self.organic = np.arange(n_org)
        self.tier1 = np.arange(n_org, n_org + n1)
        self.tier2 = np.arange(n_org + n1, n_org + n1 + n2)
        self.tier3 = np.arange(n_org + n1 + n2, total)
        self.supervisor = int(self.tier1[0])

        self.community = rng.integers(s.communities, size=total)
        popularity = rng.pareto(1.1, size=total) + 1.0
        popularity[self.tier2] *= 4.0
        popularity[self.tier1] *= 10.0
        self.popularity = popularity

        self.victims = rng.choice(self.organic, size=self.n(s.victims), replace=False)
        self.popularity[self.victims] = np.maximum(self.popularity[self.victims], 3.0)
        candidates = np.setdiff1d(self.organic, self.victims)
        weights = self.popularity[candidates] / self.popularity[candidates].sum()
        self.violators = rng.choice(candidates, size=self.n(s.violators), replace=False, p=weights)
        labelled = rng.random(len(self.victims)) < s.labelled_victim_share
        self.labelled_victims = self.victims[labelled]

        created = np.empty(total, dtype=np.int64)
        years = 9.5 * DAY * 365
        created[self.organic] = (
            self.t0 - 30 * DAY - (rng.random(n_org) ** 0.7 * years).astype(np.int64)
        )
        new = self.organic[rng.random(n_org) < s.new_account_share]
        created[new] = self.t0 - rng.integers(0, 30 * DAY, size=len(new))
        supporters = np.concatenate([self.tier1, self.tier2])
        created[supporters] = self.t0 - rng.integers(200 * DAY, 800 * DAY, size=len(supporters))
        age = np.minimum(rng.exponential(s.supporter_age_days_mean, size=n3), 3_500) * DAY
        created[self.tier3] = self.t0 - 2 * DAY - age.astype(np.int64)
        self.created = created
        self.active_until = np.full(total, self.t_end + 365 * DAY, dtype=np.int64)
        self.suspended_at = np.full(total, -1, dtype=np.int64)

        ids = rng.choice(9 * 10**9, size=total * 2, replace=False) + 10**9
        self._spare_ids = [str(i) for i in ids[total:]]
        self.ids = [str(i) for i in ids[:total]]
        self.handles = text.handles(text.ORGANIC_WORDS, n_org, rng) + text.handles(
            text.ARABIC_NAMES, n1 + n2 + n3, rng
        )
        for i, victim in enumerate(self.victims):
            self.handles[victim] = text.handles(text.VICTIM_WORDS, len(self.victims), rng)[i]
        self.recreated_pairs: list[tuple[int, int]] = []

    # ------------------------------------------------------------------- graph
    def follow_graph(self) -> None:
        rng, s = self.rng, self.s
        pop = self.popularity
        src: list[np.ndarray] = []
        dst: list[np.ndarray] = []

        degree = np.maximum(
            1, rng.lognormal(np.log(s.organic_follow_mean) - 0.5, 1.0, size=len(self.organic))
        )
        degree = degree.astype(np.int64)
        owners = np.repeat(self.organic, degree)
        local = rng.random(len(owners)) < 0.75
        for c in range(s.communities):
            members = self.organic[self.community[self.organic] == c]
            slots = np.flatnonzero(local & (self.community[owners] == c))
            if len(members) and len(slots):
                p = pop[members] / pop[members].sum()
                src.append(owners[slots])
                dst.append(rng.choice(members, size=len(slots), p=p))
        far = np.flatnonzero(~local)
        src.append(owners[far])
        dst.append(
            rng.choice(self.organic, size=len(far), p=pop[self.organic] / pop[self.organic].sum())
        )

        watchers = self.organic[rng.random(len(self.organic)) < s.organic_follow_supporter_prob]
        amplifiers = np.concatenate([self.tier2, self.tier3])
        src.append(watchers)
        dst.append(
            rng.choice(amplifiers, size=len(watchers), p=pop[amplifiers] / pop[amplifiers].sum())
        )

        # Tier 3 gathers around hubs (tier 2). Hub sizes vary several-fold but keep a
        # finite variance, so the average hub (and wave) stays the same at any scale.
        hub_weight = rng.pareto(2.5, size=len(self.tier2)) + 1.0
        hub_p = hub_weight / hub_weight.sum()
        lo, hi = s.hubs_per_supporter
        per_supporter = rng.integers(lo, hi + 1, size=len(self.tier3))
        members = np.repeat(self.tier3, per_supporter)
        hubs = rng.choice(self.tier2, size=len(members), p=hub_p)
        self.primary_hub = dict(
            zip(
                self.tier3.tolist(),
                rng.choice(self.tier2, size=len(self.tier3), p=hub_p).tolist(),
                strict=True,
            )
        )
        primary = np.array([self.primary_hub[m] for m in self.tier3.tolist()])
        src += [members, self.tier3]
        dst += [hubs, primary]

        for group, low, high in (
            (self.tier3, 2, 6),
            (self.tier2, max(1, len(self.tier1) // 2), len(self.tier1)),
        ):
            counts = rng.integers(low, high + 1, size=len(group))
            src.append(np.repeat(group, counts))
            dst.append(rng.choice(self.tier1, size=int(counts.sum())))
        src += [self.tier1, np.full(len(self.tier1), self.supervisor)]
        dst += [np.full(len(self.tier1), self.supervisor), self.tier1]

        same_hub = np.repeat(self.tier3, s.supporter_follow_supporters)
        partners = rng.choice(self.tier3, size=len(same_hub))
        owner_hub = np.repeat(primary, s.supporter_follow_supporters)
        local_slot = rng.random(len(same_hub)) < 0.7
        for hub in self.tier2.tolist():
            group = self.tier3[primary == hub]
            slots = np.flatnonzero(local_slot & (owner_hub == hub))
            if len(group) > 1 and len(slots):
                partners[slots] = group[rng.integers(len(group), size=len(slots))]
        src.append(same_hub)
        dst.append(partners)
        back = rng.random(len(same_hub)) < 0.15
        src.append(partners[back])
        dst.append(same_hub[back])

        celebrities = self.organic[
            np.argsort(-pop[self.organic])[: max(10, len(self.organic) // 100)]
        ]
        camouflage = np.repeat(self.tier3, s.supporter_follow_organic)
        src.append(camouflage)
        dst.append(rng.choice(celebrities, size=len(camouflage)))
        self.celebrities = celebrities

        src_all = np.concatenate(src).astype(np.int64)
        dst_all = np.concatenate(dst).astype(np.int64)
        keep = src_all != dst_all
        pairs = distinct(src_all[keep] * len(self.role) + dst_all[keep])
        self.follow_src = pairs // len(self.role)
        self.follow_dst = pairs % len(self.role)
        self._index_followers()

    def _index_followers(self) -> None:
        order = np.argsort(self.follow_dst, kind="stable")
        self._followers_sorted = self.follow_src[order]
        self._followers_start = np.searchsorted(
            self.follow_dst[order], np.arange(len(self.role) + 1)
        )

    def followers(self, account: int) -> np.ndarray:
        return self._followers_sorted[
            self._followers_start[account] : self._followers_start[account + 1]
        ]

    def active(self, accounts: np.ndarray, at: int | np.ndarray) -> np.ndarray:
        alive: np.ndarray = (self.created[accounts] <= at) & (self.active_until[accounts] > at)
        return alive

    # ------------------------------------------------------------ suspensions
    def suspensions(self) -> None:
        """Some supporters are suspended; most come back under a variant handle, follow
        the same accounts again and win back part of their followers."""
        rng, s = self.rng, self.s
        count = round(len(self.tier3) * s.suspended_supporter_share)
        suspended = rng.choice(self.tier3, size=count, replace=False)
        when = rng.integers(self.t0 + 2 * DAY, self.t_end - 5 * DAY, size=count)
        self.active_until[suspended] = when
        self.suspended_at[suspended] = when
        old = suspended[rng.random(count) < s.recreated_share]
        if len(old) == 0:
            return
        new = np.arange(len(self.role), len(self.role) + len(old))
        self.role = np.concatenate([self.role, np.full(len(old), TIER3)])
        self.tier3 = np.concatenate([self.tier3, new])
        self.community = np.concatenate([self.community, self.community[old]])
        self.popularity = np.concatenate([self.popularity, self.popularity[old] * 0.3])
        comeback = self.suspended_at[old] + rng.integers(HOUR, 48 * HOUR, size=len(old))
        self.created = np.concatenate([self.created, comeback])
        self.active_until = np.concatenate(
            [self.active_until, np.full(len(old), self.t_end + 365 * DAY)]
        )
        self.suspended_at = np.concatenate([self.suspended_at, np.full(len(old), -1)])
        taken = set(self.handles)
        for o, n in zip(old.tolist(), new.tolist(), strict=True):
            self.ids.append(self._spare_ids.pop())
            self.handles.append(text.recreated_handle(self.handles[o], rng, taken))
            self.primary_hub[n] = self.primary_hub[o]
            self.recreated_pairs.append((n, o))

        by_src = np.argsort(self.follow_src, kind="stable")
        src_sorted = self.follow_src[by_src]
        starts = np.searchsorted(src_sorted, old)
        ends = np.searchsorted(src_sorted, old, side="right")
        new_src: list[np.ndarray] = []
        new_dst: list[np.ndarray] = []
        for o, n, a, b in zip(
            old.tolist(), new.tolist(), starts.tolist(), ends.tolist(), strict=True
        ):
            followees = self.follow_dst[by_src[a:b]]
            kept = followees[rng.random(len(followees)) < 0.9]
            new_src.append(np.full(len(kept), n))
            new_dst.append(kept)
            followers = self.followers(o)
            followers = followers[self.role[followers] == TIER3]
            regained = followers[rng.random(len(followers)) < 0.5]
            new_src.append(regained)
            new_dst.append(np.full(len(regained), n))
        self.follow_src = np.concatenate([self.follow_src, *new_src]).astype(np.int64)
        self.follow_dst = np.concatenate([self.follow_dst, *new_dst]).astype(np.int64)
        self._index_followers()

    # ------------------------------------------------------------------ posts
    def amplification(self) -> None:
        """Tier 1 originates news, everyone amplifies it; tier 2 posts for its hub."""
        rng = self.rng
        per_day = 3
        news = len(self.tier1) * per_day * self.s.days
        authors = rng.choice(self.tier1, size=news, p=self._supervisor_weights())
        times = np.sort(rng.integers(self.t0, self.t_end, size=news))
        self.news_posts: list[tuple[int, int]] = []
        for author, time in zip(authors.tolist(), times.tolist(), strict=True):
            tag = text.NEWS_TAGS[int(rng.integers(len(text.NEWS_TAGS)))]
            post = self.posts.add(author, time, f"أخبار {tag} عاجل", hashtags=[tag])
            self.news_posts.append((post, time))
            fans = self.followers(author)
            fans = fans[(self.role[fans] != ORGANIC) & self.active(fans, time)]
            if author != self.supervisor and rng.random() < 0.5:
                self.posts.add(
                    self.supervisor, time + int(rng.integers(MINUTE, HOUR)), reshare_of=post
                )
            self._reshares(post, fans, time, int(rng.poisson(8)))
        for hub in self.tier2.tolist():
            for time in np.sort(rng.integers(self.t0, self.t_end, size=self.s.days)).tolist():
                post = self.posts.add(hub, time, "نشر", hashtags=["#أنصار"])
                fans = self.followers(hub)
                self._reshares(post, fans[self.active(fans, time)], time, int(rng.poisson(5)))
        self._organic_posts()
        self.victim_posts: dict[int, list[tuple[int, int]]] = {}
        for victim in self.victims.tolist():
            for time in np.sort(rng.integers(self.t0, self.t_end, size=4)).tolist():
                post = self.posts.add(
                    victim, time, "analysis: what the latest propaganda release tells us"
                )
                self.victim_posts.setdefault(victim, []).append((time, post))

    def _organic_posts(self) -> None:
        """Ordinary accounts' own posts (none unless the scenario asks for them)."""
        mean = self.s.organic_posts_per_account
        if mean <= 0:
            return
        rng = self.rng
        counts = rng.poisson(mean, size=len(self.organic))
        authors = np.repeat(self.organic, counts)
        times = np.sort(rng.integers(self.t0, self.t_end, size=len(authors)))
        # Two in five are reshares of an earlier ordinary post.
        reshare = rng.random(len(authors)) < 0.4
        earlier = (rng.random(len(authors)) * np.arange(len(authors))).astype(np.int64)
        first = len(self.posts.post_id)
        for k, (author, time) in enumerate(zip(authors.tolist(), times.tolist(), strict=True)):
            if reshare[k] and k:
                self.posts.add(author, time, reshare_of=first + int(earlier[k]))
            else:
                self.posts.add(author, time, "just sharing my day")

    def _supervisor_weights(self) -> np.ndarray:
        weights = np.ones(len(self.tier1))
        weights[0] = 3.0
        normalised: np.ndarray = weights / weights.sum()
        return normalised

    def _reshares(self, post: int, fans: np.ndarray, time: int, count: int) -> np.ndarray:
        if count <= 0 or len(fans) == 0:
            return np.empty(0, dtype=np.int64)
        chosen = self.rng.choice(fans, size=min(count, len(fans)), replace=False)
        delays = self.rng.exponential(2 * HOUR, size=len(chosen)).astype(np.int64) + MINUTE
        for account, delay in zip(chosen.tolist(), delays.tolist(), strict=True):
            self.posts.add(account, time + delay, reshare_of=post)
        return chosen

    # ------------------------------------------------------------- bystanders
    def _append_accounts(self, role: int, count: int, created: np.ndarray) -> np.ndarray:
        """``count`` new accounts of ``role`` at the end of the index space."""
        new = np.arange(len(self.role), len(self.role) + count)
        self.role = np.concatenate([self.role, np.full(count, role)])
        self.community = np.concatenate(
            [self.community, self.rng.integers(self.s.communities, size=count)]
        )
        self.popularity = np.concatenate([self.popularity, np.ones(count)])
        self.created = np.concatenate([self.created, created.astype(np.int64)])
        self.active_until = np.concatenate(
            [self.active_until, np.full(count, self.t_end + 365 * DAY)]
        )
        self.suspended_at = np.concatenate([self.suspended_at, np.full(count, -1)])
        self.ids += [self._spare_ids.pop() for _ in range(count)]
        return new

    def bystanders(self) -> None:
        """People the detector must not brand: journalists, researchers, news outlets and
        monitors who follow, quote, mention and retweet the official accounts for a
        living, with an audience of ordinary users; ordinary users who retweet a viral
        official post; new sign-ups named like suspended supporters; ordinary accounts
        wrongly labelled ``extremist``. Draws nothing when the scenario has none."""
        rng, s = self.rng, self.s
        self.bystander_kind: dict[int, str] = {}
        self.lookalike_accounts: list[int] = []
        self.wrongly_labelled: list[int] = []
        self.viral_retweeters: list[int] = []
        src: list[np.ndarray] = []
        dst: list[np.ndarray] = []
        count = self.n(s.bystanders) if s.bystanders else 0
        if count:
            years = rng.uniform(1, 12, size=count) * 365 * DAY
            watchers = self._append_accounts(BYSTANDER, count, self.t0 - years)
            self.handles += text.handles(text.VICTIM_WORDS + text.OUTLET_WORDS, count, rng)
            organic_p = self.popularity[self.organic] / self.popularity[self.organic].sum()
            for account in watchers.tolist():
                kind = BYSTANDER_KINDS[int(rng.integers(len(BYSTANDER_KINDS)))]
                self.bystander_kind[account] = kind
                audience = rng.choice(
                    self.organic, size=int(rng.integers(20, 300)), replace=False, p=organic_p
                )
                reads = rng.choice(
                    self.organic, size=int(rng.integers(15, 80)), replace=False, p=organic_p
                )
                officials = rng.choice(
                    self.tier1, size=int(rng.integers(2, len(self.tier1) + 1)), replace=False
                )
                institutions = rng.choice(self.tier2, size=int(rng.integers(0, 6)), replace=False)
                src += [audience, np.full(len(reads) + len(officials) + len(institutions), account)]
                dst += [np.full(len(audience), account), reads, officials, institutions]
                # Their work: quoting and retweeting the officials' releases, naming them.
                for post, time in self._sample_news(int(rng.integers(2, 25))):
                    self.posts.add(
                        account, time + int(rng.integers(MINUTE, 6 * HOUR)), reshare_of=post
                    )
                for official in rng.choice(officials, size=int(rng.integers(1, 8))).tolist():
                    when = int(rng.integers(self.t0, self.t_end))
                    self.posts.add(
                        account,
                        when,
                        text.BYSTANDER_TEXTS[int(rng.integers(len(text.BYSTANDER_TEXTS)))],
                        mentions=[official],
                    )
        retweeters = self.n(s.viral_retweeters) if s.viral_retweeters else 0
        if retweeters and self.news_posts:
            chosen = rng.choice(
                self.organic, size=min(retweeters, len(self.organic)), replace=False
            )
            self.viral_retweeters = chosen.tolist()
            viral = self._sample_news(max(3, len(self.news_posts) // 50))
            for account in self.viral_retweeters:
                for k in rng.choice(len(viral), size=int(rng.integers(1, 4))).tolist():
                    post, time = viral[k]
                    self.posts.add(
                        account, time + int(rng.integers(MINUTE, 12 * HOUR)), reshare_of=post
                    )
        lookalikes = self.n(s.lookalikes) if s.lookalikes else 0
        suspended = np.flatnonzero(self.suspended_at >= 0)
        if lookalikes and len(suspended):
            # Named like a suspended supporter, signed up within days of the suspension,
            # following ordinary accounts (and, now and then, a celebrity or an official).
            like = rng.choice(suspended, size=lookalikes)
            created = self.suspended_at[like] + rng.integers(HOUR, 6 * DAY, size=lookalikes)
            newcomers = self._append_accounts(
                ORGANIC, lookalikes, np.minimum(created, self.t_end - HOUR)
            )
            taken = set(self.handles)
            self.handles += [
                text.recreated_handle(self.handles[o], rng, taken) for o in like.tolist()
            ]
            self.lookalike_accounts = newcomers.tolist()
            for account in self.lookalike_accounts:
                reads = rng.choice(self.organic, size=int(rng.integers(3, 30)))
                extra = (
                    [self.celebrities[rng.integers(len(self.celebrities))]]
                    if rng.random() < 0.5
                    else []
                )
                if rng.random() < 0.2:
                    extra.append(int(rng.choice(self.tier1)))
                src.append(np.full(len(reads) + len(extra), account))
                dst += [reads, np.asarray(extra, dtype=np.int64)]
                src.append(rng.choice(self.organic, size=int(rng.integers(0, 5))))
                dst.append(np.full(len(src[-1]), account))
        wrong = self.n(s.wrong_labels) if s.wrong_labels else 0
        if wrong:
            ordinary = np.setdiff1d(self.organic, np.concatenate([self.victims, self.violators]))
            self.wrongly_labelled = rng.choice(ordinary, size=wrong, replace=False).tolist()
        if src:
            src_all = np.concatenate([self.follow_src, *src]).astype(np.int64)
            dst_all = np.concatenate([self.follow_dst, *dst]).astype(np.int64)
            keep = src_all != dst_all
            pairs = distinct(src_all[keep] * len(self.role) + dst_all[keep])
            self.follow_src = pairs // len(self.role)
            self.follow_dst = pairs % len(self.role)
            self._index_followers()

    def _sample_news(self, count: int) -> list[tuple[int, int]]:
        """``count`` of tier 1's posts, at random."""
        picks = self.rng.choice(
            len(self.news_posts), size=min(count, len(self.news_posts)), replace=False
        )
        return [self.news_posts[k] for k in picks.tolist()]

    # ---------------------------------------------------------- orchestrated
    def orchestrated_waves(self) -> None:
        rng, s = self.rng, self.s
        cells = {}
        if s.cell_size is not None:
            cells = {h: self._hub_members(h)[: s.cell_size[1] + 5] for h in self.tier2.tolist()}
        leaders = (
            rng.choice(self.tier2, size=min(s.spray_cells, len(self.tier2)), replace=False)
            if s.spray_cells
            else self.tier2
        )
        for _ in range(self.n(s.orchestrated_waves)):
            hub = int(rng.choice(leaders))
            victim = int(rng.choice(self.victims))
            start = int(rng.integers(self.t0 + DAY, self.t_end - 3 * DAY))
            members = cells.get(hub, self._hub_members(hub))
            members = members[self.active(members, start + 2 * HOUR)]
            if s.cell_size is not None:
                size = int(rng.integers(s.cell_size[0], s.cell_size[1] + 1))
            else:
                size = int(rng.binomial(len(members), rng.uniform(*s.participation)))
            if len(members) == 0 or size == 0:
                continue
            reporters = rng.choice(members, size=min(size, len(members)), replace=False)
            extra = round(len(reporters) * s.extra_hub_share) if s.cell_size is None else 0
            if extra:
                others = self.tier3[self.active(self.tier3, start + 2 * HOUR)]
                reporters = distinct(np.concatenate([reporters, rng.choice(others, size=extra)]))
            directive = None
            tag = f"#حملة_{int(rng.integers(100, 999))}"
            if rng.random() < s.directive_share:
                body = text.DIRECTIVE_TEMPLATES[int(rng.integers(len(text.DIRECTIVE_TEMPLATES)))]
                directive = self.posts.add(
                    hub, start, body.format(handle=self.handles[victim], tag=tag), [victim], [tag]
                )
                self._reshares(directive, reporters, start, min(30, len(reporters) // 5))
            lag = rng.uniform(*s.wave_lag_minutes) * MINUTE
            if s.arrival_spread_hours is not None:
                spread = rng.uniform(*s.arrival_spread_hours) * HOUR
                times = start + lag + rng.uniform(0, spread, size=len(reporters))
            else:
                scale = rng.uniform(*s.arrival_scale_minutes) * MINUTE
                times = start + lag + rng.gamma(s.arrival_shape, scale, size=len(reporters))
            reason = rng.choice(len(text.REASONS), size=len(reporters))
            focused = self._campaign_reasons(len(reporters))
            reason[focused >= 0] = focused[focused >= 0]
            template = text.campaign_template(rng)
            texts = text.organic_texts(rng, len(reporters))
            for i in np.flatnonzero(rng.random(len(reporters)) < s.template_share).tolist():
                texts[i] = text.vary(template, rng)
            content = self._recent_post(victim, start) if rng.random() < 0.5 else None
            self._add_wave(
                victim,
                reporters,
                times,
                reason,
                [content] * len(reporters),
                texts,
                orchestrated=True,
                orchestrators=[hub],
                directive=directive,
                hashtag=tag,
            )

    def _campaign_reasons(self, reports: int) -> np.ndarray:
        """Each report's campaign reason (-1: the reporter picked its own): one reason, or
        a few spread evenly to look like several people's choices. One reason takes the
        random draws it always took, so the older scenarios' worlds stay as they were."""
        rng, s = self.rng, self.s
        pool = [text.REASONS.index(r) for r in text.CAMPAIGN_REASONS]
        low, high = s.campaign_reasons
        count = low if low == high else int(rng.integers(low, high + 1))
        if count == 1:
            chosen = np.array([pool[int(rng.integers(len(pool)))]])
        else:
            chosen = rng.choice(pool, size=min(count, len(pool)), replace=False)
        focused = rng.random(reports) < s.reason_concentration
        picked = chosen[rng.integers(len(chosen), size=reports)] if len(chosen) > 1 else chosen[0]
        return np.where(focused, picked, -1)

    def _hub_members(self, hub: int) -> np.ndarray:
        fans = self.followers(hub)
        members: np.ndarray = fans[self.role[fans] == TIER3]
        return members

    def _recent_post(self, victim: int, before: int) -> str | None:
        earlier = [post for time, post in self.victim_posts.get(victim, []) if time < before]
        return self.posts.post_id[earlier[-1]] if earlier else None

    # --------------------------------------------------------------- organic
    def organic_waves(self) -> None:
        rng, s = self.rng, self.s
        count = self.n(s.organic_waves)
        huge = min(count, self.n(s.huge_organic_waves) if s.huge_organic_waves else 0)
        organic_pool = self.organic[~np.isin(self.organic, self.victims)]
        for index in range(count):
            is_huge = index < huge
            official = not is_huge and rng.random() < s.official_target_share
            if official:
                target = int(rng.choice(self.tier1))
            elif is_huge:
                target = int(
                    rng.choice(self.violators[np.argsort(-self.popularity[self.violators])][:5])
                )
            else:
                target = int(rng.choice(self.violators))
            start = int(rng.integers(self.t0 + DAY, self.t_end - 3 * DAY))
            category = text.REASONS.index(
                text.VIOLATION_REASONS[int(rng.integers(len(text.VIOLATION_REASONS)))]
            )
            post = self.posts.add(target, start, "violating content", hashtags=[])
            exposed = self._exposure(target, post, start, official)
            if is_huge:
                size = int(rng.integers(*s.huge_organic_size))
                delay_median = s.huge_delay_median_minutes
            else:
                size = int(rng.lognormal(np.log(s.organic_size_median), s.organic_size_sigma))
                delay_median = s.organic_delay_median_minutes
            size = max(5, size)
            exposed = exposed[self.role[exposed] == ORGANIC]
            exposed = exposed[~np.isin(exposed, self.victims)]
            if len(exposed) < size:
                # Trending content also reaches people with no follow path to it: at
                # most as many as saw it through follows, except in huge viral waves.
                missing = size - len(exposed)
                trending = missing if is_huge else min(missing, max(5, len(exposed)))
                pool = np.setdiff1d(organic_pool, exposed)
                extra = rng.choice(pool, size=min(trending, len(pool)), replace=False)
                exposed = np.concatenate([exposed, extra])
            reporters = rng.choice(exposed, size=min(size, len(exposed)), replace=False)
            if s.supporters_join_organic_share and not official:
                joiners = int(len(reporters) * s.supporters_join_organic_share)
                active = self.tier3[self.active(self.tier3, start)]
                reporters = distinct(
                    np.concatenate(
                        [
                            reporters,
                            rng.choice(active, size=min(joiners, len(active)), replace=False),
                        ]
                    )
                )
            reporters = reporters[self.created[reporters] < start]
            delays = rng.lognormal(
                np.log(delay_median * MINUTE), s.organic_delay_sigma, size=len(reporters)
            )
            times = start + MINUTE + delays
            reason = rng.choice(len(text.REASONS), size=len(reporters))
            reason[rng.random(len(reporters)) < 0.55] = category
            texts = text.organic_texts(rng, len(reporters))
            content_id = self.posts.post_id[post]
            content = [
                content_id if cited else None for cited in (rng.random(len(reporters)) < 0.9)
            ]
            self._add_wave(target, reporters, times, reason, content, texts, orchestrated=False)

    def _exposure(self, target: int, post: int, start: int, official: bool) -> np.ndarray:
        """Who could have seen the content: followers of the poster and of those who
        shared it (for official accounts, organic outlets quoting it critically)."""
        rng = self.rng
        followers = self.followers(target)
        if official:
            spreaders = rng.choice(
                self.celebrities, size=min(3, len(self.celebrities)), replace=False
            )
        else:
            fans = followers[self.role[followers] == ORGANIC]
            spreaders = self._reshares(post, fans, start, int(np.clip(len(fans) // 3, 5, 80)))
        seen = [followers, *(self.followers(int(a)) for a in spreaders)]
        return distinct(np.concatenate(seen))

    def _add_wave(
        self,
        target: int,
        reporters: np.ndarray,
        times: np.ndarray,
        reason: np.ndarray,
        content: list[str | None],
        texts: list[str | None],
        orchestrated: bool,
        orchestrators: list[int] | None = None,
        directive: int | None = None,
        hashtag: str | None = None,
    ) -> None:
        times = np.minimum(times.astype(np.int64), self.t_end - MINUTE)
        keep = self.active(reporters, times) & (reporters != target)
        if keep.sum() == 0:
            return
        reporters, times, reason = reporters[keep], times[keep], reason[keep]
        content = [c for c, k in zip(content, keep, strict=True) if k]
        texts = [t for t, k in zip(texts, keep, strict=True) if k]
        wave = len(self.waves)
        self.reports.add(
            reporters, np.full(len(reporters), target), times, reason, content, texts, wave
        )
        self.waves.append(
            {
                "target": target,
                "start": int(times.min()),
                "end": int(times.max()),
                "reporters": reporters,
                "orchestrated": orchestrated,
                "orchestrators": orchestrators or [],
                "directive": directive,
                "hashtag": hashtag,
                "reason": text.REASONS[int(np.bincount(reason).argmax())],
            }
        )

    # ------------------------------------------------------------ background
    def background(self) -> None:
        rng, s = self.rng, self.s
        count = self.n(s.background_reports)
        everyone = np.arange(len(self.role))
        weight = np.where(self.role == TIER3, s.supporter_background_factor, 1.0)
        weight[self.victims] = 0.3
        reporters = rng.choice(everyone, size=count, p=weight / weight.sum())
        targets = rng.choice(everyone, size=count, p=self.popularity / self.popularity.sum())
        times = rng.integers(self.t0, self.t_end, size=count)
        keep = (
            (reporters != targets)
            & self.active(reporters, times)
            & (self.created[targets] <= times)
        )
        reporters, targets, times = reporters[keep], targets[keep], times[keep]
        reasons = rng.choice(len(text.REASONS), size=len(reporters))
        texts = text.organic_texts(rng, len(reporters), share=0.3)
        self.reports.add(reporters, targets, times, reasons, [None] * len(reporters), texts, -1)

    # ------------------------------------------------------------- decisions
    def moderator_decisions(self) -> None:
        rng, s = self.rng, self.s
        decided: set[int] = set()
        for wave in self.waves:
            target = wave["target"]
            if target in decided:
                continue
            share = s.decided_victim_share if wave["orchestrated"] else s.decided_violator_share
            if rng.random() >= share:
                continue
            decided.add(target)
            outcome = "no_violation" if wave["orchestrated"] else "violation"
            when = wave["end"] + int(rng.integers(2 * DAY, 7 * DAY))
            self.decisions.append(
                {
                    "decision_id": f"d{len(self.decisions) + 1:07d}",
                    "target_id": self.ids[target],
                    "outcome": outcome,
                    "decided_at": iso(when),
                }
            )

    # ----------------------------------------------------------------- output
    def build(self, progress: Callable[[str], None]) -> World:
        for stage in (
            self.populations,
            self.follow_graph,
            self.suspensions,
            self.amplification,
            self.bystanders,
            self.orchestrated_waves,
            self.organic_waves,
            self.background,
            self.moderator_decisions,
        ):
            progress(stage.__name__.replace("_", " "))
            stage()
        progress("rows")
        return World(
            scenario=self.s,
            seed=self.seed,
            scale=self.scale,
            accounts=self._account_rows(),
            edges=self._edge_rows(),
            posts=self._post_rows(),
            reports=self._report_rows(),
            decisions=self.decisions,
            truth=self._truth(),
        )

    def _account_rows(self) -> list[dict[str, Any]]:
        rng = self.rng
        total = len(self.role)
        followers = np.bincount(self.follow_dst, minlength=total)
        following = np.bincount(self.follow_src, minlength=total)
        # The simulated graph is a sample of the platform: counts are drawn around it.
        counts = (
            followers * rng.uniform(5, 15, size=total) + rng.integers(0, 50, size=total)
        ).astype(np.int64)
        supporters = self.role == TIER3
        counts[supporters] = rng.lognormal(
            np.log(self.s.supporter_follower_median),
            self.s.supporter_follower_sigma,
            size=int(supporters.sum()),
        ).astype(np.int64)
        counts[self.tier2] = rng.lognormal(np.log(5_000), 0.8, size=len(self.tier2)).astype(
            np.int64
        )
        counts[self.tier1] = rng.lognormal(np.log(20_000), 0.6, size=len(self.tier1)).astype(
            np.int64
        )
        verified = np.zeros(total, dtype=bool)
        verified[self.celebrities] = rng.random(len(self.celebrities)) < 0.3
        labelled = set(self.labelled_victims.tolist())
        wrongly_labelled = set(self.wrongly_labelled)
        labels_pool = ("journalist", "counter_extremism", "government", "researcher")
        rows = []
        for i in range(total):
            row: dict[str, Any] = {
                "account_id": self.ids[i],
                "handle": self.handles[i],
                "created_at": iso(self.created[i]),
                "followers_count": int(counts[i]),
                "following_count": int(following[i] * 8 + 10),
                "verified": bool(verified[i]),
                "status": "active",
            }
            if i in labelled:
                row["labels"] = [labels_pool[int(rng.integers(len(labels_pool)))]]
            elif i in self.bystander_kind and rng.random() < 0.6:
                row["labels"] = [self.bystander_kind[i]]
            elif i in wrongly_labelled:
                row["labels"] = [MEMBER_LABEL]
            if self.suspended_at[i] >= 0:
                row["status"] = "suspended"
                row["status_changed_at"] = iso(self.suspended_at[i])
            rows.append(row)
        return rows

    def _edge_rows(self) -> list[dict[str, Any]]:
        ids = self.ids
        rows = [
            {"src": ids[a], "dst": ids[b], "kind": "follow"}
            for a, b in zip(self.follow_src.tolist(), self.follow_dst.tolist(), strict=True)
        ]
        interactions: dict[tuple[int, int, str], list[int]] = {}
        posts = self.posts
        for author, time, original, mentions in zip(
            posts.author, posts.time, posts.reshare_of, posts.mentions, strict=True
        ):
            if original >= 0 and posts.author[original] != author:
                entry = interactions.setdefault(
                    (author, posts.author[original], "retweet"), [0, time]
                )
                entry[0] += 1
                entry[1] = min(entry[1], time)
            for mentioned in mentions:
                entry = interactions.setdefault((author, mentioned, "mention"), [0, time])
                entry[0] += 1
                entry[1] = min(entry[1], time)
        rows += [
            {"src": ids[a], "dst": ids[b], "kind": kind, "weight": weight, "created_at": iso(first)}
            for (a, b, kind), (weight, first) in interactions.items()
        ]
        return rows

    def _post_rows(self) -> list[dict[str, Any]]:
        p, ids = self.posts, self.ids
        order = np.argsort(np.array(p.time), kind="stable")
        rows = []
        for i in order.tolist():
            row: dict[str, Any] = {
                "post_id": p.post_id[i],
                "author_id": ids[p.author[i]],
                "created_at": iso(p.time[i]),
            }
            if p.text[i] is not None:
                row["text"] = p.text[i]
            if p.mentions[i]:
                row["mentions"] = [ids[m] for m in p.mentions[i]]
            if p.hashtags[i]:
                row["hashtags"] = p.hashtags[i]
            if p.reshare_of[i] >= 0:
                row["reshare_of"] = p.post_id[p.reshare_of[i]]
            rows.append(row)
        return rows

    def _report_rows(self) -> list[dict[str, Any]]:
        r, ids = self.reports, self.ids
        reporter = np.concatenate(r.reporter)
        target = np.concatenate(r.target)
        time = np.concatenate(r.time)
        reason = np.concatenate(r.reason)
        content = [c for chunk in r.content for c in chunk]
        texts = [t for chunk in r.text for t in chunk]
        order = np.argsort(time, kind="stable")
        self.report_wave = np.concatenate(r.wave)[order]
        rows = []
        for number, i in enumerate(order.tolist(), start=1):
            row: dict[str, Any] = {
                "event_id": f"r{number:09d}",
                "reporter_id": ids[reporter[i]],
                "target_id": ids[target[i]],
                "reason": text.REASONS[reason[i]],
                "created_at": iso(time[i]),
            }
            if content[i] is not None:
                row["content_id"] = content[i]
            if texts[i] is not None:
                row["text"] = texts[i]
            rows.append(row)
        return rows

    def _truth(self) -> dict[str, Any]:
        ids = self.ids
        in_network = (self.role >= TIER1) & (self.role <= TIER3)
        tiers = {ids[i]: int(self.role[i]) for i in np.flatnonzero(in_network).tolist()}
        members: dict[int, list[str]] = {hub: [] for hub in self.tier2.tolist()}
        for member, hub in self.primary_hub.items():
            members[hub].append(ids[member])
        hubs = [{"account_id": ids[hub], "members": sorted(m)} for hub, m in members.items()]
        waves = []
        orchestrated_reporters: set[str] = set()
        for number, wave in enumerate(self.waves, start=1):
            reporters = sorted({ids[a] for a in wave["reporters"].tolist()})
            if wave["orchestrated"]:
                orchestrated_reporters.update(reporters)
            waves.append(
                {
                    "wave_id": f"w{number:05d}",
                    "target_id": ids[wave["target"]],
                    "start": iso(wave["start"]),
                    "end": iso(wave["end"]),
                    "orchestrated": wave["orchestrated"],
                    "orchestrators": [ids[o] for o in wave["orchestrators"]],
                    "directive_post_id": self.posts.post_id[wave["directive"]]
                    if wave["directive"] is not None
                    else None,
                    "campaign_hashtag": wave["hashtag"],
                    "reason": wave["reason"],
                    "report_count": len(wave["reporters"]),
                    "reporters": reporters,
                }
            )
        return {
            "scenario": self.s.name,
            "seed": self.seed,
            "scale": self.scale,
            "period": {"start": iso(self.t0), "end": iso(self.t_end)},
            "tiers": tiers,
            "supervisor": ids[self.supervisor],
            "victims": sorted(ids[v] for v in self.victims.tolist()),
            "labelled_victims": sorted(ids[v] for v in self.labelled_victims.tolist()),
            "violators": sorted(ids[v] for v in self.violators.tolist()),
            "hubs": hubs,
            "waves": waves,
            "orchestrated_reporters": sorted(orchestrated_reporters),
            "recreated": [
                {"account_id": ids[new], "recreated_from": ids[old]}
                for new, old in self.recreated_pairs
            ],
            "bystanders": [
                {"account_id": ids[a], "kind": kind} for a, kind in self.bystander_kind.items()
            ]
            + [{"account_id": ids[a], "kind": "viral_retweeter"} for a in self.viral_retweeters],
            "lookalikes": sorted(ids[a] for a in self.lookalike_accounts),
            "wrongly_labelled": sorted(ids[a] for a in self.wrongly_labelled),
        }


STAGES = 10


def generate(
    scenario: Scenario,
    seed: int,
    scale: float = 1.0,
    progress: Callable[[str], None] = lambda _stage: None,
) -> World:
    """Generate the world of ``scenario``; the same arguments give the same world.

    ``progress`` is called with the name of each of the ``STAGES`` stages as it starts.
    """
    return _Builder(scenario, seed, scale).build(progress)
