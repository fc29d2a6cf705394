"""Words the simulator writes: handles, report texts, directives, campaign templates.

Orchestrated reports reuse a campaign template with small variations (spelling
variants of alef/yaa/taa marbuta, diacritics, tatweel, punctuation, an added word),
the way copied-and-pasted instructions drift. Organic reports are composed from a
wide pool of phrases, or left empty.
"""

from __future__ import annotations

import numpy as np

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
CAMPAIGN_REASONS = ("terrorism", "hate", "harassment", "impersonation", "spam", "violence")
VIOLATION_REASONS = ("violence", "terrorism", "hate", "sexual", "spam", "misinformation")

ARABIC_NAMES = (
    "abu_omar",
    "abu_bakr",
    "ibn_taymiyyah",
    "muhajir",
    "ansari",
    "ghuraba",
    "khilafa",
    "dawla",
    "shami",
    "iraqi",
    "maghribi",
    "jazrawi",
    "tunsi",
    "libi",
    "masri",
    "khurasani",
    "abu_hamza",
    "abu_musab",
    "umm_sumayyah",
    "abu_talha",
    "mujahid",
    "baqiya",
    "wilayat",
    "nasheed",
    "sabr",
    "tawheed",
    "abu_dujana",
    "abu_yahya",
    "ibn_khattab",
    "asad",
)
ORGANIC_WORDS = (
    "coffee",
    "travel",
    "news",
    "sports",
    "tech",
    "music",
    "photo",
    "daily",
    "city",
    "life",
    "book",
    "film",
    "green",
    "blue",
    "sun",
    "moon",
    "river",
    "garden",
    "chef",
    "runner",
    "ahmed",
    "sara",
    "layla",
    "omar",
    "noor",
    "yusuf",
    "hana",
    "karim",
    "mona",
    "ali",
)
VICTIM_WORDS = (
    "analyst",
    "reporter",
    "journal",
    "watch",
    "monitor",
    "research",
    "observer",
    "iraq",
    "mosul",
    "syria",
    "security",
    "counterext",
    "press",
    "desk",
    "report",
    "studies",
)

OUTLET_WORDS = ("times", "wire", "post", "daily", "tribune", "herald", "agency", "bureau")
BYSTANDER_TEXTS = (
    "Thread: what the latest release from this account tells us about the group",
    "The group's media office claims an attack; unverified, we are checking",
    "قراءة في آخر إصدارات التنظيم",
    "Propaganda analysis: the numbers behind this week's releases",
    "Reporting on this claim now, more soon",
)

CAMPAIGN_TEMPLATES_AR = (
    "هذا الحساب ينشر الكراهية ويحرض على العنف ضد المسلمين",
    "حساب مسيء يدعم الإرهاب ويجب إيقافه فورا",
    "هذا الشخص ينتحل صفة صحفي وينشر الأكاذيب",
    "الحساب يحرض ويهدد ويجب حظره",
)
CAMPAIGN_TEMPLATES_EN = (
    "This account spreads hate and incites violence, please suspend it",
    "Fake journalist account spreading lies and supporting terrorism",
    "This user harasses and threatens people, ban this account",
)
DIRECTIVE_TEMPLATES = (
    "يا أنصار بلغوا عن هذا الحساب @{handle} {tag}",
    "حملة تبليغ على المرتد @{handle} انشروا {tag}",
    "Brothers report @{handle} now, all of you {tag}",
)
ORGANIC_PHRASES = (
    "this post shows graphic violence",
    "يحتوي على عنف",
    "spam links again",
    "offensive content",
    "محتوى مسيء",
    "they are promoting a terrorist group",
    "hate speech against a religion",
    "inappropriate video",
    "صور دموية",
    "fake news about the election",
    "scam account selling followers",
    "abusive replies to my friend",
    "please review this",
    "نشر أخبار كاذبة",
    "threatening people in comments",
    "explicit images",
    "keeps posting the same link",
    "glorifies an attack",
    "دعاية لتنظيم إرهابي",
    "racist slurs",
)
NEWS_TAGS = ("#ولاية_نينوى", "#ولاية_الرقة", "#ولاية_حلب", "#ولاية_الأنبار", "#أعماق")

_VARIANTS = str.maketrans({"ا": "أ", "ي": "ى", "ة": "ه", "أ": "ا", "ى": "ي", "ه": "ة"})
_DIACRITICS = ("\u064e", "\u064f", "\u0650", "\u0651", "\u0652")
_SUFFIXES = ("", "", " !", " !!", ".", " 🚫", " ⚠️", " #بلغ", " please", " فورا")


def campaign_template(rng: np.random.Generator) -> str:
    pool = CAMPAIGN_TEMPLATES_AR + CAMPAIGN_TEMPLATES_EN
    return pool[int(rng.integers(len(pool)))]


def vary(template: str, rng: np.random.Generator) -> str:
    """A near-duplicate of ``template``: one or two small edits."""
    text = template
    for _ in range(int(rng.integers(1, 3))):
        edit = int(rng.integers(5))
        if edit == 0 and any("\u0600" <= c <= "\u06ff" for c in text):
            position = int(rng.integers(len(text)))
            text = text[:position] + text[position:].translate(_VARIANTS)
        elif edit == 1:
            position = int(rng.integers(1, len(text)))
            mark = _DIACRITICS[int(rng.integers(len(_DIACRITICS)))]
            text = text[:position] + mark + text[position:]
        elif edit == 2 and " " in text:
            position = text.index(" ")
            text = text[:position] + "ـ" + text[position:]
        else:
            text = text + _SUFFIXES[int(rng.integers(len(_SUFFIXES)))]
    return text


EXTRA_WORDS = (
    "video",
    "picture",
    "comment",
    "account",
    "user",
    "post",
    "link",
    "page",
    "group",
    "keeps",
    "posting",
    "showing",
    "sharing",
    "promoting",
    "attacking",
    "insulting",
    "children",
    "women",
    "people",
    "community",
    "religion",
    "country",
    "election",
    "war",
    "blood",
    "weapons",
    "drugs",
    "money",
    "fake",
    "scam",
    "bot",
    "disgusting",
    "illegal",
    "dangerous",
    "harmful",
    "terrible",
    "awful",
    "again",
    "today",
    "yesterday",
    "always",
    "remove",
    "delete",
    "check",
    "look",
    "stop",
    "ban",
    "report",
    "why",
    "still",
    "here",
    "حساب",
    "فيديو",
    "صورة",
    "تعليق",
    "رابط",
    "صفحة",
    "ينشر",
    "يهاجم",
    "يشتم",
    "أطفال",
    "نساء",
    "الناس",
    "دين",
    "بلد",
    "حرب",
    "دم",
    "سلاح",
    "مخدرات",
    "مال",
    "مزيف",
    "احتيال",
    "خطير",
    "مقرف",
    "غير",
    "قانوني",
    "مرة",
    "أخرى",
    "اليوم",
    "دائما",
    "احذفوا",
    "أوقفوا",
)
VOCABULARY = (
    tuple(dict.fromkeys(w for phrase in ORGANIC_PHRASES for w in phrase.split())) + EXTRA_WORDS
)


def organic_texts(rng: np.random.Generator, count: int, share: float = 0.5) -> list[str | None]:
    """Texts of ``count`` organic reports: a ``share`` of them written freely (three to
    nine words from a wide vocabulary, sometimes after a stock phrase), the others empty.
    People who report on their own rarely write the same thing."""
    has_text = rng.random(count) < share
    lengths = rng.integers(3, 10, size=count)
    words = rng.integers(len(VOCABULARY), size=(count, 9))
    phrase = np.where(rng.random(count) < 0.3, rng.integers(len(ORGANIC_PHRASES), size=count), -1)
    texts: list[str | None] = []
    for i in range(count):
        if not has_text[i]:
            texts.append(None)
            continue
        body = " ".join(VOCABULARY[w] for w in words[i, : lengths[i]])
        texts.append(f"{ORGANIC_PHRASES[phrase[i]]}: {body}" if phrase[i] >= 0 else body)
    return texts


def handles(pool: tuple[str, ...], count: int, rng: np.random.Generator) -> list[str]:
    """Distinct handles: a word or two from ``pool`` and digits."""
    seen: set[str] = set()
    out: list[str] = []
    first = rng.integers(len(pool), size=count * 2)
    second = rng.integers(len(pool), size=count * 2)
    digits = rng.integers(1, 999, size=count * 2)
    for a, b, d in zip(first, second, digits, strict=True):
        name = f"{pool[a]}_{pool[b]}{d}" if a != b else f"{pool[a]}{d}"
        if name not in seen:
            seen.add(name)
            out.append(name)
            if len(out) == count:
                return out
    while len(out) < count:
        name = f"{pool[int(rng.integers(len(pool)))]}{len(out)}_{int(rng.integers(10**6))}"
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def recreated_handle(handle: str, rng: np.random.Generator, taken: set[str]) -> str:
    """The handle a suspended operator comes back under: the same stem, other digits
    (``name3`` -> ``name5``), sometimes with an underscore added."""
    stem = handle.rstrip("0123456789")
    digits = handle[len(stem) :]
    number = int(digits) if digits else 0
    while True:
        candidate = f"{stem}{number + int(rng.integers(1, 4))}"
        if rng.random() < 0.2:
            candidate = candidate.replace(stem, stem + "_", 1)
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        number += 1
