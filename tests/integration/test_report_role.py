"""The report role end to end with ansible-playbook on localhost, against a temp tree laid out like a
kubeadm control-plane node (kubeadm v1.28.7's reference manifests and kubelet files, real modes).

No kube-apiserver or kubelet runs here: the role only reads files, so the tree is its real input.
The chain under test is the one audit.yml runs: kubeadm_facts -> cis_node_facts -> cis_report
(delegated, run once) -> summary -> optional failure.
"""
import json
import os

import pytest

from kubeadm_tree import AUDIT_PLAYBOOK, REPORT_PLAYBOOK, make_tree, run_playbook


def _play(tmp, extra):
    return run_playbook(tmp, REPORT_PLAYBOOK, extra, timeout=120)


@pytest.fixture
def tmp(tmp_path):
    make_tree(str(tmp_path / "tree"), "1.28.7")
    return str(tmp_path)


def test_report_fails_on_failed_then_is_idempotent(tmp):
    proc = _play(tmp, {"k8s_hardening_report_fail_on_failed": True})
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "failed CIS control(s)" in proc.stdout
    assert "localhost (control_plane): pass " in proc.stdout
    assert "FAIL localhost 1.2.15 Ensure that the --profiling argument is set to false" in proc.stdout
    with open(os.path.join(tmp, "reports", "report.json")) as handle:
        report = json.load(handle)
    rows = dict((r["id"], r) for r in report["nodes"]["localhost"]["results"])
    assert rows["1.2.15"]["status"] == "fail" and rows["1.1.1"]["status"] == "pass"
    assert sorted(os.listdir(os.path.join(tmp, "reports"))) == [
        "report.html", "report.json", "report.junit.xml", "report.md"]

    # the same tree again, not failing on fails: nothing on the "node" or the report changes
    proc = _play(tmp, {"k8s_hardening_report_fail_on_failed": False})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[1]


def test_waivers_and_bad_waiver(tmp):
    proc = _play(tmp, {"k8s_hardening_waivers": {"1.2.15": "profiling needed by the APM agent"}})
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(os.path.join(tmp, "reports", "report.md")) as handle:
        assert "| localhost | 1.2.15 | waived: profiling needed by the APM agent" in handle.read()
    proc = _play(tmp, {"k8s_hardening_waivers": {"1.2.99": "typo"}})
    assert proc.returncode == 2
    assert "k8s_hardening_waivers: unknown CIS control id" in proc.stdout and "1.2.99" in proc.stdout


def test_audit_without_the_api_names_the_way_to_a_node_only_report(tmp):
    """audit.yml reads CIS section 5 through the API: where it cannot (here no kubeconfig), it stops before any
    report, naming the problem and k8s_hardening_report_cluster; with that false it reports the nodes alone."""
    missing = os.path.join(tmp, "no-such", "admin.conf")
    proc = run_playbook(tmp, AUDIT_PLAYBOOK, {"k8s_api_host": "localhost", "k8s_api_kubeconfig": missing,
                                              "ansible_connection": "local"},
                        timeout=180)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "through the API and could not: k8s_api: the Kubernetes API cannot be used from localhost" in out, out[-3000:]
    assert missing in out and "set k8s_hardening_report_cluster: false for a report of the nodes alone" in out
    assert not os.path.exists(os.path.join(tmp, "reports"))

    proc = run_playbook(tmp, AUDIT_PLAYBOOK, {"k8s_api_host": "localhost", "k8s_api_kubeconfig": missing,
                                              "ansible_connection": "local", "k8s_hardening_report_cluster": False},
                        timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(os.path.join(tmp, "reports", "report.json")) as handle:
        report = json.load(handle)
    assert sorted(report["nodes"]) == ["localhost"] and not report.get("cluster_findings")
