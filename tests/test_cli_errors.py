"""Misuse on the command line (issue 14): one line on stderr, exit code 2, no traceback, nothing changed.

Run through `synth.cli.main`, the entry point users get, so click's own usage errors are
covered as they are printed (not as CliRunner's standalone mode prints them).
"""

import sys
from pathlib import Path

import pytest

from synth.cli import main
from synth.records import Record


@pytest.fixture
def run_synth(project, monkeypatch, capsys):
    def call(*args):
        monkeypatch.setattr(sys, "argv", ["synth", "--project", str(project.root), *args])
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        return exit_.value.code, out.out, out.err

    return call


@pytest.fixture
def stored(project):
    store = project.store()
    _, rid = store.upsert(Record(title="Peer navigators for youth mental health services", pmid="39100001",
                                 source="pubmed", source_id="39100001"))
    store.close()
    return rid


def one_error_line(rc, out, err):
    lines = err.strip().splitlines()
    return rc == 2 and len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in err + out


@pytest.mark.parametrize("args", [
    ("screen", "39100001", "--include", "--exclude"),
    ("screen", "39100001", "--exclude", "--reason", "adult", "--include"),
    ("code", "39100001", "--mechanism", "hope_role_modelling", "--accept", "--reject"),
])
def test_conflicting_flags_are_refused_and_nothing_is_applied(run_synth, project, stored, args):
    rc, out, err = run_synth(*args)
    assert one_error_line(rc, out, err) and "cannot be used together" in err
    store = project.store()
    assert store.conn.execute("SELECT COUNT(*) FROM screening").fetchone()[0] == 0
    assert store.conn.execute("SELECT COUNT(*) FROM curation").fetchone()[0] == 0


def test_the_same_flag_twice_is_not_a_conflict(run_synth, project, stored):
    rc, _, _ = run_synth("screen", "39100001", "--exclude", "--exclude")
    assert rc == 0
    assert project.store().conn.execute("SELECT decision FROM screening").fetchone()[0] == "exclude"


@pytest.mark.parametrize("args,says", [
    (("search", "peer", "--year-from", "20x4"), "--year-from"),
    (("import", "--format", "foo", "x.ris"), "--format"),
    (("table", "--format", "docx"), "--format"),
    (("export", "--nope"), "--nope"),
    (("nonsense",), "nonsense"),
    (("import",), "FILES"),
])
def test_click_usage_errors_are_one_line(run_synth, args, says):
    rc, out, err = run_synth(*args)
    assert one_error_line(rc, out, err) and says in err and "--help" in err


@pytest.mark.parametrize("args", [
    ("table", "-o", "{missing}/x.csv"),
    ("export", "--format", "ris", "-o", "{missing}/x.ris"),
    ("report", "-o", "{missing}/report.html"),
])
def test_output_into_a_missing_folder_is_an_error(run_synth, tmp_path, args):
    missing = tmp_path / "no" / "such"
    rc, out, err = run_synth(*(a.format(missing=missing) for a in args))
    assert one_error_line(rc, out, err) and "does not exist" in err
    assert not (tmp_path / "no").exists()


BIG = "# CMOC review table\n\n| mechanism | outcome |\n|---|---|\n" + "".join(f"| m{i} | o{i} |\n" for i in range(5000))


def test_a_large_table_on_a_terminal_is_summarised(run_synth, monkeypatch):
    from synth.commands import tables as cmd
    from synth import tables

    monkeypatch.setattr(tables, "render", lambda project, fmt, mechanism=None: BIG)
    monkeypatch.setattr(cmd, "_to_terminal", lambda: True)
    rc, out, err = run_synth("table")
    assert rc == 0 and len(out.splitlines()) <= 40 and out.startswith("# CMOC review table")
    assert "more lines not shown" in err and "synth table -o" in err and len(err.strip().splitlines()) == 1
    rc, out, _ = run_synth("table", "-o", "-")  # asked for: everything
    assert rc == 0 and out == BIG


def test_a_table_of_few_but_very_long_lines_is_summarised_too(run_synth, monkeypatch):
    from synth.commands import tables as cmd
    from synth import tables

    quotes = "; ".join(["a supporting quote of some length"] * 200)
    long = "# CMOC review table\n\n| mechanism | quotes |\n|---|---|\n" + "".join(f"| m{i} | {quotes} |\n" for i in range(40))
    monkeypatch.setattr(tables, "render", lambda project, fmt, mechanism=None: long)
    monkeypatch.setattr(cmd, "_to_terminal", lambda: True)
    rc, out, err = run_synth("table")
    assert rc == 0 and out.startswith("# CMOC review table") and len(out) < 8_000
    assert "more lines not shown" in err


def test_a_large_table_piped_is_written_whole(run_synth, monkeypatch):
    from synth.commands import tables as cmd
    from synth import tables

    monkeypatch.setattr(tables, "render", lambda project, fmt, mechanism=None: BIG)
    monkeypatch.setattr(cmd, "_to_terminal", lambda: False)
    rc, out, err = run_synth("table")
    assert rc == 0 and out == BIG and err == ""


def test_python_dash_m_synth_runs_the_cli(tmp_path):
    """`python -m synth` is the CLI (where the `synth` script is not on PATH), errors included."""
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "synth", "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("synth, version")
    bad = subprocess.run([sys.executable, "-m", "synth", "--project", str(tmp_path / "none"), "search", "peer"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_check_exits_1_through_the_entry_point_when_store_and_index_disagree(run_synth, stored):
    """A command's own exit status (`check`: 1 = disagree) reaches the shell through `main`."""
    import json

    code, out, err = run_synth("check", "--json")
    report = json.loads(out)
    assert report["ok"] is False and report["missing"] == 1
    assert code == 1, err


HUGE = "99999999999999999999"


@pytest.mark.parametrize("args,says", [
    (("search", "peer\udcff support"), "not valid UTF-8"),  # bytes that are not UTF-8, as Python receives them
    (("table", "-o", ""), "give a file name"),
    (("report", "-o", " "), "give a file name"),
    (("search", "peer", "--year-from", HUGE), "--year-from"),
    (("search", "peer", "--year-to", "-" + HUGE), "--year-to"),
    (("new", "--since", HUGE), "no run"),
    (("code", "39100001", "--mechanism", "hope_role_modelling", "--accept", "--sentence", HUGE), "--sentence"),
])
def test_odd_arguments_are_one_line_errors(run_synth, stored, args, says):
    rc, out, err = run_synth(*args)
    assert one_error_line(rc, out, err) and says in err, (rc, err)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs a folder no file can be created in (/proc, Linux)")
@pytest.mark.parametrize("args", [("table", "-o", "/proc/synth-t.csv"), ("table", "-o", "/proc/synth-t.xlsx"),
                                  ("export", "--format", "ris", "-o", "/proc/synth-t.ris"), ("report", "-o", "/proc/synth-t.html")])
def test_an_output_that_cannot_be_created_is_a_one_line_error(run_synth, stored, args):
    rc, out, err = run_synth(*args)
    assert one_error_line(rc, out, err) and "/proc/synth-t" in err, (rc, err)


def test_a_sheet_that_is_not_a_workbook_is_refused(run_synth, project, stored, tmp_path):
    fake = tmp_path / "review.xlsx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    rc, out, err = run_synth("code", "--from", str(fake))
    assert one_error_line(rc, out, err) and "not a readable .xlsx" in err
    assert project.store().conn.execute("SELECT COUNT(*) FROM curation").fetchone()[0] == 0


@pytest.mark.parametrize("what", ["toml bytes", "theory bytes", "theory folder"])
def test_config_files_that_cannot_be_read_are_one_line_errors(run_synth, project, stored, what):
    if what == "toml bytes":
        (project.root / "synth.toml").write_bytes(b'[harvest]\ncontact_email = "\xff"\n')
    elif what == "theory bytes":
        Path(project.theory_path).write_bytes(b"mechanisms: \xff\n")
    else:
        Path(project.theory_path).mkdir()
    rc, out, err = run_synth("theory", "show")
    assert one_error_line(rc, out, err) and ("not UTF-8" in err or "cannot read" in err), (rc, err)


@pytest.mark.parametrize("args,says", [
    (("search", "peer", "--json", "--csv"), "--json and --csv"),
    (("code", "39100001", "--note", "a note with nothing to go with"), "--note goes with a decision"),
    (("report", "-o", "report.pdf"), "give a .html file name"),
])
def test_options_that_would_be_ignored_are_refused(run_synth, stored, args, says):
    rc, out, err = run_synth(*args)
    assert one_error_line(rc, out, err) and says in err, (rc, err)


def test_designs_and_sources_are_read_as_people_type_them():
    from synth.commands.search import _filters

    f = _filters(None, None, ("PubMed",), ("RCT", "mixed-methods,Qualitative"), (), False)
    assert f.designs == ("rct", "mixed_methods", "qualitative") and f.sources == ("pubmed",)


def test_merging_a_pair_kept_apart_says_it_replaces_that_decision(run_synth, project):
    store = project.store()
    a = store.upsert(Record(title="Peer mentoring for care leavers", pmid="1", source="pubmed", source_id="1"))[1]
    b = store.upsert(Record(title="A study of something else", pmid="2", source="pubmed", source_id="2"))[1]
    store.close()
    assert run_synth("duplicates", "keep-apart", a, b)[0] == 0
    rc, _, err = run_synth("duplicates", "merge", a, b)
    assert rc == 0 and "replaces the earlier decision to keep" in err and f"into {a}" in err


@pytest.mark.parametrize("toml,says", [
    ('[harvest]\noverlap_days = -30\n', "overlap_days must be a whole number of days, 0 or more"),
    ('[sources.pubmed]\nenabled = "no"\n', "enabled must be true or false"),
])
def test_config_values_that_would_skip_or_misread_sources_are_refused(run_synth, project, toml, says):
    (project.root / "synth.toml").write_text(toml, encoding="utf-8")
    rc, out, err = run_synth("refresh")
    assert one_error_line(rc, out, err) and says in err, (rc, err)


def test_status_does_not_call_a_run_whose_process_is_gone_running(run_synth, project):
    import json
    import subprocess

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store = project.store()
    run_id = store.start_run("refresh")
    store.conn.execute("UPDATE runs SET pid=? WHERE id=?", (gone.pid, run_id))
    store.close()
    rc, out, _ = run_synth("status", "--json")
    assert rc == 0 and json.loads(out)["runs"][0]["status"] == "killed"
