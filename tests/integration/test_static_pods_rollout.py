"""The static_pods role run by ansible-playbook on localhost (connection local) against a temp
manifests dir holding kubeadm 1.28.7's real manifests.

No kubelet can run here, so a small thread, FakeRunner, plays the lab's kubelet stand-in
honestly: it watches the manifests dir, and for every manifest whose bytes changed writes
<state_dir>/<pod>.json with the new manifest_sha256 and state "running" -- or "invalid" when the
manifest carries the flag the test declares poisonous (POISON), the way a kubelet-started
kube-apiserver would exit on a flag it refuses. Everything else is real: the role, the modules,
the files, the backups and the rollback.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures", "manifests")
PLAYBOOK_BIN = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
POISON = "--audit-log-maxage=13"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

PLAYBOOK = """
- name: Static pod rollout under test
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Facts as kubeadm_node_info would set them for this temp node
      ansible.builtin.set_fact:
        k8s_hardening_node: "{{ test_node }}"
        cacheable: true
    - name: Contributions from the test
      ansible.builtin.set_fact:
        k8s_hardening_static_pod_changes: "{{ test_changes }}"
    - name: Roll out
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.static_pods
    - name: The fact is cleared after applying
      ansible.builtin.assert:
        that: k8s_hardening_static_pod_changes == []
"""


class FakeRunner(threading.Thread):
    """Stands in for the lab's kubelet runner (see module docstring)."""

    def __init__(self, manifests, state_dir):
        super().__init__(daemon=True)
        self.manifests, self.state_dir = manifests, state_dir
        self.seen = {}
        self.starts = []          # (pod, sha, state) in order
        self.stop = threading.Event()

    def scan(self):
        for name in sorted(os.listdir(self.manifests)):
            if name.startswith(".") or not name.endswith(".yaml"):
                continue  # the kubelet ignores dot files
            with open(os.path.join(self.manifests, name), "rb") as handle:
                data = handle.read()
            sha = hashlib.sha256(data).hexdigest()
            pod = yaml.safe_load(data)["metadata"]["name"]
            if self.seen.get(pod) == sha:
                continue
            self.seen[pod] = sha
            bad = POISON.encode() in data
            state = {"name": pod, "state": "invalid" if bad else "running",
                     "reason": ("simulated: %s refused %s" % (pod, POISON)) if bad else "",
                     "manifest_sha256": sha, "pid": 0, "started_at": time.time(), "simulated": True}
            tmp = os.path.join(self.state_dir, ".%s.json" % pod)
            with open(tmp, "w") as handle:
                json.dump(state, handle)
            os.replace(tmp, os.path.join(self.state_dir, pod + ".json"))
            self.starts.append((pod, sha, state["state"]))

    def run(self):
        while not self.stop.is_set():
            self.scan()
            time.sleep(0.05)


@pytest.fixture
def node(tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for comp in COMPONENTS:
        shutil.copy(os.path.join(FIXTURES, comp + ".yaml"), manifests / (comp + ".yaml"))
        os.chmod(manifests / (comp + ".yaml"), 0o600)
    state_dir = tmp_path / "pods"
    state_dir.mkdir()
    policy = tmp_path / "audit-policy.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    runner = FakeRunner(str(manifests), str(state_dir))
    runner.scan()
    runner.start()
    facts = {
        "is_kubeadm_node": True, "node_roles": ["control_plane"], "node_name": "lab-cp1",
        "kubernetes_version": "1.28.7", "kubernetes_minor": 28, "lab": True,
        "paths": {"manifests_dir": str(manifests), "pki_dir": str(tmp_path / "pki")},
        "components": {c: {"manifest": str(manifests / (c + ".yaml"))} for c in COMPONENTS},
    }
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    yield {"tmp": tmp_path, "manifests": manifests, "state_dir": state_dir, "policy": policy,
           "runner": runner, "facts": facts, "backups": tmp_path / "backups"}
    runner.stop.set()
    runner.join(2)


def play(node, changes, check=False):
    extra = {
        "test_node": node["facts"], "test_changes": changes,
        "static_pods_state_dir": str(node["state_dir"]), "static_pods_backup_dir": str(node["backups"]),
        "static_pods_health_timeout": 8, "static_pods_recovery_timeout": 8, "static_pods_health_delay": 0.1,
        "ansible_python_interpreter": sys.executable,
    }
    extra_file = node["tmp"] / "extra.json"
    extra_file.write_text(json.dumps(extra))
    cmd = [PLAYBOOK_BIN, "-i", "localhost,", str(node["tmp"] / "play.yml"), "-e", "@%s" % extra_file]
    if check:
        cmd.append("--check")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", out)
    assert recap, out
    return proc.returncode, int(recap.group(2)), out


def changes_for(node, maxage="30"):
    policy = str(node["policy"])
    return [
        {"source": "audit", "component": "kube-apiserver",
         "flags": {"audit-policy-file": policy, "audit-log-maxage": maxage},
         "volumes": [{"name": "audit-policy", "hostPath": policy, "type": "File", "mountPath": policy,
                      "readOnly": True}],
         "checksum_files": [policy]},
        {"source": "control_plane", "component": "kube-apiserver",
         "flags": {"profiling": False, "enable-admission-plugins": ["NodeRestriction", "EventRateLimit"]}},
        {"source": "control_plane", "component": "kube-scheduler", "flags": {"profiling": False}},
    ]


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_check_apply_idempotent_and_checksum_restart(node):
    api = node["manifests"] / "kube-apiserver.yaml"
    before = {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS}

    rc, changed, out = play(node, changes_for(node), check=True)
    assert rc == 0 and changed == 2, out
    assert {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS} == before, "check mode wrote"

    rc, changed, out = play(node, changes_for(node))
    assert rc == 0 and changed == 2, out
    doc = yaml.safe_load(read(api))
    command = doc["spec"]["containers"][0]["command"]
    assert "--profiling=false" in command and "--enable-admission-plugins=NodeRestriction,EventRateLimit" in command
    checksum = doc["metadata"]["annotations"]["k8s-hardening.io/config-checksum"]
    assert len(checksum) == 64
    assert read(node["manifests"] / "etcd.yaml") == before["etcd"]
    # the runner saw each changed manifest once, and the role waited for it
    new_starts = [s for s in node["runner"].starts if s[0] in ("kube-apiserver", "kube-scheduler")][2:]
    assert [(p, st) for p, _, st in new_starts] == [("kube-apiserver", "running"), ("kube-scheduler", "running")]
    backups = sorted(os.listdir(node["backups"]))
    assert len(backups) == 2 and all(b.endswith(".yaml") for b in backups)
    assert sorted(os.listdir(node["manifests"])) == sorted(c + ".yaml" for c in COMPONENTS)

    rc, changed, out = play(node, changes_for(node))
    assert rc == 0 and changed == 0, out

    # a change of a file the pod reads restarts it through the checksum annotation
    node["policy"].write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n")
    rc, changed, out = play(node, changes_for(node))
    assert rc == 0 and changed == 1, out
    new_checksum = yaml.safe_load(read(api))["metadata"]["annotations"]["k8s-hardening.io/config-checksum"]
    assert len(new_checksum) == 64 and new_checksum != checksum


def test_invalid_pod_is_rolled_back(node):
    api = node["manifests"] / "kube-apiserver.yaml"
    good = read(api)

    rc, changed, out = play(node, changes_for(node, maxage="13"))
    assert rc != 0
    flat = " ".join(out.split())
    assert "Node lab-cp1 (localhost): kube-apiserver did not become healthy" in flat
    assert "set --audit-log-maxage=13 (was unset)" in flat and "volume audit-policy added" in flat
    assert "simulated: kube-apiserver refused --audit-log-maxage=13" in flat
    assert "is healthy again" in flat
    assert read(api) == good, "the backup was not put back byte-identical"
    assert os.stat(api).st_mode & 0o777 == 0o600
    states = [st for pod, _, st in node["runner"].starts if pod == "kube-apiserver"]
    assert states[-2:] == ["invalid", "running"]


def test_conflicting_contributions_fail_before_anything_is_touched(node):
    before = {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS}
    changes = [{"source": "role_a", "component": "kube-scheduler", "flags": {"profiling": False}},
               {"source": "role_b", "component": "kube-scheduler", "flags": {"profiling": True}}]
    rc, changed, out = play(node, changes)
    assert rc != 0
    flat = " ".join(out.split()).replace("''", "'")  # the yaml callback folds and quotes
    assert "conflict on flag profiling of kube-scheduler: role_a wants 'false', role_b wants 'true'" in flat
    assert {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS} == before
    assert not os.path.exists(node["backups"])


def test_a_bad_change_to_a_later_component_stops_before_the_first_is_written(node):
    before = {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS}
    changes = [{"source": "role_a", "component": "kube-apiserver", "flags": {"profiling": False}},
               {"source": "role_b", "component": "kube-scheduler", "flags": {"tls-min-version": "TLS12"}}]
    rc, changed, out = play(node, changes)
    assert rc != 0
    assert "--tls-min-version must be one of" in " ".join(out.split())
    assert {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS} == before
