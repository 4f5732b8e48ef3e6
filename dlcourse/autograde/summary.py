"""The class summary of an output folder: per question statistics, a histogram, one HTML page.

Per question (graded notebooks only): the mean and median points, the pass rate (the share of
students with full points) and the most common reason points were lost.  Reasons follow the
hidden-case rule of the student feedback: a category only (``wrong shape``, ``timed out``,
...; :func:`~dlcourse.autograde.spec.reason_category`), never a hidden case's name, inputs,
expected values or output, so the page can be shown to teaching assistants or the class.
The histogram (``histogram.png``, drawn with matplotlib's Agg backend) shows the students'
total scores in percent (the roster's students, when there is a roster); ``summary.html`` embeds it as a data URI and needs no network.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from pathlib import Path

from dlcourse.autograde import gradebook as gb
from dlcourse.autograde import results
from dlcourse.autograde.late import LatePolicy
from dlcourse.autograde.roster import Roster


def question_stats(records: list[dict]) -> list[dict]:
    """One entry per (topic, question): ``n``, ``mean``, ``median``, ``pass_rate``,
    ``failure`` (the most common category of lost cases, None when none was lost)."""
    points: dict[tuple[str, str], list[float]] = {}
    maxima: dict[tuple[str, str], float] = {}
    kinds: dict[tuple[str, str], str] = {}
    failures: dict[tuple[str, str], Counter] = {}
    for r in records:
        if r.get("status") != "graded":
            continue
        for q in r["questions"]:
            key = (str(r["topic"]), q["qid"])
            maxima[key], kinds[key] = q["max_points"], q["kind"]
            failures.setdefault(key, Counter())
            if q["kind"] == "manual" and q.get("points") is None:
                points.setdefault(key, [])
                continue
            points.setdefault(key, []).append(float(q["points"]))
            for lost in q.get("lost", []):
                failures[key][lost.get("category") or "failed"] += 1
    out = []
    for key in sorted(points):
        got = points[key]
        top = failures[key].most_common(1)
        out.append({"topic": key[0], "question": key[1], "kind": kinds[key], "max_points": maxima[key],
                    "n": len(got), "mean": round(statistics.fmean(got), 3) if got else None,
                    "median": round(statistics.median(got), 3) if got else None,
                    "pass_rate": round(sum(p >= maxima[key] for p in got) / len(got), 3) if got else None,
                    "failure": f"{top[0][0]} ({top[0][1]} case(s))" if top else None})
    return out


def totals(out_dir: str | Path) -> list[dict]:
    """Each student's score and maximum over all assignments (from the folder's state); with a
    roster, the roster's students only."""
    state = results.load_state(out_dir)
    if state is None:
        raise results.ResultsError(f"{out_dir} holds no results")
    records = state["records"]
    gb.apply_manual(records, results.load_manual(out_dir))
    roster = Roster.from_rows(state["roster"]) if state.get("roster") else None
    rows = gb.build_rows(records, state["questions"], roster=roster, students=state.get("students"),
                         late=LatePolicy.from_dict(state.get("late")))
    by: dict[str, dict] = {}
    for r in rows:
        if roster is not None and not r["on_roster"]:  # an unknown submitter is not in the class
            continue
        t = by.setdefault(r["student"], {"student": r["student"], "score": 0.0, "max": 0.0, "missing": 0})
        t["score"] += float(r["score"])
        t["max"] += float(r["max_points"])
        t["missing"] += r["status"] == "missing"
    return list(by.values())


def histogram_png(percents: list[float]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    ax.hist(percents, bins=list(range(0, 101, 10)), color="#4c72b0", edgecolor="white")
    ax.set_xlabel("total score (%)")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, 100)
    ax.set_title(f"{len(percents)} students")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_summary(out_dir: str | Path) -> dict[str, Path]:
    """Write ``summary.html``, ``histogram.png`` and ``summary.csv`` into the output folder."""
    out = Path(out_dir)
    state = results.load_state(out)
    if state is None:
        raise results.ResultsError(f"{out} holds no results")
    records = state["records"]
    gb.apply_manual(records, results.load_manual(out))
    stats = question_stats(records)
    tot = totals(out)
    percents = [100 * t["score"] / t["max"] for t in tot if t["max"]]
    png = histogram_png(percents)
    paths = {"html": out / "summary.html", "png": out / "histogram.png", "csv": out / "summary.csv"}
    paths["png"].write_bytes(png)
    import csv

    with open(paths["csv"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        cols = ("topic", "question", "kind", "max_points", "n", "mean", "median", "pass_rate", "failure")
        w.writerow(cols)
        for s in stats:
            w.writerow(["" if s[c] is None else s[c] for c in cols])
    e = html.escape
    mean_total = statistics.fmean(percents) if percents else 0.0
    median_total = statistics.median(percents) if percents else 0.0

    def cell(v, pct=False):
        if v is None:
            return "—"
        return f"{100 * v:.0f} %" if pct else f"{v:g}"

    rows = "\n".join(
        f"<tr><td>{e(s['topic'])}</td><td>{e(s['question'])}{' (written)' if s['kind'] == 'manual' else ''}</td>"
        f"<td>{s['max_points']:g}</td><td>{s['n']}</td><td>{cell(s['mean'])}</td><td>{cell(s['median'])}</td>"
        f"<td>{cell(s['pass_rate'], True)}</td><td>{e(s['failure'] or '—')}</td></tr>" for s in stats)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Grading summary</title>
<style>body{{font-family:sans-serif;max-width:64em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}th{{background:#eee}}</style></head>
<body><h1>Grading summary</h1>
<p>{len(tot)} students; total score mean {mean_total:.1f} %, median {median_total:.1f} %;
{sum(t['missing'] > 0 for t in tot)} with at least one missing submission.</p>
<img alt="histogram of total scores" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Per question</h2>
<p>Pass rate: share of the graded notebooks with full points. Reasons are categories only
(hidden cases are never described).</p>
<table><tr><th>assignment</th><th>question</th><th>max</th><th>graded</th><th>mean</th><th>median</th>
<th>pass rate</th><th>most common failure</th></tr>
{rows}
</table></body></html>
"""
    paths["html"].write_text(page, encoding="utf-8")
    return paths
