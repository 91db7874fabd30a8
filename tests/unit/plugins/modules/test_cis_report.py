"""cis_report module shell: writes the four report files atomically, only when their content changes."""
import json
import os
from xml.etree import ElementTree

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _cis as cis

from ..module_utils.test_cis import kubeadm_node
from .modrun import run_module


def _nodes():
    return {"cp1": {"results": cis.evaluate_node(kubeadm_node()), "node_roles": ["control_plane"]},
            "worker1": {"results": cis.evaluate_node(kubeadm_node(("worker",))), "node_roles": ["worker"]}}


def test_check_write_idempotent(tmp_path):
    dest = tmp_path / "reports"
    args = {"dest": str(dest), "nodes": _nodes(), "not_evaluated": ["cp2"]}
    rc, res = run_module("cis_report", args, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is True and not dest.exists()          # check mode writes nothing
    rc, res = run_module("cis_report", args, tmp_path)
    assert rc == 0 and res["changed"] is True
    names = sorted(os.listdir(dest))
    assert names == ["report.html", "report.json", "report.junit.xml", "report.md"]
    report = json.loads((dest / "report.json").read_text())
    assert report["not_evaluated"] == ["cp2"] and list(report["nodes"]) == ["cp1", "worker1"]
    ElementTree.parse(str(dest / "report.junit.xml"))
    assert oct(os.stat(dest / "report.md").st_mode & 0o777) == "0o644"
    assert any(line.startswith("FAIL cp1 1.2.15") for line in res["summary_lines"])
    assert res["summary_lines"][0].startswith("cp1 (control_plane): pass ")
    mtimes = dict((n, os.stat(dest / n).st_mtime_ns) for n in names)
    rc, res = run_module("cis_report", args, tmp_path)
    assert rc == 0 and res["changed"] is False and res["changed_files"] == []
    assert mtimes == dict((n, os.stat(dest / n).st_mtime_ns) for n in names)   # never rewritten unchanged


def test_drift_changes_only_the_report(tmp_path):
    dest = tmp_path / "reports"
    nodes = _nodes()
    run_module("cis_report", {"dest": str(dest), "nodes": nodes, "formats": ["json", "markdown"]}, tmp_path)
    node = kubeadm_node()
    node["components"]["kube-scheduler"]["flags"]["profiling"] = "false"
    nodes["cp1"]["results"] = cis.evaluate_node(node)
    rc, res = run_module("cis_report", {"dest": str(dest), "nodes": nodes, "formats": ["json", "markdown"]}, tmp_path)
    assert rc == 0 and res["changed"] is True
    assert res["changed_files"] == [str(dest / "report.json"), str(dest / "report.md")]
    assert not any(line.startswith("FAIL cp1 1.4.1") for line in res["summary_lines"])
    assert "1.4.1" in res["diff"][1]["before"]


def test_no_results_fails(tmp_path):
    rc, res = run_module("cis_report", {"dest": str(tmp_path / "r"), "nodes": {}, "not_evaluated": ["cp1"]}, tmp_path)
    assert rc != 0 and "not evaluated: cp1" in res["msg"]
    assert not (tmp_path / "r").exists()
