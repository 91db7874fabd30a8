"""The static_pods role run by ansible-playbook on localhost (connection local) against a temp
manifests dir holding kubeadm 1.28.7's real manifests.

No kubelet can run here, so a small thread, FakeRunner, plays the lab's kubelet stand-in
honestly: it watches the manifests dir, and for every manifest whose bytes changed writes
<state_dir>/<pod>.json with the new manifest_sha256 and state "running" -- or "invalid" when the
manifest carries the flag the test declares poisonous (POISON), the way a kubelet-started
kube-apiserver would exit on a flag it refuses. Everything else is real: the role, the modules,
the files, the backups and the rollback.

The last test uses no fake at all: the lab's own kubelet stand-in (lab/files/lab-kubelet.py, in
child-process mode) runs Debian's real etcd from a kubeadm-shaped manifest on 127.0.0.1 high ports;
the role hardens etcd's cipher suites (checked with real TLS handshakes), and a change etcd really
refuses (it crash-loops) is rolled back. (Conflicting contributions are covered by the unit tests of
_manifest.merge_contributions and the k8s_static_pod_merge filter.)
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

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import checksum_annotation_key

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
    - name: Facts as kubeadm_facts would set them for this temp node
      ansible.builtin.set_fact:
        k8s_hardening_node: "{{ test_node }}"
        cacheable: true
      tags: [always]
    - name: Contributions from the test
      ansible.builtin.set_fact:
        k8s_hardening_static_pod_changes: "{{ test_changes }}"
      tags: [always]
    - name: Roll out
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.static_pods
      tags: [always]
    - name: The fact is cleared after applying, and the applied contributions recorded
      ansible.builtin.assert:
        that:
          - k8s_hardening_static_pod_changes == []
          - k8s_hardening_static_pod_applied == (test_expect_applied | default(test_changes))
      tags: [always]
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


def play(node, changes, check=False, cli=(), expect_applied=None):
    extra = {
        "test_node": node["facts"], "test_changes": changes,
        "static_pods_state_dir": str(node["state_dir"]), "static_pods_backup_dir": str(node["backups"]),
        "static_pods_health_timeout": 30, "static_pods_recovery_timeout": 30, "static_pods_health_delay": 0.1,
        "ansible_python_interpreter": sys.executable,
    }
    extra_file = node["tmp"] / "extra.json"
    extra_file.write_text(json.dumps(extra))
    cmd = [PLAYBOOK_BIN, "-i", "localhost,", str(node["tmp"] / "play.yml"), "-e", "@%s" % extra_file]
    if expect_applied is not None:
        extra["test_expect_applied"] = expect_applied
        extra_file.write_text(json.dumps(extra))
    if check:
        cmd.append("--check")
    cmd.extend(cli)
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
    key = checksum_annotation_key(str(node["policy"]))
    checksum = doc["metadata"]["annotations"][key]
    assert checksum == hashlib.sha256(node["policy"].read_bytes()).hexdigest()
    assert read(node["manifests"] / "etcd.yaml") == before["etcd"]
    # the runner saw each changed manifest once, and the role waited for it
    new_starts = [s for s in node["runner"].starts if s[0] in ("kube-apiserver", "kube-scheduler")][2:]
    assert [(p, st) for p, dummy, st in new_starts] == [("kube-apiserver", "running"), ("kube-scheduler", "running")]
    backups = sorted(os.listdir(node["backups"]))
    assert len(backups) == 2 and all(b.endswith(".yaml") for b in backups)
    assert sorted(os.listdir(node["manifests"])) == sorted(c + ".yaml" for c in COMPONENTS)

    rc, changed, out = play(node, changes_for(node))
    assert rc == 0 and changed == 0, out

    # a change of a file the pod reads restarts it through the checksum annotation
    node["policy"].write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n")
    rc, changed, out = play(node, changes_for(node))
    assert rc == 0 and changed == 1, out
    new_checksum = yaml.safe_load(read(api))["metadata"]["annotations"][key]
    assert new_checksum == hashlib.sha256(node["policy"].read_bytes()).hexdigest() != checksum


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
    states = [st for pod, dummy, st in node["runner"].starts if pod == "kube-apiserver"]
    assert states[-2:] == ["invalid", "running"]


def test_runs_under_any_tags_and_skips_one_component_by_tag(node):
    """Included from a role run with --tags control_plane, the rollout must still happen;
    --skip-tags static_pods_kube_scheduler leaves the scheduler alone and unrecorded."""
    scheduler = read(node["manifests"] / "kube-scheduler.yaml")
    changes = changes_for(node)
    rc, changed, out = play(node, changes, cli=["--tags", "control_plane", "--skip-tags", "static_pods_kube_scheduler"],
                            expect_applied=[c for c in changes if c["component"] != "kube-scheduler"])
    assert rc == 0 and changed == 1, out
    assert "--profiling=false" in read(node["manifests"] / "kube-apiserver.yaml").decode()
    assert read(node["manifests"] / "kube-scheduler.yaml") == scheduler


def test_a_bad_change_to_a_later_component_stops_before_the_first_is_written(node):
    before = {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS}
    changes = [{"source": "role_a", "component": "kube-apiserver", "flags": {"profiling": False}},
               {"source": "role_b", "component": "kube-scheduler", "flags": {"tls-min-version": "TLS12"}}]
    rc, changed, out = play(node, changes)
    assert rc != 0
    assert "--tls-min-version must be one of" in " ".join(out.split())
    assert {c: read(node["manifests"] / (c + ".yaml")) for c in COMPONENTS} == before


# ---------------------------------------------------------------------------------------------
# The same role with the lab's own kubelet stand-in (lab/files/lab-kubelet.py, child-process mode)
# running Debian's REAL etcd from a kubeadm-shaped manifest on 127.0.0.1 high ports.
# ---------------------------------------------------------------------------------------------
LAB_KUBELET = os.path.join(ROOT, "lab", "files", "lab-kubelet.py")
ETCD = shutil.which("etcd")
STRONG_RSA = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]


def _free_ports(count):
    import socket
    socks = [socket.socket() for dummy in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _openssl(cwd, *args):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def real_etcd_node(tmp_path):
    if ETCD is None or not os.path.isfile(LAB_KUBELET) or shutil.which("openssl") is None:
        pytest.skip("needs etcd, openssl and lab/files/lab-kubelet.py")
    pki = tmp_path / "pki" / "etcd"
    pki.mkdir(parents=True)
    (tmp_path / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                      "extendedKeyUsage=serverAuth,clientAuth\n")
    _openssl(pki, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-subj", "/CN=etcd-ca", "-days", "1")
    _openssl(pki, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=lab-cp1")
    _openssl(pki, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "1", "-extfile", str(tmp_path / "san.cnf"))
    client, peer, metrics = _free_ports(3)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    data_dir = tmp_path / "etcd-data"
    doc = yaml.safe_load(open(os.path.join(FIXTURES, "etcd.yaml")))
    container = doc["spec"]["containers"][0]
    certs = str(pki)
    container["command"] = [
        "etcd",
        "--advertise-client-urls=https://127.0.0.1:%d" % client,
        "--cert-file=%s/server.crt" % certs,
        "--client-cert-auth=true",
        "--data-dir=%s" % data_dir,
        "--initial-advertise-peer-urls=https://127.0.0.1:%d" % peer,
        "--initial-cluster=lab-cp1=https://127.0.0.1:%d" % peer,
        "--key-file=%s/server.key" % certs,
        "--listen-client-urls=https://127.0.0.1:%d" % client,
        "--listen-metrics-urls=http://127.0.0.1:%d" % metrics,
        "--listen-peer-urls=https://127.0.0.1:%d" % peer,
        "--name=lab-cp1",
        "--peer-cert-file=%s/server.crt" % certs,
        "--peer-client-cert-auth=true",
        "--peer-key-file=%s/server.key" % certs,
        "--peer-trusted-ca-file=%s/ca.crt" % certs,
        "--snapshot-count=10000",
        "--trusted-ca-file=%s/ca.crt" % certs,
    ]
    for key in ("livenessProbe", "startupProbe"):
        container[key]["httpGet"].update(port=metrics, path="/health")
    container["volumeMounts"] = [{"mountPath": certs, "name": "etcd-certs"},
                                 {"mountPath": str(data_dir), "name": "etcd-data"}]
    doc["spec"]["volumes"] = [{"hostPath": {"path": certs, "type": "DirectoryOrCreate"}, "name": "etcd-certs"},
                              {"hostPath": {"path": str(data_dir), "type": "DirectoryOrCreate"}, "name": "etcd-data"}]
    manifest = manifests / "etcd.yaml"
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
    os.chmod(manifest, 0o600)
    (tmp_path / "kubelet.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "staticPodPath": str(manifests), "healthzPort": 0,
        # standalone (no kubeconfig, as the real kubelet allows without webhooks); the HTTPS port on loopback
        "authentication": {"webhook": {"enabled": False}}, "authorization": {"mode": "AlwaysAllow"},
        "address": "127.0.0.1", "port": _free_ports(1)[0]}))
    state_dir = tmp_path / "pods"
    env = dict(os.environ, LAB_KUBELET_SPAWN="direct", LAB_KUBELET_STATE_DIR=str(state_dir),
               LAB_KUBELET_LOG_DIR=str(tmp_path / "logs"))
    log = open(tmp_path / "lab-kubelet.log", "wb")
    runner = subprocess.Popen([sys.executable, LAB_KUBELET, "--config=%s" % (tmp_path / "kubelet.yaml"),
                               "--hostname-override=lab-cp1", "--cert-dir=%s" % (tmp_path / "kubelet-pki")], env=env, stdout=log, stderr=subprocess.STDOUT)
    facts = {
        "is_kubeadm_node": True, "node_roles": ["control_plane"], "node_name": "lab-cp1",
        "kubernetes_version": "1.28.7", "kubernetes_minor": 28, "lab": True,
        "paths": {"manifests_dir": str(manifests), "pki_dir": str(tmp_path / "pki")},
        "components": {"etcd": {"manifest": str(manifest)}},
    }
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    node = {"tmp": tmp_path, "manifest": manifest, "state_dir": state_dir, "facts": facts,
            "backups": tmp_path / "backups", "client_port": client, "pki": pki}
    try:
        _wait_running(node, hashlib.sha256(manifest.read_bytes()).hexdigest())
        yield node
    finally:
        runner.terminate()
        runner.wait(20)
        log.close()


def _wait_running(node, sha, timeout=40):
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        try:
            state = json.loads((node["state_dir"] / "etcd.json").read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("manifest_sha256") == sha and state.get("state") == "running":
            return state
        time.sleep(0.2)
    raise AssertionError("etcd not running under lab-kubelet: %s\n%s" % (
        state, (node["tmp"] / "lab-kubelet.log").read_text()[-3000:]))


def _negotiates(node, openssl_cipher):
    """A real TLS 1.2 handshake with etcd's client port offering one suite (client cert presented)."""
    import ssl
    import socket
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(node["pki"] / "ca.crt"))
    ctx.load_cert_chain(str(node["pki"] / "server.crt"), str(node["pki"] / "server.key"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(openssl_cipher)
    try:
        with socket.create_connection(("127.0.0.1", node["client_port"]), timeout=3) as sock:
            with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                return tls.cipher()[0] == openssl_cipher
    except ssl.SSLError:
        return False


def test_real_etcd_under_the_lab_runner(real_etcd_node):
    node = real_etcd_node
    original = read(node["manifest"])
    assert _negotiates(node, "ECDHE-RSA-CHACHA20-POLY1305"), "etcd should start with Go's default suites"

    ok = [{"source": "etcd", "component": "etcd", "flags": {"cipher-suites": STRONG_RSA}}]
    rc, changed, out = play(node, ok)
    assert rc == 0 and changed == 1, out
    hardened = read(node["manifest"])
    state = json.loads((node["state_dir"] / "etcd.json").read_text())
    assert state["manifest_sha256"] == hashlib.sha256(hardened).hexdigest() and state["state"] == "running"
    assert state["simulated"] is False, "the lab runner should run the real etcd binary"
    # the real etcd process now runs the new flag: CHACHA is refused, AES-128-GCM negotiated
    assert _negotiates(node, "ECDHE-RSA-AES128-GCM-SHA256")
    assert not _negotiates(node, "ECDHE-RSA-CHACHA20-POLY1305")

    # etcd refuses a list without an AES-128-GCM suite (HTTP/2 requires one) and exits:
    # the role must notice the crash loop, put the previous manifest back and fail.
    bad = [{"source": "etcd", "component": "etcd", "flags": {"cipher-suites": STRONG_RSA[1:]}}]
    rc, changed, out = play(node, bad)
    flat = " ".join(out.split())
    assert rc != 0, out
    assert "Node lab-cp1 (localhost): etcd did not become healthy" in flat
    assert "--cipher-suites: %s -> %s" % (",".join(STRONG_RSA), STRONG_RSA[1]) in flat
    assert "crashloop" in flat and "is healthy again" in flat
    assert read(node["manifest"]) == hardened
    _wait_running(node, hashlib.sha256(hardened).hexdigest(), timeout=5)
    assert _negotiates(node, "ECDHE-RSA-AES128-GCM-SHA256")
    assert original != hardened
