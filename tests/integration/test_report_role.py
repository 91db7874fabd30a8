"""The report role end to end with ansible-playbook on localhost, against a temp tree laid out like a
kubeadm control-plane node (kubeadm v1.28.7's reference manifests and kubelet files, real modes).

No kube-apiserver or kubelet runs here: the role only reads files, so the tree is its real input.
The chain under test is the one audit.yml runs: kubeadm_facts -> cis_node_facts -> cis_report
(delegated, run once) -> summary -> optional failure.
"""
import json
import os

import pytest

from kubeadm_tree import REPORT_PLAYBOOK, make_tree, run_playbook


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
