"""harden.yml's last kubelet play (roles/kubelet/tasks/apiserver_ca.yml), run for real by ansible-playbook:
--kubelet-certificate-authority (CIS 1.2.5) reaches the kube-apiserver manifest through the one static_pods
rollout only once the kubelet of EVERY node in the control_plane and workers groups was verified to serve a
cluster-CA certificate (kubelet__serving_verified, set by serving_check.yml; a node the no-op fast path
skipped counts as verified). The manifests and the pod runner are test_static_pods_rollout's (a temp tree and
its FakeRunner); the inventory has the control-plane node (localhost) and two workers.
"""
import hashlib
import json
import os
import re
import subprocess
import sys

import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import checksum_annotation_key
# node: the pytest fixture the test below uses by name
from test_static_pods_rollout import PLAYBOOK_BIN, ROOT, node  # noqa: F401 pylint: disable=unused-import

INVENTORY = {"all": {"children": {
    "control_plane": {"hosts": {"localhost": {"ansible_connection": "local"}}},
    "workers": {"hosts": {"w1": {"ansible_connection": "local"}, "w2": {"ansible_connection": "local"}}}}}}

PLAYBOOK = """
- name: What the kubelet role left on every node
  hosts: control_plane:workers
  gather_facts: false
  tasks:
    - name: The serving check's verdict, or the fast path's
      ansible.builtin.set_fact:
        kubelet__serving_verified: "{{ test_verified[inventory_hostname] }}"
      when: inventory_hostname in test_verified
    - name: Converged nodes
      ansible.builtin.set_fact:
        harden__converged: "{{ inventory_hostname in test_converged }}"

- name: The last kubelet play of harden.yml, on the control-plane node
  hosts: control_plane
  gather_facts: false
  tasks:
    - name: Facts as kubeadm_facts would set them
      ansible.builtin.set_fact:
        k8s_hardening_node: "{{ test_node }}"
        cacheable: true
    - name: Set --kubelet-certificate-authority when every kubelet is verified
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.kubelet
        tasks_from: apiserver_ca.yml
"""


def run(node, verified, converged=(), check=False):
    tmp = node["tmp"]
    (tmp / "inventory.yml").write_text(yaml.safe_dump(INVENTORY))
    (tmp / "ca-play.yml").write_text(PLAYBOOK)
    extra = {"test_node": node["facts"], "test_verified": verified, "test_converged": list(converged),
             "static_pods_state_dir": str(node["state_dir"]), "static_pods_backup_dir": str(node["backups"]),
             "static_pods_health_timeout": 30, "static_pods_recovery_timeout": 30, "static_pods_health_delay": 0.1,
             "ansible_python_interpreter": sys.executable}
    (tmp / "ca-extra.json").write_text(json.dumps(extra))
    cmd = [PLAYBOOK_BIN, "-i", str(tmp / "inventory.yml"), str(tmp / "ca-play.yml"), "-e", "@%s" % (tmp / "ca-extra.json")]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(cmd + (["--check", "--diff"] if check else []), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", out)
    return int(recap.group(1)), " ".join(out.split())


def test_flag_waits_for_every_kubelet_then_is_set_once(node):
    pki = node["tmp"] / "pki"
    pki.mkdir()
    (pki / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n")
    node["facts"]["paths"]["pki_dir"] = str(pki)
    api = node["manifests"] / "kube-apiserver.yaml"
    before = api.read_bytes()

    # w2's kubelet still serves a self-signed certificate: nothing changes, w2 is named
    changed, out = run(node, {"localhost": True, "w1": True, "w2": False})
    assert changed == 0 and api.read_bytes() == before
    assert "the kubelet of w2 does not serve a certificate signed by the cluster CA yet" in out

    # w1 never got evaluated in this run (e.g. --limit): it holds the flag back too
    changed, out = run(node, {"localhost": True, "w2": True})
    assert changed == 0 and api.read_bytes() == before and "the kubelet of w1 does not" in out

    # every node verified (w2 skipped by the no-op fast path counts): check mode shows, writes nothing
    changed, out = run(node, {"localhost": True, "w1": True}, converged=["w2"], check=True)
    assert changed == 1 and api.read_bytes() == before
    assert "kubelet-certificate-authority" in out

    changed, out = run(node, {"localhost": True, "w1": True}, converged=["w2"])
    assert changed == 1
    doc = yaml.safe_load(api.read_bytes())
    assert "--kubelet-certificate-authority=%s" % (pki / "ca.crt") in doc["spec"]["containers"][0]["command"]
    key = checksum_annotation_key(str(pki / "ca.crt"))
    assert doc["metadata"]["annotations"][key] == hashlib.sha256((pki / "ca.crt").read_bytes()).hexdigest()

    # the next run changes nothing
    changed, out = run(node, {"localhost": True, "w1": True, "w2": True})
    assert changed == 0
