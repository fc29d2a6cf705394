"""A self-contained HTML report of an offline analysis (``mrd analyze --html``).

One file with no scripts and nothing fetched: the charts are inline SVG drawn here,
so the report opens the same in any browser or mail client a colleague uses.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np

from app.db.results_repository import parse_time

TIMELINE_BINS = 300
WIDTH, HEIGHT = 900, 220
ORCHESTRATED, ORGANIC = "#c0392b", "#7f8c9a"
TIER_COLOURS = {"1": "#7b1e1e", "2": "#e67e22", "3": "#f1c40f"}
TABLE_ROWS = 50

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#1d2329}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{padding:0 .4rem;border-radius:.6rem;color:#fff;font-size:.8rem}
.orchestrated{background:#c0392b}.organic{background:#7f8c9a}
.facts{display:flex;gap:1.5rem;flex-wrap:wrap}.facts div{background:#f4f6f8;padding:.5rem 1rem}
.facts b{display:block;font-size:1.3rem}.muted{color:#66707a}
"""


def _timeline(waves: list[dict[str, Any]]) -> str:
    """Reports per time bin over all waves, orchestrated stacked on organic, as SVG."""
    if not waves:
        return "<p class=muted>No waves.</p>"
    starts = np.array([parse_time(w["start"]).timestamp() for w in waves])
    ends = np.array([parse_time(w["end"]).timestamp() for w in waves])
    first, last = float(starts.min()), float(ends.max()) + 60.0
    width_s = max((last - first) / TIMELINE_BINS, 60.0)
    series = {"orchestrated": np.zeros(TIMELINE_BINS), "organic": np.zeros(TIMELINE_BINS)}
    for wave, start in zip(waves, starts, strict=True):
        counts = np.asarray(wave["arrivals"]["counts"], dtype=float)
        times = start + np.arange(len(counts)) * wave["arrivals"]["bucket_s"]
        bins = np.minimum(((times - first) // width_s).astype(int), TIMELINE_BINS - 1)
        np.add.at(series[wave["label"]], bins, counts)
    top = float((series["orchestrated"] + series["organic"]).max()) or 1.0
    bar = WIDTH / TIMELINE_BINS
    rects = []
    for i in range(TIMELINE_BINS):
        base = HEIGHT
        for label, colour in (("organic", ORGANIC), ("orchestrated", ORCHESTRATED)):
            height = series[label][i] / top * (HEIGHT - 20)
            if height > 0:
                rects.append(
                    f'<rect x="{i * bar:.1f}" y="{base - height:.1f}" width="{bar:.2f}" '
                    f'height="{height:.1f}" fill="{colour}"/>'
                )
                base -= height
    axis = (
        f'<text x="0" y="{HEIGHT + 16}">{_day(first)}</text>'
        f'<text x="{WIDTH}" y="{HEIGHT + 16}" text-anchor="end">{_day(last)}</text>'
        f'<text x="4" y="12">{top:,.0f} reports per {_span(width_s)}</text>'
    )
    return (
        f'<svg viewBox="0 -4 {WIDTH} {HEIGHT + 24}" width="100%" role="img" '
        f'aria-label="Reports over time, orchestrated and organic" font-size="12" '
        f'fill="#444">{"".join(rects)}{axis}</svg>'
        f'<p class=muted><span class="badge orchestrated">orchestrated</span> '
        f'<span class="badge organic">organic</span> reports in waves over time</p>'
    )


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def _span(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} days"
    if seconds >= 3_600:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds / 60:.0f} min"


def _rings(network: dict[str, Any]) -> str:
    """The three tiers as rings (tier 1 inside), hubs sized by their gathered members."""
    tiers, hubs = network["tiers"], network["hubs"]
    size = {h["account_id"]: h["member_count"] for h in hubs}
    centre, dots = 200, []
    for tier, radius, listing in (
        ("1", 45, "accounts"),
        ("2", 110, "accounts"),
        ("3", 175, "sample"),
    ):
        shown = tiers[tier][listing][:60]
        for i, account in enumerate(shown):
            angle = 2 * math.pi * i / max(len(shown), 1)
            r = 4 + 2 * math.log1p(size.get(account, 0))
            x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
            dots.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{TIER_COLOURS[tier]}">'
                f"<title>{escape(account)}</title></circle>"
            )
    legend = "".join(
        f'<text x="410" y="{40 + 22 * i}" fill="{TIER_COLOURS[t]}">&#9679; tier {t} '
        f"{escape(tiers[t]['label'].replace('_', ' '))}: {tiers[t]['count']:,}</text>"
        for i, t in enumerate(("1", "2", "3"))
    )
    return (
        f'<svg viewBox="0 0 720 400" width="100%" role="img" font-size="14" '
        f'aria-label="The three tiers of the network">{"".join(dots)}{legend}'
        f'<text x="410" y="120" fill="#666">tier 3: a sample of {len(tiers["3"]["sample"])}'
        f"</text></svg>"
    )


def _cell(value: Any, numeric: bool = False) -> str:
    if numeric:
        shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
        return f'<td class="n">{shown}</td>'
    return f'<td dir="auto">{escape(str(value))}</td>'


def _table(header: list[str], rows: list[list[Any]], numeric: set[int]) -> str:
    if not rows:
        return "<p class=muted>None.</p>"
    head = "".join(
        f'<th class="{"n" if i in numeric else ""}">{escape(h)}</th>' for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>" + "".join(_cell(v, i in numeric) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _named(account_id: str, handles: dict[str, str]) -> str:
    """ "@handle (id)" where the data set has a handle, else the id."""
    handle = handles.get(account_id)
    return f"@{handle} ({account_id})" if handle else account_id


def _wave_rows(waves: list[dict[str, Any]], handles: dict[str, str]) -> str:
    if not waves:
        return "<p class=muted>None.</p>"
    ranked = sorted(waves, key=lambda w: -w["score"])[:TABLE_ROWS]
    rows = []
    for w in ranked:
        label = f'<span class="badge {w["label"]}">{w["label"]}</span>'
        why = escape("; ".join(w["explanations"][:2]))
        lead = escape(", ".join(_named(o["account_id"], handles) for o in w["orchestrators"][:3]))
        target = escape(_named(w["target_id"], handles))
        rows.append(
            f'<tr><td dir="auto">{target}</td><td>{w["start"]}</td>'
            f'<td class="n">{w["report_count"]:,}</td><td class="n">{w["score"]:.2f}</td>'
            f'<td>{label}</td><td dir="auto">{lead}</td><td>{why}</td></tr>'
        )
    head = "".join(
        f"<th{' class=n' if h in ('reports', 'score') else ''}>{h}</th>"
        for h in ("target", "start", "reports", "score", "label", "directed by", "why")
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_report(
    document: dict[str, Any], title: str, handles: dict[str, str] | None = None
) -> str:
    """The whole report as one HTML string; accounts shown with their ``handles``."""
    handles = handles or {}
    waves, groups, network = document["waves"], document["groups"], document["network"]
    orchestrated = [w for w in waves if w["label"] == "orchestrated"]
    targets = sorted(
        (a for a in document["accounts"] if a["target_risk"] >= 0.5),
        key=lambda a: -a["target_risk"],
    )
    facts = {
        "waves": len(waves),
        "orchestrated": len(orchestrated),
        "reports in orchestrated waves": sum(w["report_count"] for w in orchestrated),
        "targets under attack": len(targets),
        "lockstep groups": len(groups),
        "network members": sum(t["count"] for t in network["tiers"].values()),
    }
    fact_html = "".join(f"<div><b>{v:,}</b>{escape(k)}</div>" for k, v in facts.items())
    group_rows = [
        [
            g["group_id"],
            g["size"],
            g["cohesion"],
            len(g["wave_ids"]),
            ", ".join(_named(t, handles) for t in g["target_ids"][:5]),
        ]
        for g in sorted(groups, key=lambda g: -g["size"])[:TABLE_ROWS]
    ]
    target_rows = [
        [_named(a["account_id"], handles), a["target_risk"], "; ".join(a["explanations"][:1])]
        for a in targets[:TABLE_ROWS]
    ]
    hub_rows = [
        [_named(h["account_id"], handles), h["member_count"]] for h in network["hubs"][:TABLE_ROWS]
    ]
    tier_rows = [
        [
            f"{t} ({network['tiers'][t]['label']})",
            network["tiers"][t]["count"],
            ", ".join(
                _named(a, handles)
                for a in network["tiers"][t].get("accounts", network["tiers"][t].get("sample", []))[
                    :12
                ]
            ),
        ]
        for t in ("1", "2", "3")
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}</style></head><body>
<h1>{escape(title)}</h1>
<p class=muted>Coordinated mass-reporting analysis, generated {generated}. Scores are
calibrated probabilities that a wave was orchestrated.</p>
<div class=facts>{fact_html}</div>
<h2>Reports over time</h2>{_timeline(waves)}
<h2>Waves (highest score first, up to {TABLE_ROWS})</h2>{_wave_rows(waves, handles)}
<h2>Targets under attack</h2>
{_table(["account", "target risk", "why"], target_rows, {1})}
<h2>Lockstep groups</h2>
{_table(["group", "size", "cohesion", "waves", "targets"], group_rows, {1, 2, 3})}
<h2>The network: three tiers</h2>{_rings(network)}
{_table(["tier", "accounts", "first accounts"], tier_rows, {1})}
<h2>Hubs</h2>{_table(["hub", "gathered supporters"], hub_rows, {1})}
</body></html>
"""
