"""The [audit] policy (required checks, waivers, expiry) and the report (JSON, Markdown, baseline)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tributary.audit.policy import apply_policy, required_checks
from tributary.audit.report import Finding, Report, load_baseline, markdown, read_report, regressions
from tributary.config.model import AuditConfig
from tributary.errors import TribError


def fail(check: str, subject: str = "/usr/bin/greet", package: str = "greet") -> Finding:
    return Finding(check=check, subject=subject, status="fail", evidence="because", package=package)


def policy(**table) -> AuditConfig:
    return AuditConfig.model_validate(table)


def test_waiver_matches_check_package_and_path_globs() -> None:
    config = policy(waivers=[{"check": "{pie,relro}", "package": "greet*", "path": "/usr/bin/*", "reason": "known"}])
    out = apply_policy([fail("pie"), fail("relro", "/usr/lib64/x.so"), fail("pie", package="other")], config,
                       today=date(2026, 1, 1))
    assert [(f.status, f.waiver) for f in out] == [("waived", "known"), ("fail", ""), ("fail", "")]


def test_waiver_expires_on_its_date_and_says_so() -> None:
    config = policy(waivers=[{"check": "cet", "reason": "crt files", "expires": "2026-06-01"}])
    before = apply_policy([fail("cet")], config, today=date(2026, 5, 31))[0]
    on = apply_policy([fail("cet")], config, today=date(2026, 6, 1))[0]
    assert before.status == "waived"
    assert on.status == "fail" and on.waiver == "expired 2026-06-01: crt files"


def test_a_check_not_required_only_warns_and_passes_stay_passes() -> None:
    config = policy(required=["pie", "rel*"])
    assert required_checks(config) == {"pie", "relro"}
    out = apply_policy([fail("cet"), fail("pie"), Finding("nx-stack", "/x", "pass", "ok")], config, today=date(2026, 1, 1))
    assert [f.status for f in out] == ["warn", "fail", "pass"]


def test_image_waiver_only_for_its_image() -> None:
    config = policy(waivers=[{"check": "sbom-rpmdb", "image": "wsl", "reason": "r"}])
    finding = Finding("sbom-rpmdb", "/usr/share/tributary/sbom/wsl.spdx.json", "fail", "none")
    assert apply_policy([finding], config, today=date(2026, 1, 1), image="wsl")[0].status == "waived"
    assert apply_policy([finding], config, today=date(2026, 1, 1), image="container-base")[0].status == "fail"


@pytest.mark.parametrize("table", [
    {"required": ["pei"]},
    {"waivers": [{"check": "cet"}]},
    {"waivers": [{"check": "cet", "reason": "  "}]},
    {"waivers": [{"check": "nope", "reason": "r"}]},
    {"waivers": [{"check": "cet", "reason": "r", "expires": "someday"}]},
    {"setuid-alow": []},
])
def test_bad_policy_tables_are_rejected(table) -> None:
    with pytest.raises(ValueError):
        AuditConfig.model_validate(table)


def test_policy_errors_name_the_file_and_line(make_project, trib) -> None:
    root = make_project({
        "azldev.toml": 'includes = ["audit.toml"]\n',
        "audit.toml": '[audit]\nrequired = ["pie"]\n\n[[audit.waivers]]\ncheck = "pei"\nreason = "typo"\n',
    })
    result = trib("-C", str(root), "config", "dump")
    assert result.code == 2
    assert "audit.toml:" in result.err and "'pei' names no audit check" in result.err


def test_waivers_from_several_files_add_up(make_project, trib) -> None:
    root = make_project({
        "azldev.toml": 'includes = ["a.toml", "b.toml"]\n[audit]\nrequired = ["*"]\n',
        "a.toml": '[[audit.waivers]]\ncheck = "cet"\nreason = "a"\nexpires = 2027-01-01\n',
        "b.toml": '[audit]\nsetuid-allow = ["/usr/bin/su"]\n[[audit.waivers]]\ncheck = "pie"\nreason = "b"\n',
    })
    result = trib("-C", str(root), "-O", "json", "config", "dump")
    assert result.code == 0, result.err
    audit = json.loads(result.out)["audit"]
    assert audit["required"] == ["*"] and audit["setuidAllow"] == ["/usr/bin/su"]
    assert [(w["check"], w.get("expires")) for w in audit["waivers"]] == [("cet", "2027-01-01"), ("pie", None)]


def report_with(*findings: Finding) -> Report:
    return Report(kind="rpms", target="out/rpms", audited=date(2026, 2, 3), findings=list(findings))


def test_report_json_round_trips_through_baseline(tmp_path) -> None:
    earlier = report_with(Finding("pie", "/usr/bin/greet", "pass", "ET_DYN with DF_1_PIE", package="greet", rpm="greet-1.rpm"),
                          Finding("fortify", "/usr/bin/greet", "n/a", "none", package="greet"),
                          Finding("cet", "/usr/bin/greet", "waived", "no note", package="greet", waiver="crt"))
    path = tmp_path / "r.json"
    path.write_text(json.dumps(earlier.to_json()))
    assert load_baseline(path) == earlier.findings
    assert read_report(path) == earlier  # the whole report, as the website reads it
    now = [Finding("pie", "/usr/bin/greet", "fail", "ET_EXEC", package="greet"),
           Finding("fortify", "/usr/bin/greet", "waived", "uses printf", package="greet", waiver="w"),
           Finding("cet", "/usr/bin/greet", "waived", "no note", package="greet", waiver="crt"),
           Finding("pie", "/usr/bin/new", "fail", "ET_EXEC", package="greet")]
    # Lost since the baseline: pie (pass -> fail) and fortify (n/a -> waived); cet was already waived;
    # /usr/bin/new has no history.
    assert [(f.check, f.subject) for f in regressions(now, load_baseline(path))] == [
        ("pie", "/usr/bin/greet"), ("fortify", "/usr/bin/greet")]


def test_a_waived_regression_still_fails_the_report() -> None:
    report = report_with(Finding("fortify", "/usr/bin/greet", "waived", "x", package="greet", waiver="w"))
    assert not report.failed
    report.regressions = list(report.findings)
    assert report.failed


def test_baseline_that_is_not_a_report(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"findings": []}')
    with pytest.raises(TribError, match="not an audit report"):
        load_baseline(path)


def test_markdown_lists_failures_with_escaped_cells() -> None:
    text = markdown(report_with(Finding("rpath", "/usr/bin/a|b", "fail", "RUNPATH '/opt'", package="p"),
                                Finding("pie", "/usr/bin/a|b", "pass", "ok", package="p")))
    assert "**FAILED**" in text
    assert "| fail | rpath | p | /usr/bin/a\\|b | RUNPATH '/opt' |" in text
    assert "| 1 | 0 | 0 | 0 | 1 |" in text


def test_expired_waiver_on_a_check_not_required_still_only_warns() -> None:
    config = policy(required=["pie"], waivers=[{"check": "{cet,pie}", "reason": "crt files", "expires": "2026-06-01"}])
    cet, pie = apply_policy([fail("cet"), fail("pie")], config, today=date(2026, 6, 1))
    assert (cet.status, cet.waiver) == ("warn", "expired 2026-06-01: crt files")
    assert (pie.status, pie.waiver) == ("fail", "expired 2026-06-01: crt files")
    # Before it expires, the waiver still applies to both.
    assert {f.status for f in apply_policy([fail("cet"), fail("pie")], config, today=date(2026, 5, 1))} == {"waived"}
