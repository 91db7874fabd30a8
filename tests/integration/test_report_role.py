"""The report role end to end with ansible-playbook on localhost, against a temp tree laid out like a
kubeadm control-plane node (kubeadm v1.28.7's reference manifests and kubelet files, real modes).

No kube-apiserver or kubelet runs here: the role only reads files, so the tree is its real input.
The chain under test is the one audit.yml runs: kubeadm_facts -> cis_node_facts -> cis_report
(delegated, run once) -> summary -> optional failure.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")
PLAYBOOK = """\
- name: Report on a fake kubeadm tree
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Node facts from the temp tree
      k8s_hardening.kubeadm.kubeadm_facts:
        kubernetes_dir: "{{ tree }}/etc/kubernetes"
        kubelet_dir: "{{ tree }}/var/lib/kubelet"
        lab_state_dir: "{{ tree }}/no-lab"
    - name: The report
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.report
"""


def _tree(tmp):
    k8s = os.path.join(tmp, "etc", "kubernetes")
    os.makedirs(os.path.join(k8s, "manifests"))
    os.makedirs(os.path.join(k8s, "pki", "etcd"))
    for comp in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        with open(os.path.join(FIXTURES, "manifests", comp + ".yaml")) as handle:
            text = handle.read().replace("/etc/kubernetes/pki", os.path.join(k8s, "pki"))
        path = os.path.join(k8s, "manifests", comp + ".yaml")
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o600)
    for name in ("admin.conf", "kubelet.conf", "scheduler.conf", "controller-manager.conf"):
        with open(os.path.join(k8s, name), "w") as handle:
            handle.write("apiVersion: v1\nkind: Config\n")
        os.chmod(os.path.join(k8s, name), 0o600)
    kubelet = os.path.join(tmp, "var", "lib", "kubelet")
    os.makedirs(kubelet)
    shutil.copy(os.path.join(FIXTURES, "kubelet", "config.yaml"), kubelet)
    shutil.copy(os.path.join(FIXTURES, "kubelet", "kubeadm-flags.env"), kubelet)


def _play(tmp, extra):
    book = os.path.join(tmp, "play.yml")
    with open(book, "w") as handle:
        handle.write(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    extra = dict({"tree": os.path.join(tmp, "tree"), "k8s_hardening_report_dir": os.path.join(tmp, "reports"),
                  "ansible_python_interpreter": sys.executable}, **extra)
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", "localhost,", book, "-e", json.dumps(extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def tmp(tmp_path):
    _tree(str(tmp_path / "tree"))
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
