"""Tests for the report renderers (_report.py) and the generated docs/controls.md."""
import json
import os
import re
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _cis as cis
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _report as rep

from .test_cis import kubeadm_node

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def node_result(roles=("control_plane",), waivers=None):
    node = kubeadm_node(roles)
    return {"results": cis.evaluate_node(node, waivers), "node_roles": list(roles), "benchmark": "cis-1.12"}


@pytest.fixture
def report():
    return rep.build_report({
        "cp2": node_result(waivers={"1.1.12": "kubeadm runs etcd as root"}),
        "cp1": node_result(),
        "worker1": node_result(("worker",)),
    })


def test_build_report_shape(report):
    assert list(report["nodes"]) == ["cp1", "cp2", "worker1"]            # sorted, deterministic
    assert report["schema_version"] == 1 and report["benchmark"] == "cis-1.12"
    assert len(report["controls"]) == len(cis.controls("cis-1.12"))
    for host, node in report["nodes"].items():
        assert set(node) == {"node_roles", "summary", "results"}
        assert sum(node["summary"].values()) == len(node["results"]) == len(report["controls"])
        for row in node["results"]:
            assert set(row) == set(rep._FIELDS)
            assert row["status"] in cis.STATUSES
    cp1 = dict((r["id"], r) for r in report["nodes"]["cp1"]["results"])
    cp2 = dict((r["id"], r) for r in report["nodes"]["cp2"]["results"])
    assert cp1["1.1.12"]["status"] == "fail" and cp2["1.1.12"]["status"] == "waived"
    # an untouched kubeadm worker: config.yaml 0644, and what the kubelet role would write is missing
    assert sorted(r["id"] for r in report["nodes"]["worker1"]["results"] if r["status"] == "fail") == [
        "4.1.9", "4.2.12", "4.2.13", "4.2.14", "4.2.9"]
    failed_ids = [(f["node"], f["id"]) for f in report["failed"]]
    assert ("cp1", "1.2.15") in failed_ids and ("cp2", "1.1.12") not in failed_ids
    assert report["totals"]["fail"] == len(report["failed"])


def test_json_round_trip(report):
    assert json.loads(rep.render_json(report)) == report


def test_summary_lines(report):
    lines = rep.summary_lines(report)
    assert lines[0].startswith("cp1 (control_plane): pass ")
    assert re.search(r"fail \d+, waived 1,", lines[1])
    assert any(line.startswith("FAIL cp1 1.2.15 ") and "observed --profiling=(unset)" in line
               and "expected --profiling == false" in line for line in lines)


def test_junit_parses_and_counts(report):
    root = ElementTree.fromstring(rep.render_junit(report))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["cp1", "cp2", "worker1"]
    for suite in suites:
        cases = suite.findall("testcase")
        node = report["nodes"][suite.get("name")]
        assert int(suite.get("tests")) == len(cases) == len(node["results"])
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == node["summary"]["fail"]
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
    cp1 = suites[0]
    case = [c for c in cp1.findall("testcase") if c.get("name").startswith("1.2.15 ")][0]
    assert "expected --profiling == false" in case.find("failure").get("message")
    waived = [c for c in suites[1].findall("testcase") if c.get("name").startswith("1.1.12 ")][0]
    assert waived.find("skipped").get("message").startswith("waived: kubeadm runs etcd as root")
    assert int(root.get("failures")) == report["totals"]["fail"]


class _Grid(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.cells, self.scripts, self.links = [], 0, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag in ("link", "img") or (tag == "a" and attrs.get("href", "").startswith("http")):
            self.links += 1
        if tag == "td" and attrs.get("class") in cis.STATUSES:
            self.cells.append(attrs["class"])


def test_html_grid_self_contained(report):
    html = rep.render_html(report)
    parser = _Grid()
    parser.feed(html)
    assert parser.scripts == 0 and parser.links == 0                   # no JS, nothing fetched
    grid_cells = len(report["controls"]) * len(report["nodes"])
    summary_cells = len(cis.STATUSES) * len(report["nodes"])
    assert len(parser.cells) == grid_cells + summary_cells
    assert parser.cells.count("fail") >= report["totals"]["fail"]
    assert '<tr id="c-1.2.15"><td>1.2.15</td>' in html
    assert "td.fail{background:" in html


def test_html_escapes_observed_values():
    node = node_result()
    node["results"][0]["observed"] = "<script>alert(1)</script>"
    node["results"][0]["status"] = "fail"
    html = rep.render_html(rep.build_report({"n": node}))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_markdown(report):
    text = rep.render_markdown(report)
    assert "| cp1 | control_plane |" in text
    assert "## Failed controls" in text and "| cp1 | 1.2.15 |" in text
    assert "| cp2 | 1.1.12 | waived: kubeadm runs etcd as root" in text
    assert re.search(r"\| 1\.2\.15 \| [^|]+ \| FAIL \| FAIL \| N/A \|", text)


def test_deterministic(report):
    again = rep.build_report({"worker1": node_result(("worker",)), "cp1": node_result(),
                              "cp2": node_result(waivers={"1.1.12": "kubeadm runs etcd as root"})})
    for _fmt, (_name, render) in rep.RENDERERS.items():
        assert render(report) == render(again)


@pytest.mark.parametrize("nodes,match", [
    ({}, "no node results"),
    ({"cp1": {"failed": True, "msg": "unreachable"}}, "cp1: unreachable"),
    ({"cp1": dict(node_result(), benchmark="cis-1.10")}, "evaluated for cis-1.10"),
])
def test_build_report_errors(nodes, match):
    with pytest.raises(rep.ReportError, match=match):
        rep.build_report(nodes)


def test_controls_doc_is_current():
    with open(os.path.join(ROOT, "docs", "controls.md")) as handle:
        assert handle.read() == rep.render_controls_markdown(), "docs/controls.md is stale: python docs/gen_controls.py"


def test_controls_doc_lists_every_control():
    text = rep.render_controls_markdown()
    for ctl in cis.CONTROLS:
        assert re.search(r"^\| %s \| " % re.escape(ctl["id"]), text, re.M), ctl["id"]
    assert "| 1.1.20 | " in text and "(1.10 differs)" in text


def test_not_evaluated_nodes_are_listed():
    report = rep.build_report({"cp1": node_result()}, not_evaluated=["cp2", "cp1"])
    assert report["not_evaluated"] == ["cp2"]
    assert "cp2: NOT EVALUATED" in "\n".join(rep.summary_lines(report))
    assert "Not evaluated" in rep.render_markdown(report) and "cp2" in rep.render_html(report)
