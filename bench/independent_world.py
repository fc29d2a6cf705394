"""An independent synthetic world of coordinated and organic mass reporting.

This generator was written without reading the project's own simulator or detector, so
that the detector can be checked on data it was not tuned on. It models the phenomena of
``SCENARIOS.md`` with its own choices:

- organic popularity is Pareto-tailed and the follow graph is built by popularity-weighted
  attachment inside language communities (Arabic and English);
- organic report waves are retweet cascades (a branching, self-exciting process over the
  follow graph plus "trending" exposure of non-followers); each exposed user may report
  after a lognormal reaction delay, so arrivals rise and decay over hours;
- orchestrated waves come from hubs (a tier-2 account and its followers) or, in the
  ``rotating`` family, from overlapping brigades whose members join only some waves;
  arrivals are either a burst or spread over many hours with lognormal inter-arrival gaps;
- campaign texts are Arabic or English templates perturbed per report (diacritics, tatweel,
  alef / yaa / taa-marbuta variants, punctuation); organic texts are composed at random;
- background reports follow a diurnal cycle, with a heavy-tailed reporting propensity per
  account; popular accounts are reported every day;
- supporters are suspended and come back under a variant handle, following the same
  accounts, first surfacing by resharing a campaign hashtag post.

Usage::

    python -m bench.independent_world --family mixed --seed 1 --out /tmp/world [--scale 1]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

FAMILIES = ("mixed", "stealth", "viral", "rotating", "hidden", "spraying", "bystanders")

FAMILY_NOTES = {
    "mixed": "a realistic mix: hub brigades with directives, some off-platform orders, "
    "bursts and slow waves, small cells, organic cascades, re-created supporters",
    "stealth": "orchestrated waves spread over 6-36 h with lognormal gaps, old camouflaged "
    "reporters, varied reasons, no directive posts, little duplicate text",
    "viral": "many huge organic retweet cascades (hundreds to thousands of reporters, many "
    "not following the target) and a few small orchestrated waves",
    "rotating": "overlapping brigades whose members join 30-50% of waves, with organic "
    "reports arriving on the same targets during the waves",
    "hidden": "every evasion together: campaigns drift in over 12-48 h, no directive posts, "
    "aged supporters who report ordinarily too, own words, two to four reasons, and only "
    "about half of each crowd drawn from the hub's followers",
    "spraying": "a handful of small fixed cells, each hitting a hundred or more victims with "
    "3-10 reports apiece, so no victim sees a big wave",
    "bystanders": "the mixed world plus onlookers who watch the network for a living "
    "(journalists, researchers, outlets, monitors: they follow, quote and reply to the "
    "officials and some supporters), users who reshare a viral official post, sign-ups "
    "named like suspended supporters that surface on a campaign hashtag, and wrong "
    "extremist labels",
}

MINUTE = 60
HOUR = 3_600
DAY = 86_400
EPOCH_LO = 1_451_606_400  # 2016-01-01
EPOCH_HI = 1_525_132_800  # 2018-05-01

REASONS = (
    "spam",
    "violence",
    "terrorism",
    "hate",
    "harassment",
    "impersonation",
    "sexual",
    "self_harm",
    "misinformation",
    "other",
)
BACKGROUND_MIX = np.array([0.30, 0.05, 0.03, 0.11, 0.15, 0.05, 0.07, 0.02, 0.13, 0.09])
EXTREMIST_MIX = np.array([0.04, 0.22, 0.46, 0.16, 0.03, 0.01, 0.0, 0.0, 0.03, 0.05])
POPULAR_MIX = np.array([0.15, 0.03, 0.01, 0.2, 0.16, 0.1, 0.02, 0.01, 0.22, 0.1])
CAMPAIGN_REASONS = ("terrorism", "hate", "harassment", "impersonation", "spam", "sexual")
CAMPAIGN_WEIGHTS = np.array([0.3, 0.25, 0.15, 0.12, 0.1, 0.08])

# Hour-of-day (UTC) activity, peaking in the evening of the Middle East.
DIURNAL = np.array(
    [
        *(0.32, 0.24, 0.18, 0.15, 0.15, 0.2, 0.3, 0.45, 0.6, 0.7, 0.75, 0.8),
        *(0.84, 0.86, 0.9, 0.95, 1.0, 1.0, 1.0, 0.96, 0.86, 0.7, 0.55, 0.42),
    ]
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


EN_FIRST = _words(
    "james sarah mike emma dan laura chris olivia tom kate alex nina sam lucy ben anna matt "
    "julia ryan zoe mark ella paul mia jack amy luke sofia adam rachel"
)
EN_LAST = _words(
    "smith jones walker reed hughes baker clarke morgan price bell cole foster gray hunt lane "
    "marsh nash porter quinn rhodes shaw tate vance wells young fisher hayes lloyd brooks dunn"
)
AR_FIRST = _words(
    "ahmed mohammed ali omar hassan hussein karim zainab fatima noor sara layla yousef khalid "
    "mustafa haider ammar rana huda saif bilal tariq maryam hamza ibrahim salim jasim farah "
    "dalia abbas"
)
AR_FIRST_SCRIPT = _words(
    "أحمد محمد علي عمر حسن حسين كريم زينب فاطمة نور سارة ليلى يوسف خالد مصطفى حيدر عمار رنا "
    "هدى سيف بلال طارق مريم حمزة إبراهيم سالم جاسم فرح داليا عباس"
)
AR_LAST = _words(
    "alobaidi aljubouri alsaadi hashimi kareem aldulaimi tamimi alkhafaji mosuli baghdadi "
    "basri halabi shammari zubaidi alani rawi hadithi alhamdani najjar saleh mansour haddad "
    "khoury nasser darwish qasim fadhil salman rashid jaber"
)
AR_LAST_SCRIPT = _words(
    "العبيدي الجبوري الساعدي الهاشمي كريم الدليمي التميمي الخفاجي الموصلي البغدادي البصري "
    "الحلبي الشمري الزبيدي العاني الراوي الحديثي الحمداني النجار صالح منصور حداد خوري ناصر "
    "درويش قاسم فاضل سلمان راشد جابر"
)
KUNYA = _words(
    "hamza qaqaa muhammad abdullah omar usama musab talha zubair khattab dujana bakr hafs "
    "ubaidah waleed anas yahya suhaib thabit harith"
)
KUNYA_SCRIPT = _words(
    "حمزة القعقاع محمد عبدالله عمر أسامة مصعب طلحة الزبير خطاب دجانة بكر حفص عبيدة الوليد "
    "أنس يحيى صهيب ثابت الحارث"
)
NISBA = _words(
    "ansari muhajir iraqi shami maghribi tunisi libi jazrawi masri urduni kurdi almani "
    "faransi britani sumali yemeni najdi halabi mosuli raqqawi"
)
NISBA_SCRIPT = _words(
    "الأنصاري المهاجر العراقي الشامي المغربي التونسي الليبي الجزراوي المصري الأردني الكردي "
    "الألماني الفرنسي البريطاني الصومالي اليمني النجدي الحلبي الموصلي الرقاوي"
)
PROVINCES = _words(
    "ninawa raqqa halab anbar kirkuk barakah khayr dijla janub sinai tarabulus khurasan "
    "salahuddin fallujah jazirah hims dimashq diyala"
)
PROVINCES_SCRIPT = _words(
    "نينوى الرقة حلب الأنبار كركوك البركة الخير دجلة الجنوب سيناء طرابلس خراسان صلاح_الدين "
    "الفلوجة الجزيرة حمص دمشق ديالى"
)
INSTITUTION_WORDS = _words(
    "nur ghuraba sabil bayan minbar ribat tawhid sawarim qaswarah battar wafa yaqeen muntasir "
    "thabat hisn basair rayat isdar nashir asawirti fursan malahim jihad_press huda_echo"
)
HASHTAGS = (
    "أخبار_الولايات",
    "الإصدار_الجديد",
    "حصاد_الأسبوع",
    "نشرة_البيان",
    "ولاية_نينوى",
    "ولاية_الرقة",
    "غزوة_الأنصار",
    "صوت_الخلافة",
)

ORGANIC_EN = {
    "spam": [
        "keeps posting the same spam links",
        "spam bot selling followers",
        "crypto scam links everywhere",
        "posting the same ad over and over",
    ],
    "violence": [
        "posted a video of people being killed",
        "graphic violence, nobody should see this",
        "glorifies the attack on civilians",
        "threatening to hurt people",
    ],
    "terrorism": [
        "promotes ISIS propaganda",
        "recruiting for a terrorist group",
        "shares terrorist videos",
        "praising the bombing",
        "jihadist propaganda account",
    ],
    "hate": [
        "hate speech against shia muslims",
        "racist slurs in every post",
        "attacks people for their religion",
        "dehumanising language about refugees",
    ],
    "harassment": [
        "harassing me and my friends",
        "sending threats in DMs",
        "keeps tagging me with insults",
        "bullying a teenager",
    ],
    "impersonation": [
        "fake account pretending to be someone else",
        "impersonating a news outlet",
        "this is not the real person",
    ],
    "sexual": ["porn in the timeline", "sexual content with no warning", "explicit images"],
    "self_harm": ["encouraging self harm", "posting about suicide methods"],
    "misinformation": [
        "spreading fake news about the elections",
        "completely made up story",
        "false claims about the vaccine",
        "doctored photos",
    ],
    "other": ["just offensive", "very abusive content", "not ok", "please review"],
}
ORGANIC_AR = {
    "spam": ["حساب سبام", "روابط احتيال", "إعلانات مزعجة ومكررة", "يبيع متابعين"],
    "violence": ["ينشر صور قتل", "تهديد بالقتل", "فيديو عنيف جدا", "يمجد الهجوم على المدنيين"],
    "terrorism": [
        "حساب ينشر دعاية داعش",
        "يروج للإرهاب",
        "ينشر فيديوهات الذبح",
        "حساب تابع لتنظيم إرهابي",
        "يجند الشباب للقتال",
    ],
    "hate": ["خطاب كراهية طائفي", "يسب الناس بسبب دينهم", "عنصري جدا"],
    "harassment": ["يتحرش بي ويرسل رسائل مسيئة", "تنمر وشتائم", "يهددني في الخاص"],
    "impersonation": ["حساب منتحل", "ينتحل شخصية صحفي", "حساب وهمي باسم شخص معروف"],
    "sexual": ["محتوى إباحي", "صور خادشة"],
    "self_harm": ["يشجع على إيذاء النفس"],
    "misinformation": ["ينشر أخبار كاذبة", "إشاعات لا أساس لها", "صور مفبركة"],
    "other": ["محتوى مسيء", "مخالف", "ارجو المراجعة"],
}
OPENERS_EN = ["", "", "This account ", "this user ", "Reporting because it ", "pls check, "]
CLOSERS_EN = ["", "", ".", "!!", " please remove", " #report", " - again", ", third time"]
OPENERS_AR = ["", "", "السلام عليكم ", "ارجو مراجعة الحساب ", "بلاغ: ", "للأسف "]
CLOSERS_AR = ["", "", "!!", " ارجو الحذف", " شكرا", " 🙏", "."]

# Campaign templates: (language, natural reason, text). {h} is the victim's handle.
TEMPLATES = (
    ("ar", "hate", "هذا الحساب يسيء للإسلام والمسلمين وينشر الكراهية، نرجو إغلاقه فوراً"),
    ("ar", "terrorism", "حساب رافضي يحرض على قتل أهل السنة ويدعم الميليشيات، الرجاء حذفه"),
    ("ar", "impersonation", "صاحب هذا الحساب ينتحل صفة صحفي وينشر الأكاذيب عن المسلمين"),
    ("ar", "harassment", "حساب مخابراتي يتجسس على الإخوة ويهددهم، أغلقوه"),
    ("ar", "sexual", "ينشر صورا إباحية ومحتوى مخلا بالآداب العامة، يجب إيقافه"),
    ("ar", "hate", "@{h} يسب الدين ويستهزئ بالمسلمين، بلغوا عنه"),
    ("en", "hate", "This account spreads hatred against Muslims and incites violence. Suspend it."),
    ("en", "harassment", "This user harasses and threatens women. Please ban this account."),
    ("en", "impersonation", "Fake journalist account spreading lies about us. Remove it."),
    ("en", "spam", "Spam account posting scam links. @{h} must be removed"),
)
DIRECTIVES_AR = (
    "⚠️ حساب معادٍ يحرض على الإخوة @{h} .. بلغوا عنه جميعا #{tag}",
    "إلى الأنصار: أغلقوا حساب @{h} الخبيث، التبليغ بسبب {r} #{tag}",
    "@{h} هذا المخابراتي يهاجم الدولة، بلغوا ولا تتكاسلوا #{tag}",
    "هدف جديد للتبليغ: @{h} — انشروا #{tag}",
)
DIRECTIVES_EN = ("Brothers, report @{h} now. Reason: {r}. Spread the word #{tag}",)
DEFAMATION = (
    "@{h} عميل للمخابرات",
    "@{h} كذاب ومنافق",
    "@{h} يعمل للصليبيين",
    "@{h} is a paid liar",
    "لا تصدقوا @{h}",
)
NEWS_EVENTS = (
    "إصدار مرئي جديد",
    "حصاد الأسبوع من المعارك",
    "بيان رسمي",
    "صور من الجبهات",
    "نشرة الأخبار اليومية",
    "كلمة صوتية",
)
CHATTER_EN = (
    "Good morning everyone",
    "Can't believe that match last night",
    "Reading about {t}",
    "Coffee first.",
    "New blog post is up",
    "Traffic is insane today",
    "Happy birthday bro!",
    "Anyone watching the news?",
    "Thoughts on {t}?",
    "Long day at work",
)
CHATTER_AR = (
    "صباح الخير",
    "مبروك للفريق",
    "الجو حار جدا اليوم",
    "قرأت مقالا رائعا عن {t}",
    "الله يرحمه",
    "أخبار سيئة من المدينة",
    "ما رأيكم في {t}؟",
    "جمعة مباركة",
)
TOPICS = (
    "how extremist groups recruit online",
    "life in Mosul under occupation",
    "propaganda networks on social media",
    "the financing of armed groups",
    "returning foreign fighters",
    "reconstruction in Anbar",
    "displaced families in camps",
)
VIOLATING = (
    "[graphic execution video]",
    "[image: mutilated bodies] they deserve it",
    "[hate speech against a minority]",
    "[call to attack civilians]",
    "[فيديو إعدام]",
    "[دعوة للقتل]",
    "[صور جثث] هذا جزاؤهم",
    "[recruitment video for fighters]",
)
ONLOOKER_NOTES = (
    "Claimed by the group's media office; we have not verified it.",
    "Analysis: this release recycles footage from last year.",
    "Note the new hashtag the network is pushing today.",
    "قراءة: الإصدار يعيد نشر مواد قديمة",
    "Reporting on this claim, thread below",
    "This account's output fell by half this month.",
)
HARAKAT = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652"
TATWEEL = "\u0640"
# Arabic letters that join to the following letter (where a tatweel may be inserted).
JOINING = set("بتثجحخسشصضطظعغفقكلمنهيئ")


@dataclass(frozen=True)
class Knobs:
    organic: int = 11_000
    officials: int = 16
    institutions: int = 44
    supporters: int = 3_600
    victims: int = 56
    violators: int = 40
    orchestrated_waves: int = 42
    organic_waves: int = 40
    official_wave_share: float = 0.2
    brigades: int = 0  # 0: waves come from hubs; >0: overlapping brigades
    participation: tuple[float, float] = (0.3, 0.5)
    brigade_size: tuple[int, int] = (40, 170)
    orch_median: float = 80.0
    orch_sigma: float = 0.75
    orch_bounds: tuple[int, int] = (12, 700)
    cell_share: float = 0.1
    burst_share: float = 0.75
    burst_minutes: tuple[float, float] = (12.0, 240.0)
    spread_hours: tuple[float, float] = (3.0, 14.0)
    directive_share: float = 0.75
    reason_focus: float = 0.87
    template_share: float = 0.75
    template_use: float = 0.85
    orch_content_share: float = 0.35
    double_report_share: float = 0.12
    hub_report_share: float = 0.2
    defamation_posts: tuple[int, int] = (0, 8)
    old_supporter_share: float = 0.3
    camouflage_reports: float = 0.4
    camouflage_follows: tuple[int, int] = (0, 5)
    concurrent_organic: tuple[int, int] = (0, 3)
    organic_median: float = 110.0
    organic_sigma: float = 1.0
    organic_bounds: tuple[int, int] = (15, 2_500)
    retweet_prob: float = 0.035
    trending_share: float = 0.15
    background_rate: float = 0.11
    popular_daily: int = 50
    suspension_share: float = 0.12
    victim_suspension_share: float = 0.08
    span_days: tuple[int, int] = (24, 40)
    reasons_per_campaign: tuple[int, int] = (1, 1)
    outside_share: float = 0.0  # share of a hub wave's crowd recruited from other hubs
    spray_cells: int = 0  # >0: every wave comes from one of this many small fixed cells
    spray_cell_size: tuple[int, int] = (7, 13)
    spray_reports: tuple[int, int] = (3, 10)
    # people around the network but not of it
    onlookers: int = 0  # journalists, researchers, outlets, monitors watching the officials
    sharers: int = 0  # ordinary users who reshare a viral official post
    namesakes: int = 0  # new sign-ups whose handle varies a suspended supporter's
    mislabelled: int = 0  # ordinary accounts carrying a wrong "extremist" label


# Each family changes the default knobs as listed (mixed: none).
FAMILY_KNOBS: dict[str, dict[str, Any]] = {
    "stealth": dict(
        burst_share=0.0,
        spread_hours=(6.0, 36.0),
        directive_share=0.0,
        reason_focus=0.3,
        template_share=0.05,
        template_use=0.3,
        old_supporter_share=0.9,
        camouflage_reports=1.2,
        camouflage_follows=(8, 40),
        defamation_posts=(0, 0),
        double_report_share=0.03,
        hub_report_share=0.0,
        orch_median=45.0,
        orch_sigma=0.7,
        orch_bounds=(6, 300),
        cell_share=0.2,
        orch_content_share=0.2,
    ),
    "viral": dict(
        organic=17_000,
        organic_waves=55,
        organic_median=650.0,
        organic_sigma=0.75,
        organic_bounds=(150, 3_500),
        retweet_prob=0.08,
        trending_share=0.35,
        orchestrated_waves=10,
        orch_median=22.0,
        orch_sigma=0.5,
        orch_bounds=(8, 45),
        cell_share=0.0,
        background_rate=0.06,
    ),
    "hidden": dict(
        burst_share=0.0,
        spread_hours=(12.0, 48.0),
        directive_share=0.0,
        reason_focus=0.92,
        reasons_per_campaign=(2, 4),
        template_share=0.0,
        old_supporter_share=0.95,
        camouflage_reports=1.5,
        camouflage_follows=(6, 30),
        defamation_posts=(0, 0),
        hub_report_share=0.0,
        double_report_share=0.04,
        outside_share=0.5,
        orch_median=50.0,
        orch_bounds=(8, 320),
        cell_share=0.15,
    ),
    "spraying": dict(
        victims=380,
        orchestrated_waves=420,
        spray_cells=5,
        directive_share=0.25,
        template_share=0.4,
        defamation_posts=(0, 1),
        hub_report_share=0.0,
    ),
    "bystanders": dict(onlookers=160, sharers=700, namesakes=300, mislabelled=50),
    "rotating": dict(
        brigades=11,
        orchestrated_waves=60,
        concurrent_organic=(6, 30),
        directive_share=0.5,
        reason_focus=0.7,
        template_share=0.5,
        burst_share=0.6,
        spread_hours=(2.0, 10.0),
    ),
}


def knobs_for(family: str, scale: float = 1.0) -> Knobs:
    """The knobs of a family at a scale (populations and wave counts grow with it)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    k = replace(Knobs(), **FAMILY_KNOBS.get(family, {}))
    root = math.sqrt(scale)
    return replace(
        k,
        organic=max(400, round(k.organic * scale)),
        supporters=max(120, round(k.supporters * scale)),
        officials=max(3, round(k.officials * root)),
        institutions=max(4, round(k.institutions * root)),
        victims=max(4, round(k.victims * scale)),
        violators=max(4, round(k.violators * scale)),
        orchestrated_waves=max(3, round(k.orchestrated_waves * scale)),
        organic_waves=max(3, round(k.organic_waves * scale)),
        brigades=max(2, round(k.brigades * root)) if k.brigades else 0,
        spray_cells=max(2, round(k.spray_cells * root)) if k.spray_cells else 0,
        popular_daily=max(5, round(k.popular_daily * scale)),
        onlookers=round(k.onlookers * scale),
        sharers=round(k.sharers * scale),
        namesakes=round(k.namesakes * scale),
        mislabelled=k.mislabelled,
    )


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))


def _ln(rng: np.random.Generator, median: float, sigma: float, size: Any = None) -> Any:
    return median * np.exp(sigma * rng.standard_normal(size))


def _weighted_sample(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` items drawn without replacement with probability ~ weights (Gumbel)."""
    n = min(n, int((weights > 0).sum()))
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    keys = np.where(weights > 0, np.log(np.maximum(weights, 1e-300)), -np.inf)
    keys = keys + rng.gumbel(size=weights.size)
    return np.argpartition(-keys, n - 1)[:n]


def _pick_cum(rng: np.random.Generator, cum: np.ndarray, n: int) -> np.ndarray:
    idx = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    return np.minimum(idx, cum.size - 1)


def _diurnal_times(rng: np.random.Generator, lo: Any, hi: Any) -> np.ndarray:
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    out = lo + rng.random(lo.shape) * (hi - lo)
    todo = np.arange(lo.size)
    for _ in range(12):
        hours = ((out[todo] % DAY) // HOUR).astype(int)
        todo = todo[rng.random(todo.size) > DIURNAL[hours]]
        if todo.size == 0:
            break
        out[todo] = lo[todo] + rng.random(todo.size) * (hi[todo] - lo[todo])
    return out


def _csr(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, values[order]


def _gather(ptr: np.ndarray, idx: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The neighbours of ``nodes`` in a CSR and, for each, the position of its node."""
    starts = ptr[nodes]
    counts = ptr[nodes + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    owner = np.repeat(np.arange(nodes.size), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return idx[starts[owner] + offsets], owner


def _perturb_arabic(py: random.Random, text: str) -> str:
    """A near-duplicate of ``text``: diacritics, tatweel, alef/yaa/taa variants, punctuation."""
    for op in py.sample(range(6), k=py.randint(1, 3)):
        if op == 0:
            text = "".join(
                ch + py.choice(HARAKAT) if "\u0621" <= ch <= "\u064a" and py.random() < 0.1 else ch
                for ch in text
            )
        elif op == 1:
            spots = [i for i in range(len(text) - 1) if text[i] in JOINING and text[i + 1] != " "]
            for i in sorted(py.sample(spots, k=min(len(spots), py.randint(1, 3))), reverse=True):
                text = text[: i + 1] + TATWEEL * py.randint(1, 3) + text[i + 1 :]
        elif op == 2:
            words = text.split(" ")
            for j, word in enumerate(words):
                if word[:1] in "اأإآ" and py.random() < 0.6:
                    words[j] = py.choice("اأإ") + word[1:]
            text = " ".join(words)
        elif op == 3:
            text = " ".join(
                w[:-1] + ("ى" if w[-1] == "ي" else "ي") if w[-1:] in "يى" and w else w
                for w in text.split(" ")
            )
        elif op == 4:
            text = text.replace("ة ", "ه ") if py.random() < 0.5 else text.replace("ه ", "ة ")
        else:
            text = text.replace("،", py.choice([",", " ،", "،،"])) + py.choice(
                ["", " !!", " 🔴", "..", " ⚠️", "‼️", " #بلغ"]
            )
    return text


def _perturb_english(py: random.Random, text: str) -> str:
    for op in py.sample(range(5), k=py.randint(1, 2)):
        if op == 0:
            text = text.lower()
        elif op == 1:
            text = text.replace("Please", py.choice(["pls", "Please", "PLEASE", "plz"]))
        elif op == 2:
            text = text.rstrip(".") + py.choice(["!!", "!!!", ".", " !", ""])
        elif op == 3:
            text = text.replace(". ", py.choice([". ", "  ", ", ", " - "]))
        else:
            text = py.choice(["", "URGENT: ", "Report: ", "!! "]) + text
    return text


def _organic_text(py: random.Random, reason: str, lang: str) -> str:
    if lang == "ar":
        text = py.choice(OPENERS_AR) + py.choice(ORGANIC_AR[reason]) + py.choice(CLOSERS_AR)
    else:
        text = py.choice(OPENERS_EN) + py.choice(ORGANIC_EN[reason]) + py.choice(CLOSERS_EN)
        if py.random() < 0.3:
            text = text.lower()
    if len(text) > 12 and py.random() < 0.12:
        i = py.randrange(len(text))
        text = text[:i] + text[i + 1 :]
    return text.strip() or "report"


class _World:
    def __init__(self, family: str, seed: int, scale: float) -> None:
        self.family = family
        self.seed = seed
        self.scale = scale
        self.k = knobs_for(family, scale)
        self.rng = np.random.default_rng([seed, FAMILIES.index(family), 4_711])
        self.py = random.Random(int(self.rng.integers(2**62)))
        k, rng = self.k, self.rng
        self.t0 = EPOCH_LO + int(rng.integers(0, (EPOCH_HI - EPOCH_LO) // DAY)) * DAY
        self.t1 = self.t0 + int(rng.integers(k.span_days[0], k.span_days[1] + 1)) * DAY
        # account columns
        self.ids: list[str] = []
        self.handles: list[str] = []
        self.display: list[str] = []
        self.created_l: list[float] = []
        self.end_l: list[float] = []
        self.status: list[str] = []
        self.followers_count: list[int] = []
        self.verified: list[bool] = []
        self.labels: list[list[str]] = []
        self.role: list[str] = []
        self.lang: list[str] = []
        self._numbers: set[int] = set()
        self._used_handles: set[str] = set()
        self._tokens: set[str] = set()
        self._token_buffer: list[int] = []
        self.tier: dict[int, int] = {}
        # follow edges
        self.f_src: list[np.ndarray] = []
        self.f_dst: list[np.ndarray] = []
        self.f_time: list[np.ndarray] = []
        # content
        self.posts: list[dict[str, Any]] = []
        self.bg_reports: list[tuple[int, int, int, str, str | None, str | None]] = []
        self.wave_reports: list[list[tuple[int, int, int, str, str | None, str | None]]] = []
        self.waves: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.busy: dict[int, list[tuple[float, float]]] = {}

    # ----------------------------------------------------------------- identities
    def _token(self) -> str:
        while True:
            if not self._token_buffer:
                self._token_buffer = self.rng.integers(0, 2**44, size=4096).tolist()
            token = format(self._token_buffer.pop(), "011x")
            if token not in self._tokens:
                self._tokens.add(token)
                return token

    def _account_id(self) -> str:
        while True:
            number = int(self.rng.integers(10_000, 99_999_999))
            if number not in self._numbers:
                self._numbers.add(number)
                return f"u_{number}"

    def _claim(self, make: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        """A (handle, display name) from ``make`` whose handle is still free."""
        handle, display = make()
        for _ in range(40):
            if handle not in self._used_handles:
                break
            handle, display = make()
        else:
            base = handle
            while handle in self._used_handles:
                handle = f"{base}_{self.py.randint(1, 9999)}"
        self._used_handles.add(handle)
        return handle, display

    def _add(
        self,
        handle: str,
        display: str,
        created: float,
        followers: int,
        role: str,
        lang: str,
        verified: bool = False,
        labels: Sequence[str] = (),
    ) -> int:
        self.ids.append(self._account_id())
        self.handles.append(handle)
        self.display.append(display)
        self.created_l.append(float(int(created)))
        self.end_l.append(math.inf)
        self.status.append("active")
        self.followers_count.append(int(followers))
        self.verified.append(verified)
        self.labels.append(list(labels))
        self.role.append(role)
        self.lang.append(lang)
        return len(self.ids) - 1

    def _organic_name(self, lang: str) -> tuple[str, str]:
        py = self.py
        if lang == "ar":
            i, j = py.randrange(len(AR_FIRST)), py.randrange(len(AR_LAST))
            first, last = AR_FIRST[i], AR_LAST[j]
            display = (
                f"{AR_FIRST_SCRIPT[i]} {AR_LAST_SCRIPT[j]}"
                if py.random() < 0.55
                else f"{first.title()} {last.title()}"
            )
        else:
            first, last = py.choice(EN_FIRST), py.choice(EN_LAST)
            display = f"{first.title()} {last.title()}"
        style = py.randrange(5)
        if style == 0:
            handle = f"{first}_{last}"
        elif style == 1:
            handle = f"{first}{last}{py.randint(1, 99)}"
        elif style == 2:
            handle = f"{first}.{last}"
        elif style == 3:
            handle = f"{first[0]}{last}{py.randint(100, 9999)}"
        else:
            handle = f"the{first}{py.randint(1, 999)}"
        return handle, display

    def _supporter_name(self) -> tuple[str, str]:
        py = self.py
        i, j = py.randrange(len(KUNYA)), py.randrange(len(NISBA))
        digits = str(py.randint(1, 999)) if py.random() < 0.7 else ""
        style = py.randrange(4)
        if style == 0:
            handle = f"abu_{KUNYA[i]}_{NISBA[j]}{digits}"
        elif style == 1:
            handle = f"{KUNYA[i]}_{NISBA[j]}{digits}"
        elif style == 2:
            handle = f"abu{KUNYA[i]}{digits or py.randint(1, 99)}"
        else:
            handle = f"ibn_{NISBA[j]}_{digits or py.randint(1, 999)}"
        return handle, f"أبو {KUNYA_SCRIPT[i]} {NISBA_SCRIPT[j]}"

    def _variant_handle(self, handle: str, display: str) -> tuple[str, str]:
        return self._claim(lambda: (self._variant_once(handle), display))

    def _variant_once(self, handle: str) -> str:
        py = self.py
        stem = handle.rstrip("0123456789")
        tail = handle[len(stem) :]
        choice = py.random()
        if tail and choice < 0.6:
            new = f"{stem}{int(tail) + py.randint(1, 4)}"
        elif choice < 0.75:
            new = f"{handle}{py.randint(2, 9)}"
        elif choice < 0.9:
            new = handle.replace("_", ".", 1) if "_" in handle else f"_{handle}"
        else:
            pos = py.randrange(max(1, len(stem)))
            new = handle[: pos + 1] + handle[pos] + handle[pos + 1 :]
        return new

    # ----------------------------------------------------------------- population
    def build_population(self) -> None:
        k, rng, py = self.k, self.rng, self.py
        n = k.organic
        self.n_comm = max(6, round(22 * math.sqrt(self.scale)))
        comm_lang = np.where(rng.random(self.n_comm) < 0.5, "ar", "en")
        comm_size = rng.dirichlet(np.full(self.n_comm, 1.5))
        self.comm = rng.choice(self.n_comm, size=n, p=comm_size)
        home = comm_lang[self.comm]
        lang = np.where(rng.random(n) < 0.9, home, np.where(home == "ar", "en", "ar"))
        self.pop = (rng.pareto(1.15, n) + 1.0) * 45.0
        age = 60 + rng.beta(1.6, 1.8, n) * 9 * 365
        created = self.t0 - age * DAY - rng.random(n) * DAY
        self.org_new = rng.random(n) < 0.03
        created[self.org_new] = rng.uniform(
            self.t0 - 30 * DAY, self.t1 - 5 * DAY, self.org_new.sum()
        )
        rank = np.argsort(-self.pop)
        top = set(rank[: max(3, n // 200)].tolist())
        for i in range(n):
            handle, display = self._claim(lambda i=i: self._organic_name(str(lang[i])))
            labels: list[str] = []
            verified = bool(i in top or (self.pop[i] > 4000 and py.random() < 0.3))
            if i in top and py.random() < 0.5:
                labels = ["news"]
            elif py.random() < 0.012:
                labels = [py.choice(["journalist", "news", "government", "researcher", "ngo"])]
            self._add(
                handle,
                display,
                created[i],
                int(self.pop[i]),
                "organic",
                str(lang[i]),
                verified,
                labels,
            )
        # victims: counter-extremism voices among the better-followed, old accounts
        eligible = np.flatnonzero((self.pop > np.quantile(self.pop, 0.5)) & ~self.org_new)
        weights = self.pop[eligible] ** 0.4
        self.victims = eligible[_weighted_sample(rng, weights, k.victims)]
        kinds = ["journalist", "researcher", "blogger", "government", "counter_extremism"]
        kind_p = np.array([0.38, 0.22, 0.17, 0.11, 0.12])
        for v in self.victims.tolist():
            self.role[v] = "victim"
            kind = kinds[int(rng.choice(5, p=kind_p))]
            self.labels[v] = [kind] if py.random() < 0.55 else []
            if kind == "government":
                self.verified[v] = True
        taken = np.zeros(n, dtype=bool)
        taken[self.victims] = True
        taken[list(top)] = True
        lo, hi = np.quantile(self.pop, [0.15, 0.92])
        eligible = np.flatnonzero(~taken & ~self.org_new & (self.pop > lo) & (self.pop < hi))
        self.violators = rng.choice(eligible, size=min(k.violators, eligible.size), replace=False)
        for v in self.violators.tolist():
            self.role[v] = "violator"
            self.labels[v] = []
        taken[self.violators] = True
        # a few ordinary accounts are deleted during the span
        spare = np.flatnonzero(~taken)
        gone = rng.choice(spare, size=max(1, n // 300), replace=False)
        for g in gone.tolist():
            at = float(int(rng.uniform(max(self.created_l[g], self.t0) + DAY, self.t1)))
            self.status[g], self.end_l[g] = "deleted", at
        self.n_org = n
        self.lang_org = lang
        self.propensity = np.exp(1.1 * rng.standard_normal(n) - 0.6)
        self.rt_affinity = np.exp(0.8 * rng.standard_normal(n) - 0.32)
        self._build_supporters()

    def _build_supporters(self) -> None:
        k, rng, py = self.k, self.rng, self.py
        self.officials: list[int] = []
        for j in range(k.officials):
            p = (j - 1) % len(PROVINCES)
            if j == 0:
                handle, display = self._claim(lambda: ("central_media_office", "المكتب الإعلامي"))
            else:
                handle, display = self._claim(
                    lambda p=p: (
                        f"{PROVINCES[p]}_{py.choice(['media', 'news', 'wilayah'])}"
                        f"{py.randint(1, 9)}",
                        f"ولاية {PROVINCES_SCRIPT[p].replace('_', ' ')}",
                    )
                )
            created = self.t0 - rng.uniform(10, 200) * DAY
            idx = self._add(handle, display, created, int(_ln(rng, 6000, 0.8)), "official", "ar")
            self.officials.append(idx)
            self.tier[idx] = 1
        self.institutions: list[int] = []
        for _ in range(k.institutions):
            word = py.choice(INSTITUTION_WORDS)
            handle, display = self._claim(
                lambda word=word: (
                    f"{word}_{py.choice(['foundation', 'media', 'news', 'center', 'agency'])}"
                    f"{py.choice(['', '', str(py.randint(1, 99))])}",
                    f"مؤسسة {word.replace('_', ' ')}",
                )
            )
            created = self.t0 - rng.uniform(20, 500) * DAY
            idx = self._add(handle, display, created, int(_ln(rng, 2500, 0.9)), "institution", "ar")
            self.institutions.append(idx)
            self.tier[idx] = 2
        m = k.supporters
        old = rng.random(m) < k.old_supporter_share
        age = np.where(old, rng.uniform(365, 7 * 365, m), rng.uniform(3, 150, m))
        fol = np.maximum(3, _ln(rng, 230, 1.45, m)).astype(int)
        self.slot_first: list[int] = []
        for s in range(m):
            handle, display = self._claim(self._supporter_name)
            created = self.t0 - age[s] * DAY - py.random() * DAY
            idx = self._add(handle, display, created, int(fol[s]), "supporter", "ar")
            self.slot_first.append(idx)
            self.tier[idx] = 3
        # incarnations of each slot: (account, usable from, usable until)
        self.incarnations: list[list[tuple[int, float, float]]] = [
            [(a, -math.inf, math.inf)] for a in self.slot_first
        ]
        self.hyper = rng.random(m) < 0.05
        self.activity = rng.beta(1.3, 2.2, m) + np.where(self.hyper, 0.8, 0.0)
        hub_weight = 1.0 / (np.arange(k.institutions) + 1.0) ** 0.9
        hub_weight = hub_weight[rng.permutation(k.institutions)]
        primary = rng.choice(k.institutions, size=m, p=hub_weight / hub_weight.sum())
        self.slot_hubs: list[list[int]] = []
        for s in range(m):
            hubs = [int(primary[s])]
            if rng.random() < 0.35:
                extra = rng.choice(
                    k.institutions, size=int(rng.integers(1, 3)), p=hub_weight / hub_weight.sum()
                )
                hubs += [int(h) for h in extra if int(h) != hubs[0]]
            self.slot_hubs.append(sorted(set(hubs)))
        self.hub_slots: list[list[int]] = [[] for _ in range(k.institutions)]
        for s, hubs in enumerate(self.slot_hubs):
            for h in hubs:
                self.hub_slots[h].append(s)
        self.primary = primary

    # ----------------------------------------------------------------- follow graph
    def _edges(self, src: Any, dst: Any, when: Any) -> None:
        self.f_src.append(np.asarray(src, dtype=np.int64))
        self.f_dst.append(np.asarray(dst, dtype=np.int64))
        self.f_time.append(np.asarray(when, dtype=float))

    def _before_t0(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        created = np.asarray(self.created_l)
        base = np.maximum(created[src], created[dst])
        late = base >= self.t0
        when = base + self.rng.random(src.size) * np.maximum(self.t0 - base, 0)
        when[late] = base[late] + self.rng.random(late.sum()) * (self.t1 - base[late])
        return when

    def build_follows(self) -> None:
        k, rng = self.k, self.rng
        n = self.n_org
        deg = np.clip(_ln(rng, 9.0, 0.9, n), 1, 500).astype(np.int64)
        deg[self.org_new] = np.maximum(1, deg[self.org_new] // 3)
        src = np.repeat(np.arange(n), deg)
        local = rng.random(src.size) < 0.75
        weight = self.pop**0.8
        dst = np.empty(src.size, dtype=np.int64)
        glob = ~local
        dst[glob] = _pick_cum(rng, np.cumsum(weight), int(glob.sum()))
        for c in range(self.n_comm):
            members = np.flatnonzero(self.comm == c)
            sel = np.flatnonzero(local & (self.comm[src] == c))
            if members.size and sel.size:
                dst[sel] = members[_pick_cum(rng, np.cumsum(weight[members]), sel.size)]
        keep = src != dst
        src, dst = src[keep], dst[keep]
        self._edges(src, dst, self._before_t0(src, dst))
        officials = np.array(self.officials)
        institutions = np.array(self.institutions)
        # victims watch the extremists' accounts
        watch_src, watch_dst = [], []
        for v in self.victims.tolist():
            pool = np.concatenate([officials, institutions])
            chosen = rng.choice(pool, size=min(pool.size, int(rng.integers(2, 14))), replace=False)
            watch_src += [v] * chosen.size
            watch_dst += chosen.tolist()
        # ordinary Arabic-speaking users who follow a supporter or two
        arabic = np.flatnonzero(self.lang_org == "ar")
        slots = np.array(self.slot_first)
        sup_fans = rng.choice(arabic, size=int(slots.size * 2.0))
        watch_src += sup_fans.tolist()
        watch_dst += slots[rng.integers(0, slots.size, sup_fans.size)].tolist()
        ws, wd = np.array(watch_src), np.array(watch_dst)
        self._edges(ws, wd, self._before_t0(ws, wd))
        # the supporter network
        s_src: list[int] = []
        s_dst: list[int] = []
        sup_weight = self.pop**0.9
        cum_org = np.cumsum(sup_weight)
        lo, hi = k.camouflage_follows
        for s, acc in enumerate(self.slot_first):
            hubs = [self.institutions[h] for h in self.slot_hubs[s]]
            tier1 = officials[rng.random(officials.size) < 0.7].tolist()
            peers_pool = self.hub_slots[int(self.primary[s])]
            n_peers = int(min(80, _ln(rng, 7.0, 0.8)))
            peers = [
                self.slot_first[peers_pool[i]] for i in rng.integers(0, len(peers_pool), n_peers)
            ]
            peers += [self.slot_first[i] for i in rng.integers(0, len(slots), n_peers // 4)]
            camo = _pick_cum(rng, cum_org, int(rng.integers(lo, hi + 1))).tolist() if hi else []
            targets = {*hubs, *tier1, *peers, *camo} - {acc}
            s_src += [acc] * len(targets)
            s_dst += list(targets)
        for i, acc in enumerate(self.institutions):
            t1 = officials[rng.random(officials.size) < 0.8].tolist()
            others = rng.choice(institutions, size=min(len(institutions), 8), replace=False)
            targets = {*t1, *others.tolist()} - {acc}
            s_src += [acc] * len(targets)
            s_dst += list(targets)
            # hubs follow back part of their core
            core = self.hub_slots[i]
            if core:
                size = min(len(core), int(rng.integers(2, 12)))
                back = rng.choice(core, size=size, replace=False)
                s_src += [acc] * back.size
                s_dst += [self.slot_first[b] for b in back.tolist()]
        for acc in self.officials:
            targets = {self.officials[0], *rng.choice(institutions, size=4).tolist()} - {acc}
            s_src += [acc] * len(targets)
            s_dst += list(targets)
        ss, sd = np.array(s_src), np.array(s_dst)
        # reciprocity among supporters
        tiers = np.zeros(len(self.ids), dtype=np.int8)
        for acc, t in self.tier.items():
            tiers[acc] = t
        both = (tiers[ss] > 0) & (tiers[sd] > 0) & (rng.random(ss.size) < 0.17)
        ss, sd = np.concatenate([ss, sd[both]]), np.concatenate([sd, ss[both]])
        self._edges(ss, sd, self._before_t0(ss, sd))

    # ----------------------------------------------------------------- supporter posts
    def _post(
        self,
        author: int,
        t: float,
        text: str | None = None,
        mentions: Sequence[int] = (),
        hashtags: Sequence[str] = (),
        reshare_of: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        post_id = f"post-{self._token()}"
        self.posts.append(
            {
                "post_id": post_id,
                "author": author,
                "t": int(t),
                "text": text,
                "mentions": list(mentions),
                "hashtags": list(hashtags),
                "reshare_of": reshare_of,
                "reply_to": reply_to,
            }
        )
        return post_id

    def build_leader_posts(self) -> None:
        rng, py = self.rng, self.py
        span = self.t1 - self.t0
        self.news: list[tuple[int, str, int]] = []  # (time, post id, author)
        self.hub_posts: dict[int, list[tuple[int, str]]] = {}
        tag_times: list[int] = []
        tag_posts: list[tuple[str, str]] = []
        for acc in self.officials:
            rate = 1.0 if acc == self.officials[0] else 3.0
            count = rng.poisson(rate * span / DAY)
            times = np.sort(_diurnal_times(rng, np.full(count, self.t0), np.full(count, self.t1)))
            for t in times.tolist():
                tag = py.choice(HASHTAGS)
                text = f"{self.display[acc]}: {py.choice(NEWS_EVENTS)} #{tag}"
                pid = self._post(acc, t, text, hashtags=[tag])
                self.news.append((int(t), pid, acc))
                tag_times.append(int(t))
                tag_posts.append((pid, tag))
        self.news.sort()
        news_times = np.array([n[0] for n in self.news])
        for h, acc in enumerate(self.institutions):
            count = rng.poisson(2.5 * span / DAY)
            times = np.sort(_diurnal_times(rng, np.full(count, self.t0), np.full(count, self.t1)))
            own: list[tuple[int, str]] = []
            for t in times.tolist():
                before = int(np.searchsorted(news_times, t))
                if before and py.random() < 0.6:
                    src = self.news[py.randrange(max(0, before - 20), before)]
                    pid = self._post(acc, t, None, reshare_of=src[1])
                else:
                    tag = py.choice(HASHTAGS)
                    pid = self._post(acc, t, f"#{tag} {py.choice(NEWS_EVENTS)}", hashtags=[tag])
                    tag_times.append(int(t))
                    tag_posts.append((pid, tag))
                own.append((int(t), pid))
            self.hub_posts[h] = own
        order = np.argsort(tag_times, kind="stable")
        self.tag_times = np.array(tag_times)[order]
        self.tag_posts = [tag_posts[i] for i in order.tolist()]

    # ----------------------------------------------------------------- re-creation
    def build_recreations(self) -> None:
        k, rng = self.k, self.rng
        m = k.supporters
        self.recreated: list[tuple[int, int]] = []
        self.surface: dict[int, tuple[float, int]] = {}  # new account -> (time, hashtag post)
        chosen = rng.choice(m, size=round(k.suspension_share * m), replace=False)
        src_all = np.concatenate(self.f_src)
        dst_all = np.concatenate(self.f_dst)
        followees_of: dict[int, np.ndarray] = {}
        fans_of: dict[int, np.ndarray] = {}
        for s in chosen.tolist():
            at = float(int(rng.uniform(self.t0 + 0.5 * DAY, self.t1 - 2 * DAY)))
            for generation in range(4):
                acc, start, _ = self.incarnations[s][-1]
                if at <= max(start, self.created_l[acc]):
                    break
                self.incarnations[s][-1] = (acc, start, at)
                self.status[acc], self.end_l[acc] = "suspended", at
                if generation == 3 or rng.random() > 0.8:
                    break
                born = at + float(np.clip(_ln(rng, 10 * HOUR, 1.0), HOUR, 6 * DAY))
                nxt = int(np.searchsorted(self.tag_times, born))
                if born > self.t1 - 6 * HOUR or nxt >= self.tag_times.size:
                    break
                surface = float(self.tag_times[nxt]) + float(_ln(rng, 15 * MINUTE, 0.8))
                new = self._add(
                    *self._variant_handle(self.handles[acc], self.display[acc]),
                    born,
                    int(max(0, self.followers_count[acc] * rng.uniform(0.02, 0.3))),
                    "supporter",
                    "ar",
                )
                self.tier[new] = 3
                self.recreated.append((new, acc))
                self.surface[new] = (surface, nxt)
                self.incarnations[s].append((new, surface, math.inf))
                followees = followees_of.get(acc)
                if followees is None:
                    followees = dst_all[src_all == acc]
                keep = followees[rng.random(followees.size) < 0.9]
                followees_of[new] = keep
                when = born + rng.random(keep.size) * 6 * HOUR
                self._edges(np.full(keep.size, new), keep, when)
                fans = fans_of.get(acc)
                if fans is None:
                    fans = src_all[dst_all == acc]
                fans = fans[rng.random(fans.size) < 0.3]
                fans_of[new] = fans
                self._edges(fans, np.full(fans.size, new), born + rng.random(fans.size) * 3 * DAY)
                if rng.random() < 0.3:  # >30% of new accounts are gone within two days
                    at = surface + float(rng.uniform(2 * HOUR, 2 * DAY))
                else:
                    break

    # ----------------------------------------------------------------- onlookers
    def build_onlookers(self) -> None:
        """Accounts that touch the network without belonging to it. Nothing is drawn
        for families without them."""
        k, rng, py = self.k, self.rng, self.py
        self.onlooker_kind: dict[int, str] = {}
        self.sharer_accounts: list[int] = []
        self.namesake_accounts: list[int] = []
        self.mislabelled_accounts: list[int] = []
        officials = np.array(self.officials)
        institutions = np.array(self.institutions)
        org_cum = np.cumsum(self.pop**0.8)
        kinds = ("journalist", "researcher", "news", "monitor")
        watchers: list[int] = []
        for _ in range(k.onlookers):
            kind = kinds[int(rng.choice(4, p=[0.4, 0.25, 0.2, 0.15]))]
            lang = "ar" if py.random() < 0.4 else "en"
            handle, display = self._claim(lambda lang=lang: self._organic_name(lang))
            if kind == "news":
                handle, display = self._claim(
                    lambda: (f"{py.choice(EN_LAST)}_{py.choice(['news', 'wire', 'today'])}", "")
                )
                display = f"{handle.split('_')[0].title()} News"
            years = rng.uniform(2, 11)
            acc = self._add(
                handle,
                display,
                self.t0 - years * 365 * DAY,
                int(_ln(rng, 4000, 1.0)),
                "onlooker",
                lang,
                verified=py.random() < 0.3,
                labels=[kind] if py.random() < 0.5 else [],
            )
            self.onlooker_kind[acc] = kind
            watchers.append(acc)
        for acc in watchers:
            watched = officials[rng.random(officials.size) < rng.uniform(0.3, 1.0)]
            hubs = rng.choice(institutions, size=int(rng.integers(0, 9)), replace=False)
            # monitors keep lists of supporters too
            seen = [self.slot_first[i] for i in rng.integers(0, len(self.slot_first), 6)]
            seen = seen[: int(rng.integers(0, 7))] if self.onlooker_kind[acc] == "monitor" else []
            reading = _pick_cum(rng, org_cum, int(rng.integers(15, 90)))
            peers = rng.choice(watchers, size=min(len(watchers), int(rng.integers(0, 6))))
            targets = {*watched.tolist(), *hubs.tolist(), *seen, *reading.tolist(), *peers.tolist()}
            targets.discard(acc)
            out = np.array(sorted(targets))
            self._edges(np.full(out.size, acc), out, self._before_t0(np.full(out.size, acc), out))
            readers = _pick_cum(rng, org_cum, int(rng.integers(30, 500)))
            self._edges(
                readers,
                np.full(readers.size, acc),
                self._before_t0(readers, np.full(readers.size, acc)),
            )
            # their work: quoting the releases and answering the officials
            for _ in range(int(rng.integers(3, 30))):
                t, pid, author = self.news[py.randrange(len(self.news))]
                when = t + float(_ln(rng, 2 * HOUR, 1.0))
                if py.random() < 0.5:
                    self._post(acc, when, py.choice(ONLOOKER_NOTES), reshare_of=pid)
                else:
                    self._post(
                        acc, when, py.choice(ONLOOKER_NOTES), mentions=[author], reply_to=pid
                    )
        if k.sharers and self.news:
            viral = [
                self.news[i]
                for i in rng.choice(
                    len(self.news), size=max(2, len(self.news) // 40), replace=False
                )
            ]
            pool = np.flatnonzero(np.array(self.role[: self.n_org]) == "organic")
            for acc in rng.choice(pool, size=min(k.sharers, pool.size), replace=False).tolist():
                self.sharer_accounts.append(acc)
                for _ in range(int(rng.integers(1, 3))):
                    t, pid, _author = viral[py.randrange(len(viral))]
                    self._post(acc, t + float(_ln(rng, 3 * HOUR, 1.2)), None, reshare_of=pid)
        gone = [
            a
            for a in range(len(self.ids))
            if self.status[a] == "suspended" and self.tier.get(a) == 3
        ]
        for _ in range(k.namesakes if gone else 0):
            old = gone[int(rng.integers(len(gone)))]
            born = self.end_l[old] + float(rng.uniform(HOUR, 5 * DAY))
            if born > self.t1 - 6 * HOUR:
                continue
            lang = "ar" if py.random() < 0.8 else "en"
            acc = self._add(
                self._claim(lambda old=old: (self._variant_once(self.handles[old]), ""))[0],
                self._organic_name(lang)[1],
                born,
                int(rng.integers(0, 60)),
                "namesake",
                lang,
            )
            self.namesake_accounts.append(acc)
            reading = _pick_cum(rng, org_cum, int(rng.integers(3, 40)))
            extra = officials[rng.random(officials.size) < 0.05]
            out = np.unique(np.concatenate([reading, extra]))
            self._edges(np.full(out.size, acc), out, born + rng.random(out.size) * DAY)
            nxt = int(np.searchsorted(self.tag_times, born))
            if nxt < self.tag_times.size and py.random() < 0.4:
                # curious about a trending hashtag, as a returning supporter would be
                self._post(
                    acc,
                    float(self.tag_times[nxt]) + float(_ln(rng, HOUR, 1.0)),
                    None,
                    reshare_of=self.tag_posts[nxt][0],
                )
        if k.mislabelled:
            pool = np.flatnonzero(np.array(self.role[: self.n_org]) == "organic")
            for acc in rng.choice(pool, size=min(k.mislabelled, pool.size), replace=False).tolist():
                self.labels[acc] = ["extremist"]
                self.mislabelled_accounts.append(acc)

    # ----------------------------------------------------------------- freeze
    def freeze(self) -> None:
        n = len(self.ids)
        self.created = np.array(self.created_l)
        self.end = np.array(self.end_l)
        src = np.concatenate(self.f_src)
        dst = np.concatenate(self.f_dst)
        when = np.concatenate(self.f_time)
        key = src * n + dst
        _, first = np.unique(key, return_index=True)
        self.fs, self.fd, self.ft = src[first], dst[first], np.floor(when[first])
        self.fol_ptr, self.fol_idx = _csr(self.fd, self.fs, n)
        self.out_ptr, self.out_idx = _csr(self.fs, self.fd, n)
        self.is_supporter = np.zeros(n, dtype=bool)
        for acc in self.tier:
            self.is_supporter[acc] = True
        self.is_organic = np.zeros(n, dtype=bool)
        self.is_organic[: self.n_org] = True
        self.pop_cum = np.cumsum(self.pop)
        self.last_report = np.full(n, -math.inf)
        self.last_hit = np.full(n, -math.inf)
        prop = np.ones(n)
        prop[: self.n_org] = self.propensity
        self.prop = prop
        aff = np.ones(n)
        aff[: self.n_org] = self.rt_affinity
        self.aff = aff

    def alive(self, acc: Any, t: Any) -> Any:
        return (self.created[acc] <= t) & (t < self.end[acc])

    # ----------------------------------------------------------------- ordinary posts
    def build_ordinary_posts(self) -> None:
        rng, py = self.rng, self.py
        n = self.n_org
        posters = np.flatnonzero(rng.random(n) < 0.4)
        counts = np.clip(_ln(rng, 3.0, 1.0, posters.size), 1, 80).astype(int)
        authors = np.repeat(posters, counts)
        lo = np.maximum(self.created[authors], self.t0)
        times = _diurnal_times(rng, lo, np.full(authors.size, float(self.t1)))
        order = np.argsort(times)
        recent: list[str] = []
        for a, t in zip(authors[order].tolist(), times[order].tolist(), strict=True):
            pool = CHATTER_AR if self.lang[a] == "ar" else CHATTER_EN
            text = py.choice(pool).replace("{t}", py.choice(TOPICS))
            mentions: list[int] = []
            if py.random() < 0.15:
                lo_i, hi_i = self.out_ptr[a], self.out_ptr[a + 1]
                if hi_i > lo_i:
                    mentions = [int(self.out_idx[py.randrange(lo_i, hi_i)])]
            reply = recent[py.randrange(len(recent))] if recent and py.random() < 0.08 else None
            pid = self._post(a, t, text, mentions=mentions, reply_to=reply)
            recent.append(pid)
            if len(recent) > 500:
                recent = recent[-300:]
        watched = self.officials + self.institutions
        for v in self.victims.tolist():
            count = int(rng.integers(8, 40))
            for t in _diurnal_times(
                rng, np.full(count, self.t0 - 5 * DAY), np.full(count, self.t1)
            ):
                topic = py.choice(TOPICS)
                text = (
                    f"مقال جديد: {topic} https://t.co/{self._token()[:8]}"
                    if self.lang[v] == "ar"
                    else f"New piece: {topic} https://t.co/{self._token()[:8]}"
                )
                mentions = [py.choice(watched)] if py.random() < 0.1 else []
                self._post(v, t, text, mentions=mentions)
        for v in self.violators.tolist():
            count = int(rng.integers(5, 20))
            for t in _diurnal_times(
                rng, np.full(count, self.t0 - 5 * DAY), np.full(count, self.t1)
            ):
                text = py.choice(VIOLATING) if py.random() < 0.5 else py.choice(CHATTER_EN)
                self._post(v, t, text.replace("{t}", py.choice(TOPICS)))

    def build_supporter_posts(self) -> None:
        rng, py = self.rng, self.py
        news_times = np.array([n[0] for n in self.news])
        for s, incs in enumerate(self.incarnations):
            hubs = self.slot_hubs[s]
            for acc, start, stop in incs:
                lo = max(self.t0, self.created[acc], start)
                hi = min(self.t1, stop)
                if hi <= lo:
                    continue
                if acc in self.surface:
                    when, idx = self.surface[acc]
                    pid, tag = self.tag_posts[idx]
                    self._post(acc, when, None, hashtags=[tag], reshare_of=pid)
                    self._post(acc, when + rng.uniform(60, 3 * HOUR), f"#{tag} 🔁", hashtags=[tag])
                frac = (hi - lo) / (self.t1 - self.t0)
                median = 40.0 if self.hyper[s] else 4.0
                n_rt = int(_ln(rng, median, 0.7 if self.hyper[s] else 0.9) * frac)
                for _ in range(n_rt):
                    if py.random() < 0.6 and news_times.size:
                        t_src, pid, _author = self.news[py.randrange(len(self.news))]
                    else:
                        own = self.hub_posts[py.choice(hubs)]
                        if not own:
                            continue
                        t_src, pid = own[py.randrange(len(own))]
                    t = t_src + float(_ln(rng, 40 * MINUTE, 1.2))
                    if lo <= t < hi:
                        self._post(acc, t, None, reshare_of=pid)
                for _ in range(rng.poisson(1.2 * frac)):
                    t = py.uniform(lo, hi)
                    tag = py.choice(HASHTAGS)
                    mentions: list[int] = []
                    text = f"#{tag} {py.choice(NEWS_EVENTS)}"
                    if self.k.defamation_posts[1] and py.random() < 0.1:
                        victim = int(self.victims[py.randrange(self.victims.size)])
                        text = py.choice(DEFAMATION).replace("{h}", self.handles[victim])
                        mentions = [victim]
                    self._post(acc, t, text, mentions=mentions, hashtags=[tag])

    def _index_posts(self) -> None:
        by_author: dict[int, tuple[list[int], list[str]]] = {}
        for post in sorted(self.posts, key=lambda p: p["t"]):
            if post["reshare_of"] is None:
                times, ids = by_author.setdefault(post["author"], ([], []))
                times.append(post["t"])
                ids.append(post["post_id"])
        self.posts_by_author = by_author

    def _content_before(self, author: int, t: float) -> str | None:
        entry = self.posts_by_author.get(author)
        if not entry:
            return None
        times, ids = entry
        i = bisect_left(times, t)
        return ids[self.py.randrange(i)] if i else None

    # ----------------------------------------------------------------- scheduling
    def _reserve(self, target: int, lo: float, hi: float, before: float, after: float) -> float:
        for _ in range(60):
            t = float(_diurnal_times(self.rng, [lo], [hi])[0])
            spans = self.busy.get(target, [])
            if all(t + after < a or t - before > b for a, b in spans):
                self.busy.setdefault(target, []).append((t - before, t + after))
                return t
        return math.nan

    # ----------------------------------------------------------------- orchestrated waves
    def build_orchestrated(self) -> None:
        k, rng, py = self.k, self.rng, self.py
        n_waves = k.orchestrated_waves
        victim_weight = 1.0 / (np.arange(self.victims.size) + 1.0) ** 0.6
        victim_weight /= victim_weight.sum()
        hub_sizes = np.array([len(m) for m in self.hub_slots], dtype=float)
        self.brigades: list[dict[str, Any]] = []
        plans: list[tuple[int, list[int], int | None]] = []
        if k.brigades:
            m = k.supporters
            leaders = rng.choice(
                k.institutions, size=k.brigades, replace=k.brigades > k.institutions
            )
            previous: list[int] = []
            for b in range(k.brigades):
                h = int(leaders[b])
                size = int(rng.integers(k.brigade_size[0], k.brigade_size[1] + 1))
                core = self.hub_slots[h]
                members = set(rng.choice(core, size=min(len(core), int(size * 0.6))).tolist())
                if previous:  # overlap with the previous brigade
                    share = rng.choice(previous, size=int(len(previous) * rng.uniform(0.15, 0.3)))
                    members |= set(share.tolist())
                while len(members) < size:
                    members.add(int(rng.integers(0, m)))
                roster = sorted(members)
                previous = roster
                rate = rng.uniform(k.participation[0], k.participation[1], len(roster))
                self.brigades.append({"leader": h, "members": roster, "rate": rate})
            order = rng.permutation(np.resize(np.arange(k.brigades), n_waves))
            for b in order.tolist():
                brig = self.brigades[b]
                joins = rng.random(len(brig["members"])) < brig["rate"]
                chosen = [s for s, j in zip(brig["members"], joins, strict=True) if j]
                plans.append((brig["leader"], chosen, b))
        elif k.spray_cells:
            cells = []
            for h in rng.choice(k.institutions, size=k.spray_cells, replace=False).tolist():
                size = int(rng.integers(k.spray_cell_size[0], k.spray_cell_size[1] + 1))
                core = self.hub_slots[h]
                cells.append((h, rng.choice(core, size=min(size, len(core)), replace=False)))
            for _ in range(n_waves):
                h, cell = cells[int(rng.integers(len(cells)))]
                want = int(rng.integers(k.spray_reports[0], k.spray_reports[1] + 1))
                picked = rng.choice(cell, size=min(want, len(cell)), replace=False)
                plans.append((h, [int(x) for x in picked], None))
        else:
            hub_p = np.sqrt(hub_sizes) / np.sqrt(hub_sizes).sum()
            for _ in range(n_waves):
                h = int(rng.choice(k.institutions, p=hub_p))
                members = self.hub_slots[h]
                if py.random() < k.cell_share:
                    want = int(rng.integers(4, 13))
                else:
                    want = int(np.clip(_ln(rng, k.orch_median, k.orch_sigma), *k.orch_bounds))
                outside = round(want * k.outside_share)
                idx = _weighted_sample(rng, self.activity[members], want - outside)
                chosen = [members[i] for i in idx.tolist()]
                if outside:
                    others = np.flatnonzero(self.primary != h)
                    far = _weighted_sample(rng, self.activity[others], outside)
                    chosen += [int(others[i]) for i in far.tolist()]
                plans.append((h, chosen, None))
        for h, slots, brigade in plans:
            self._one_orchestrated(h, slots, victim_weight, brigade)

    def _one_orchestrated(
        self, h: int, slots: list[int], victim_weight: np.ndarray, brigade: int | None
    ) -> None:
        k, rng, py = self.k, self.rng, self.py
        if len(slots) < 3:
            return
        hub = self.institutions[h]
        spread = py.random() >= k.burst_share
        for _ in range(10):
            victim = int(self.victims[int(rng.choice(self.victims.size, p=victim_weight))])
            anchor = self._reserve(victim, self.t0 + 1.5 * DAY, self.t1 - 2.5 * DAY, DAY, 3 * DAY)
            if not math.isnan(anchor):
                break
        else:
            return
        n = len(slots)
        if spread:
            duration = py.uniform(*k.spread_hours) * HOUR
            gaps = _ln(rng, 1.0, 1.2, n)
            offsets = np.cumsum(gaps) - gaps[0]
            offsets = offsets / max(offsets[-1], 1e-9) * duration
            offsets = np.maximum(0.0, offsets + rng.normal(0, 8 * MINUTE, n))
        else:
            duration = py.uniform(*k.burst_minutes) * MINUTE
            offsets = duration * rng.beta(1.3, 3.0, n) + rng.exponential(40, n)
        offsets = offsets[rng.permutation(n)]
        # campaign: reason, text, content
        template = TEMPLATES[py.randrange(len(TEMPLATES))]
        uses_template = py.random() < k.template_share
        if uses_template:
            lang, reason = template[0], template[1]
        else:
            lang = "ar" if py.random() < 0.75 else "en"
            reason = CAMPAIGN_REASONS[int(rng.choice(len(CAMPAIGN_REASONS), p=CAMPAIGN_WEIGHTS))]
        lo_r, hi_r = k.reasons_per_campaign
        pretexts = [reason]
        if hi_r > 1:
            more = [r for r in CAMPAIGN_REASONS if r != reason]
            pretexts += py.sample(more, k=min(len(more), py.randint(lo_r, hi_r) - 1))
        tag = py.choice(HASHTAGS)
        directive = None
        if py.random() < k.directive_share:
            lag = float(np.clip(_ln(rng, 35 * MINUTE, 0.8), 4 * MINUTE, 8 * HOUR))
            pattern = py.choice(DIRECTIVES_AR if py.random() < 0.85 else DIRECTIVES_EN)
            text = pattern.format(h=self.handles[victim], r=reason, tag=tag)
            directive = self._post(hub, anchor - lag, text, mentions=[victim], hashtags=[tag])
        targets_content = [self._content_before(victim, anchor) for _ in range(2)]
        targets_content = [c for c in targets_content if c]
        reports: list[tuple[int, int, int, str, str | None, str | None]] = []
        for s, off in zip(slots, offsets.tolist(), strict=True):
            t = anchor + off
            acc = next((a for a, lo, hi in self.incarnations[s] if lo <= t < hi), None)
            if acc is None or not self.alive(acc, t):
                continue
            if py.random() < k.reason_focus:
                why = reason if len(pretexts) == 1 else py.choice(pretexts)
            else:
                why = REASONS[int(rng.choice(len(REASONS), p=BACKGROUND_MIX))]
            text = None
            if uses_template and py.random() < k.template_use:
                base = template[2].replace("{h}", self.handles[victim])
                text = (
                    _perturb_arabic(py, base) if template[0] == "ar" else _perturb_english(py, base)
                )
            elif py.random() < 0.2:
                text = _organic_text(py, why, lang)
            content = None
            if targets_content and py.random() < k.orch_content_share:
                content = py.choice(targets_content)
            reports.append((int(t), acc, victim, why, content, text))
            if targets_content and py.random() < k.double_report_share:
                extra = int(t + py.uniform(20, 600))
                reports.append((extra, acc, victim, why, py.choice(targets_content), None))
        if py.random() < k.hub_report_share:
            reports.append((int(anchor + py.uniform(0, 300)), hub, victim, reason, None, None))
        if len({r[1] for r in reports}) < 3:
            return
        self._close_wave(reports, victim, True, [hub], directive, reason, brigade, spread)
        reporters = sorted({r[1] for r in reports})
        start = min(r[0] for r in reports)
        # amplification around the wave (not in stealth: orders are off-platform there)
        if directive is not None:
            for acc in py.sample(reporters, k=min(len(reporters), py.randint(3, 15))):
                t = start + py.uniform(-20 * MINUTE, 2 * HOUR)
                if self.alive(acc, t):
                    self._post(acc, t, None, reshare_of=directive)
        lo_d, hi_d = k.defamation_posts
        for acc in py.sample(reporters, k=min(len(reporters), py.randint(lo_d, hi_d))):
            t = start + py.uniform(0, 6 * HOUR)
            if self.alive(acc, t):
                text = py.choice(DEFAMATION).replace("{h}", self.handles[victim])
                self._post(acc, t, text, mentions=[victim], hashtags=[tag])
        # ordinary people who report the same target at the same time
        lo_c, hi_c = k.concurrent_organic
        extra = py.randint(lo_c, hi_c) if hi_c else 0
        if extra:
            end = max(r[0] for r in reports)
            fans, _ = _gather(self.fol_ptr, self.fol_idx, np.array([victim]))
            fans = fans[self.is_organic[fans]]
            pool = np.concatenate([fans, rng.integers(0, self.n_org, extra)])
            who = pool[rng.integers(0, pool.size, extra)]
            when = rng.uniform(start - 2 * HOUR, end + 2 * HOUR, extra)
            for acc, t in zip(who.tolist(), when.tolist(), strict=True):
                if acc == victim or not self.alive(acc, t):
                    continue
                why = REASONS[int(rng.choice(len(REASONS), p=POPULAR_MIX))]
                text = _organic_text(py, why, self.lang[acc]) if py.random() < 0.35 else None
                self.bg_reports.append((int(t), acc, victim, why, None, text))
                self.last_report[acc] = max(self.last_report[acc], int(t))
                self.last_hit[victim] = max(self.last_hit[victim], int(t))

    def _close_wave(
        self,
        reports: list[tuple[int, int, int, str, str | None, str | None]],
        target: int,
        orchestrated: bool,
        orchestrators: list[int],
        directive: str | None,
        reason: str,
        brigade: int | None,
        spread: bool,
    ) -> None:
        times = [r[0] for r in reports]
        for r in reports:
            self.last_report[r[1]] = max(self.last_report[r[1]], r[0])
        self.last_hit[target] = max(self.last_hit[target], max(times))
        self.wave_reports.append(reports)
        self.waves.append(
            {
                "target": target,
                "start": min(times),
                "end": max(times),
                "orchestrated": orchestrated,
                "orchestrators": orchestrators,
                "directive_post_id": directive,
                "reason": reason,
                "brigade": brigade,
                "timing": "spread" if spread else ("burst" if orchestrated else "cascade"),
            }
        )

    # ----------------------------------------------------------------- organic waves
    def build_organic(self) -> None:
        k, rng = self.k, self.rng
        n_waves = k.organic_waves
        sizes = np.clip(_ln(rng, k.organic_median, k.organic_sigma, n_waves), *k.organic_bounds)
        sizes = np.minimum(sizes, 0.35 * self.n_org).astype(int)
        orch_sizes = [len({r[1] for r in w}) for w in self.wave_reports]
        if orch_sizes and sizes.size >= 2 and sizes.max() <= max(orch_sizes):
            top = np.argsort(-sizes)[:2]
            sizes[top] = min(int(max(orch_sizes) * rng.uniform(1.3, 2.5)), int(0.35 * self.n_org))
        official = rng.random(n_waves) < k.official_wave_share
        for w in range(n_waves):
            if official[w]:
                target = int(self.officials[int(rng.integers(0, len(self.officials)))])
            else:
                target = int(self.violators[int(rng.integers(0, self.violators.size))])
            t0 = self._reserve(target, self.t0 + DAY, self.t1 - 3 * DAY, DAY, 4 * DAY)
            if math.isnan(t0):
                continue
            self._one_cascade(target, t0, int(sizes[w]))

    def _one_cascade(self, target: int, t0: float, want: int) -> None:
        k, rng, py = self.k, self.rng, self.py
        n = len(self.ids)
        root = self._post(target, t0, py.choice(VIOLATING))
        exposed = np.full(n, np.inf)
        exposed[target] = t0
        sup_rt = 0.25 if self.tier.get(target) == 1 else 0.03
        virality = float(_ln(rng, 1.0, 0.4))
        frontier = np.array([target])
        frontier_t = np.array([t0])
        retweeters: list[np.ndarray] = []
        retweet_times: list[np.ndarray] = []
        cap = max(40 * want, 5_000)
        seen = 0
        reached = 0  # ordinary users exposed through the graph
        reseeds = 0
        last = t0
        for _ in range(60):
            who, owner = _gather(self.fol_ptr, self.fol_idx, frontier)
            if who.size == 0:
                # the cascade died out: a popular account may pick the content up later
                if reached >= 2 * want or reseeds >= 8:
                    break
                reseeds += 1
                seed = int(_pick_cum(rng, self.pop_cum, 1)[0])
                last = min(last + float(_ln(rng, 90 * MINUTE, 0.8)), t0 + 40 * HOUR)
                if not np.isinf(exposed[seed]) or not self.alive(seed, last):
                    continue
                exposed[seed] = last
                frontier, frontier_t = np.array([seed]), np.array([last])
                retweeters.append(frontier)
                retweet_times.append(frontier_t)
                continue
            when = frontier_t[owner] + _ln(rng, 12 * MINUTE, 1.2, who.size)
            order = np.lexsort((when, who))
            who, when = who[order], when[order]
            first = np.r_[True, who[1:] != who[:-1]]
            who, when = who[first], when[first]
            fresh = np.isinf(exposed[who]) & self.alive(who, when)
            who, when = who[fresh], when[fresh]
            exposed[who] = when
            seen += who.size
            reached += int(self.is_organic[who].sum())
            p = np.where(self.is_supporter[who], sup_rt, k.retweet_prob * virality * self.aff[who])
            rt = rng.random(who.size) < p
            frontier, frontier_t = who[rt], when[rt] + _ln(rng, 20 * MINUTE, 1.0, int(rt.sum()))
            retweeters.append(frontier)
            retweet_times.append(frontier_t)
            if frontier_t.size:
                last = max(last, float(np.median(frontier_t)))
            if seen > cap:
                break
        rts = np.concatenate(retweeters) if retweeters else np.empty(0, dtype=np.int64)
        rt_t = np.concatenate(retweet_times) if retweet_times else np.empty(0)
        eligible = self.is_organic & np.isfinite(exposed)
        eligible[target] = False
        eligible[self.violators] = False
        pool = np.flatnonzero(eligible)
        graph_pool = pool.size
        trending = int(k.trending_share * want) + max(0, int(1.6 * want) - pool.size)
        if trending:
            extra = rng.integers(0, self.n_org, trending)
            extra = np.unique(extra[~eligible[extra] & ~np.isin(extra, self.violators)])
            extra = extra[extra != target]
            anchors = rt_t if rt_t.size else np.array([t0])
            times = anchors[rng.integers(0, anchors.size, extra.size)]
            times = times + _ln(rng, 50 * MINUTE, 1.0, extra.size)
            ok = self.alive(extra, times)
            exposed[extra[ok]] = times[ok]
            pool = np.concatenate([pool, extra[ok]])
        picked = _weighted_sample(rng, self.prop[pool], want)
        chosen = pool[picked]
        via_graph = picked < graph_pool
        times = exposed[chosen] + _ln(rng, 25 * MINUTE, 1.1, chosen.size)
        keep = (times < t0 + 3 * DAY) & self.alive(chosen, times)
        chosen, times, via_graph = chosen[keep], times[keep], via_graph[keep]
        alpha = np.array([0.3, 2.0, 3.0, 1.2, 0.3, 0.2, 0.3, 0.1, 0.5, 0.6])
        mix = rng.dirichlet(alpha * 2.0)
        reasons = rng.choice(len(REASONS), size=chosen.size, p=mix)
        reports = []
        for acc, t, why in zip(chosen.tolist(), times.tolist(), reasons.tolist(), strict=True):
            reason = REASONS[why]
            text = _organic_text(py, reason, self.lang[acc]) if py.random() < 0.55 else None
            u = py.random()
            content = root if u < 0.75 else (self._content_before(target, t) if u < 0.83 else None)
            reports.append((int(t), acc, target, reason, content, text))
        if len(reports) < 3:
            return
        main = REASONS[int(np.argmax(mix))]
        self._close_wave(reports, target, False, [], None, main, None, False)
        self.waves[-1]["exposure"] = {
            "graph_reporters": int(via_graph.sum()),
            "trending_reporters": int((~via_graph).sum()),
            "retweeters": int(rts.size) if retweeters else 0,
            "reseeds": reseeds,
        }
        order = np.argsort(rt_t)[:600]
        for acc, t in zip(rts[order].tolist(), rt_t[order].tolist(), strict=True):
            if self.alive(acc, t):
                self._post(acc, t, None, reshare_of=root)

    # ----------------------------------------------------------------- decisions
    def build_decisions(self) -> None:
        py = self.py
        last_end: dict[tuple[int, bool], int] = {}
        content: dict[int, str | None] = {}
        for wave, reports in zip(self.waves, self.wave_reports, strict=True):
            key = (wave["target"], wave["orchestrated"])
            last_end[key] = max(last_end.get(key, 0), wave["end"])
            if not wave["orchestrated"]:
                content[wave["target"]] = next((r[4] for r in reports if r[4]), None)
        for (target, orchestrated), end in sorted(last_end.items()):
            if (target, not orchestrated) in last_end:
                continue
            if orchestrated:
                if py.random() < self.k.victim_suspension_share:
                    at = end + py.uniform(10 * MINUTE, 8 * HOUR)
                    if at > max(self.last_report[target], self.last_hit[target]) and at < self.t1:
                        self.status[target], self.end[target] = "suspended", float(int(at))
                        continue
                if py.random() < 0.5:
                    outcome = "violation" if py.random() < 0.03 else "no_violation"
                    self._decision(target, outcome, end + py.uniform(0.3, 8) * DAY, None)
            elif py.random() < 0.55:
                at = end + py.uniform(0.1, 4) * DAY
                cid = content.get(target) if py.random() < 0.6 else None
                self._decision(target, "violation", at, cid)
                is_official = self.tier.get(target) == 1
                if not is_official and py.random() < 0.6 and at < self.t1:
                    at = float(int(at + py.uniform(0, HOUR)))
                    if at > max(self.last_report[target], self.last_hit[target]):
                        self.status[target], self.end[target] = "suspended", at

    def _decision(self, target: int, outcome: str, at: float, content: str | None) -> None:
        row: dict[str, Any] = {
            "decision_id": f"mod-{self._token()}",
            "target_id": self.ids[target],
            "outcome": outcome,
            "decided_at": iso(at),
        }
        if content:
            row["content_id"] = content
        self.decisions.append(row)

    # ----------------------------------------------------------------- background
    def build_background(self) -> None:
        k, rng, py = self.k, self.rng, self.py
        n = len(self.ids)
        rate = np.exp(1.1 * rng.standard_normal(n) - 0.605) * k.background_rate
        rate[self.is_supporter] *= k.camouflage_reports
        for acc in self.officials + self.institutions:
            rate[acc] *= 0.1
        rate[self.victims] *= 1.5
        lo = np.maximum(self.created, self.t0)
        for new, (surface, _) in self.surface.items():
            lo[new] = max(lo[new], surface)
        hi = np.minimum(self.end, self.t1)
        days = np.maximum(hi - lo, 0) / DAY
        counts = rng.poisson(rate * days)
        reporters = np.repeat(np.arange(n), counts)
        times = _diurnal_times(rng, lo[reporters], hi[reporters])
        total = reporters.size
        weight = np.full(n, 0.5)
        weight[: self.n_org] = self.pop**0.9
        weight[self.officials] = 2_000.0
        cum = np.cumsum(weight)
        targets = _pick_cum(rng, cum, total)
        kind = rng.random(total)
        deg = self.out_ptr[reporters + 1] - self.out_ptr[reporters]
        follow = (kind >= 0.4) & (kind < 0.75) & (deg > 0)
        pos = self.out_ptr[reporters[follow]] + (rng.random(int(follow.sum())) * deg[follow])
        targets[follow] = self.out_idx[pos.astype(np.int64)]
        uniform = kind >= 0.75
        targets[uniform] = rng.integers(0, n, int(uniform.sum()))
        supporters = np.flatnonzero(self.is_supporter)
        watchers = np.isin(reporters, self.victims) & (rng.random(total) < 0.5)
        targets[watchers] = supporters[rng.integers(0, supporters.size, int(watchers.sum()))]
        # popular accounts are reported every day
        organic_rank = np.argsort(-self.pop)[: k.popular_daily]
        lam = 1.0 + 10.0 * np.sqrt(self.pop[organic_rank] / self.pop[organic_rank].max())
        span_days = int((self.t1 - self.t0) // DAY)
        daily = rng.poisson(np.tile(lam, span_days))
        pop_targets = np.repeat(np.tile(organic_rank, span_days), daily)
        day_index = np.repeat(np.repeat(np.arange(span_days), organic_rank.size), daily)
        day_lo = self.t0 + day_index * DAY
        pop_times = _diurnal_times(rng, day_lo, day_lo + DAY)
        pop_reporters = _pick_cum(rng, np.cumsum(rate), pop_targets.size)
        is_popular = np.r_[np.zeros(total, dtype=bool), np.ones(pop_targets.size, dtype=bool)]
        reporters = np.concatenate([reporters, pop_reporters])
        targets = np.concatenate([targets, pop_targets])
        times = np.concatenate([times, pop_times])
        ok = (
            (reporters != targets)
            & self.alive(reporters, times)
            & self.alive(targets, times)
            & (times < self.t1)
        )
        reporters, targets, times, is_popular = (
            reporters[ok],
            targets[ok],
            times[ok],
            is_popular[ok],
        )
        bad = self.is_supporter[targets] | np.isin(targets, self.violators)
        plain = rng.choice(len(REASONS), size=times.size, p=BACKGROUND_MIX)
        harsh = rng.choice(len(REASONS), size=times.size, p=EXTREMIST_MIX)
        loud = rng.choice(len(REASONS), size=times.size, p=POPULAR_MIX)
        reasons = np.where(bad, harsh, np.where(is_popular, loud, plain))
        has_text = rng.random(times.size) < 0.28
        has_content = rng.random(times.size) < 0.25
        for i in range(times.size):
            acc, target, t = int(reporters[i]), int(targets[i]), float(times[i])
            reason = REASONS[int(reasons[i])]
            text = _organic_text(py, reason, self.lang[acc]) if has_text[i] else None
            content = self._content_before(target, t) if has_content[i] else None
            self.bg_reports.append((int(t), acc, target, reason, content, text))
        # some of the targets get a moderator's look
        seen = np.unique(targets)
        picked = rng.choice(seen, size=max(1, seen.size // 60), replace=False)
        wave_targets = {w["target"] for w in self.waves}
        for target in picked.tolist():
            if target in wave_targets:
                continue
            outcome = "violation" if py.random() < 0.3 else "no_violation"
            latest = float(times[targets == target].max())
            self._decision(target, outcome, latest + py.uniform(1, 7) * DAY, None)

    # ----------------------------------------------------------------- output
    def write(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        ids = self.ids
        # posts: drop those of accounts not alive then, and reshares of dropped ones
        kept: list[dict[str, Any]] = []
        alive_ids: set[str] = set()
        for post in sorted(self.posts, key=lambda p: p["t"]):
            a, t = post["author"], post["t"]
            if not (self.created[a] <= t < self.end[a]):
                continue
            if post["reshare_of"] is not None and post["reshare_of"] not in alive_ids:
                continue  # a reshare disappears with its original
            if post["reply_to"] is not None and post["reply_to"] not in alive_ids:
                post = {**post, "reply_to": None}  # a reply to a removed post stays
            alive_ids.add(post["post_id"])
            kept.append(post)
        author_of = {p["post_id"]: p["author"] for p in kept}
        interactions: dict[tuple[int, int, str], list[int]] = {}

        def touch(src: int, dst: int, kind: str, t: int) -> None:
            if src == dst:
                return
            slot = interactions.setdefault((src, dst, kind), [0, t])
            slot[0] += 1
            slot[1] = min(slot[1], t)

        post_rows = []
        for post in kept:
            row: dict[str, Any] = {
                "post_id": post["post_id"],
                "author_id": ids[post["author"]],
                "created_at": iso(post["t"]),
            }
            if post["text"]:
                row["text"] = post["text"]
            if post["mentions"]:
                row["mentions"] = [ids[m] for m in post["mentions"]]
                for m in post["mentions"]:
                    touch(post["author"], m, "mention", post["t"])
            if post["hashtags"]:
                row["hashtags"] = post["hashtags"]
            if post["reshare_of"]:
                row["reshare_of"] = post["reshare_of"]
                touch(post["author"], author_of[post["reshare_of"]], "retweet", post["t"])
            if post["reply_to"]:
                row["reply_to"] = post["reply_to"]
                touch(post["author"], author_of[post["reply_to"]], "reply", post["t"])
            post_rows.append(row)
        edge_rows = [
            {"src": ids[s], "dst": ids[d], "kind": "follow", "created_at": iso(t)}
            for s, d, t in zip(self.fs.tolist(), self.fd.tolist(), self.ft.tolist(), strict=True)
        ]
        for (s, d, kind), (weight, t) in interactions.items():
            edge_rows.append(
                {"src": ids[s], "dst": ids[d], "kind": kind, "weight": weight, "created_at": iso(t)}
            )
        edge_rows.sort(key=lambda e: (e["src"], e["kind"], e["dst"]))
        # reports
        rows: list[tuple[int, dict[str, Any]]] = []
        truth_waves = []
        orchestrated_reporters: set[str] = set()

        def report_row(r: tuple[int, int, int, str, str | None, str | None]) -> dict[str, Any]:
            row = {
                "event_id": f"rep-{self._token()}",
                "reporter_id": ids[r[1]],
                "target_id": ids[r[2]],
                "reason": r[3],
                "created_at": iso(r[0]),
            }
            if r[4]:
                row["content_id"] = r[4]
            if r[5]:
                row["text"] = r[5]
            return row

        order = sorted(range(len(self.waves)), key=lambda i: self.waves[i]["start"])
        for number, i in enumerate(order, start=1):
            wave, reports = self.waves[i], self.wave_reports[i]
            reporters = sorted({ids[r[1]] for r in reports})
            if wave["orchestrated"]:
                orchestrated_reporters.update(reporters)
            entry: dict[str, Any] = {
                "wave_id": f"tw-{number:04d}",
                "target_id": ids[wave["target"]],
                "start": iso(min(r[0] for r in reports)),
                "end": iso(max(r[0] for r in reports)),
                "orchestrated": wave["orchestrated"],
                "orchestrators": [ids[o] for o in wave["orchestrators"]],
                "directive_post_id": wave["directive_post_id"],
                "reporters": reporters,
                "report_count": len(reports),
                "reason": wave["reason"],
                "timing": wave["timing"],
            }
            if wave["brigade"] is not None:
                entry["brigade"] = wave["brigade"]
            if "exposure" in wave:
                entry["exposure"] = wave["exposure"]
            truth_waves.append(entry)
            rows += [(r[0], report_row(r)) for r in reports]
        rows += [(r[0], report_row(r)) for r in self.bg_reports]
        rows.sort(key=lambda x: x[0])
        # accounts, shuffled so that the file order says nothing about roles
        account_rows = []
        following = np.bincount(self.fs, minlength=len(ids))
        in_graph = np.bincount(self.fd, minlength=len(ids))
        spread = self.rng.uniform(1.0, 2.6, len(ids))
        for a in self.rng.permutation(len(ids)).tolist():
            row = {
                "account_id": ids[a],
                "handle": self.handles[a],
                "display_name": self.display[a],
                "created_at": iso(self.created[a]),
                "followers_count": int(max(self.followers_count[a], in_graph[a])),
                "following_count": int(following[a] * spread[a]),
                "verified": self.verified[a],
                "labels": self.labels[a],
                "status": self.status[a],
            }
            if self.status[a] != "active":
                row["status_changed_at"] = iso(self.end[a])
            account_rows.append(row)
        self.decisions.sort(key=lambda d: d["decided_at"])
        for name, items in (
            ("reports", [r for _, r in rows]),
            ("accounts", account_rows),
            ("edges", edge_rows),
            ("posts", post_rows),
            ("decisions", self.decisions),
        ):
            with (out / f"{name}.ndjson").open("w", encoding="utf-8") as fh:
                fh.writelines(
                    json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
                    for item in items
                )
        hubs = []
        for h, acc in enumerate(self.institutions):
            members = sorted(ids[a] for s in self.hub_slots[h] for a, _, _ in self.incarnations[s])
            hubs.append({"account_id": ids[acc], "members": members})
        victims = sorted({w["target_id"] for w in truth_waves if w["orchestrated"]})
        violators = sorted({w["target_id"] for w in truth_waves if not w["orchestrated"]})
        truth: dict[str, Any] = {
            "generator": "bench.independent_world",
            "scenario": f"independent-{self.family}",
            "family": self.family,
            "description": FAMILY_NOTES[self.family],
            "seed": self.seed,
            "scale": self.scale,
            "start": iso(self.t0),
            "end": iso(self.t1),
            "waves": truth_waves,
            "orchestrated_reporters": sorted(orchestrated_reporters),
            "tiers": {ids[a]: t for a, t in sorted(self.tier.items())},
            "hubs": hubs,
            "recreated": [
                {"account_id": ids[new], "recreated_from": ids[old]} for new, old in self.recreated
            ],
            "victims": victims,
            "violators": violators,
            "bystanders": [
                {"account_id": ids[a], "kind": kind} for a, kind in self.onlooker_kind.items()
            ]
            + [{"account_id": ids[a], "kind": "viral_resharer"} for a in self.sharer_accounts],
            "lookalikes": sorted(ids[a] for a in self.namesake_accounts),
            "wrongly_labelled": sorted(ids[a] for a in self.mislabelled_accounts),
            "officials": [ids[a] for a in self.officials],
            "labelled_victims": sorted(
                ids[v] for v in self.victims.tolist() if self.labels[v] and ids[v] in victims
            ),
            "suspended_victims": sorted(
                ids[v] for v in self.victims.tolist() if self.status[v] == "suspended"
            ),
            "counts": {
                "reports": len(rows),
                "accounts": len(account_rows),
                "edges": len(edge_rows),
                "posts": len(post_rows),
                "decisions": len(self.decisions),
                "orchestrated_waves": sum(1 for w in truth_waves if w["orchestrated"]),
                "organic_waves": sum(1 for w in truth_waves if not w["orchestrated"]),
                "background_reports": len(self.bg_reports),
            },
        }
        if self.brigades:
            truth["brigades"] = [
                {
                    "leader": ids[self.institutions[b["leader"]]],
                    "members": sorted(
                        ids[a] for s in b["members"] for a, _, _ in self.incarnations[s]
                    ),
                }
                for b in self.brigades
            ]
        (out / "truth.json").write_text(
            json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        return truth


def write_world(family: str, seed: int, out: Path, scale: float = 1.0) -> dict[str, Any]:
    """Generate the ``family`` world for ``seed`` into ``out``; returns the truth."""
    world = _World(family, seed, scale)
    world.build_population()
    world.build_follows()
    world.build_leader_posts()
    world.build_recreations()
    world.build_onlookers()
    world.freeze()
    world.build_ordinary_posts()
    world.build_supporter_posts()
    world._index_posts()
    world.build_orchestrated()
    world.build_organic()
    world.build_decisions()
    world.build_background()
    return world.write(Path(out))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=FAMILIES, default="mixed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    truth = write_world(args.family, args.seed, args.out, args.scale)
    counts = truth["counts"]
    print(
        f"{args.family} seed {args.seed} scale {args.scale}: {counts['reports']:,} reports, "
        f"{counts['accounts']:,} accounts, {counts['orchestrated_waves']} orchestrated + "
        f"{counts['organic_waves']} organic waves, {counts['edges']:,} edges, "
        f"{counts['posts']:,} posts in {time.perf_counter() - began:.1f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
