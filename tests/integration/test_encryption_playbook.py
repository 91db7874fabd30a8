"""The encryption role and the rotate_encryption_key playbook, run for real by ansible-playbook -vvv.

localhost (connection local) is the only control-plane node; every path points
into a temp dir and k8s_hardening_defer_rollout is true, so no static pod is
touched (restarting kube-apiserver between the stages is the static_pods role's
job, tested elsewhere). The playbook's first play checks the API with the k8s_api
role against a REAL kube-apiserver (realk8s.ControlPlane, k8s_api_kubeconfig).
The re-encryption stage itself talks, with the real kubernetes client, to
FakeSecretsAPI (a FAKE apiserver, tests/integration/fake_secrets_api.py, through
encryption_kubeconfig) whose "current key" is read from the config file the
playbook wrote: without the restarts between stages a real apiserver would still
write with the key it started with, and an apiserver failing exactly during the
re-encryption (the interrupted run) can only be injected there. The re-encryption
through a real apiserver, with the keys seen in etcd, is test_secrets_reencrypt_real.py.

What it proves: the key material never appears in the output at -vvv; the
stages happen in the upstream order; a run interrupted at the re-encryption
completes when started again; bad input fails before anything is written; a node
without the kubernetes client stops the rotation in its first play, before any
stage touches a node (issue 11).
"""
import base64
import json
import os
import subprocess
import sys

import pytest
import yaml

import realk8s
from ansible_local import venv_without_kubernetes
from fake_secrets_api import FakeSecretsAPI

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
USER_KEY = base64.b64encode(bytes(range(32))).decode()


def writer_of(path):
    if not os.path.exists(path):
        return "identity"
    first = yaml.safe_load(open(path))["resources"][0]["providers"][0]
    (ptype, body), = first.items()
    return ptype if ptype == "identity" else "%s:%s" % (ptype, body["keys"][0]["name"])


def secrets_in(path):
    doc = yaml.safe_load(open(path))
    return [k["secret"] for p in doc["resources"][0]["providers"] for b in p.values() for k in (b or {}).get("keys", [])]


class Run:
    def __init__(self, tmp_path, api, real_api=None, python=sys.executable):
        self.tmp = tmp_path
        self.enc = tmp_path / "enc"
        self.config = str(self.enc / "encryption-config.yaml")
        self.state = str(self.enc / "rotation-state.json")
        self.inventory = tmp_path / "inventory.ini"
        self.inventory.write_text("[control_plane]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n"
                                  % python)
        self.vars = {
            "encryption_dir": str(self.enc), "encryption_config_path": self.config,
            "encryption_state_path": self.state, "encryption_kubernetes_minor": 28,
            "encryption_backup_dir": str(tmp_path / "backup"), "k8s_hardening_defer_rollout": True,
            "encryption_kubeconfig": api.kubeconfig(tmp_path / "admin.conf"), "encryption_census_enabled": False,
        }
        if real_api is not None:
            self.vars["k8s_api_kubeconfig"] = real_api.admin_kubeconfig
        self.outputs = []

    def playbook(self, playbook="playbooks/rotate_encryption_key.yml", **extra):
        varfile = self.tmp / "vars.json"
        varfile.write_text(json.dumps(dict(self.vars, **extra)))
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
                   ANSIBLE_LOCAL_TEMP=str(self.tmp / "ansible-local"), ANSIBLE_REMOTE_TEMP=str(self.tmp / "ansible-remote"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-vvv", "-i", str(self.inventory),
                               playbook, "-e", "@" + str(varfile)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        out = proc.stdout + proc.stderr
        self.outputs.append(out)
        return proc.returncode, out

    def assert_no_key_in_output(self):
        keys = set(secrets_in(self.config)) | {USER_KEY}
        for path in os.listdir(self.tmp / "backup") if (self.tmp / "backup").exists() else []:
            keys |= set(secrets_in(str(self.tmp / "backup" / path)))
        for out in self.outputs:
            for key in keys:
                raw = base64.b64decode(key)
                for form in (key, base64.b64encode(raw).decode().rstrip("="), raw.hex(), key[:24]):
                    assert form not in out, "key material in the ansible output"


@pytest.fixture(scope="module")
def real_api(tmp_path_factory):
    """A real kube-apiserver for the k8s_api preflight of the playbook's first play."""
    realk8s.skip_or_fail(pytest)
    cp = realk8s.ControlPlane(str(tmp_path_factory.mktemp("rotation-api")))
    try:
        yield cp.start()
    finally:
        cp.stop()


@pytest.fixture
def api():
    with FakeSecretsAPI() as fake:
        for i in range(12):
            fake.store.add("secrets", "ns%d" % (i % 3), "s%02d" % i, {"v": base64.b64encode(b"%d" % i).decode()})
        yield fake


def test_enable_then_rotate_with_no_key_in_output(tmp_path, api, real_api):
    run = Run(tmp_path, api, real_api)
    api.store.writer_from = lambda: writer_of(run.config)
    # enabling encryption on a cluster without it is a rotation from identity
    rc, out = run.playbook(k8s_hardening_rotate_new_key=False)
    assert rc == 0, out[-6000:]
    assert writer_of(run.config) == "secretbox:key1"
    assert set(api.store.stored_with.values()) == {"secretbox:key1"}, "not every Secret was re-encrypted"
    assert os.stat(run.config).st_mode & 0o777 == 0o600 and os.stat(str(run.enc)).st_mode & 0o777 == 0o700
    state = json.load(open(run.state))
    assert state["stage"] == "prune" and state["complete"] is True and '"secret"' not in json.dumps(state)
    assert secrets_in(run.config)[0] not in open(run.state).read()
    for stage in ("stage add", "stage promote", "stage reencrypt", "stage prune"):
        assert "encryption %s" % stage in out
    first_key = secrets_in(run.config)

    # rotate: a new key, by the four stages
    rc, out = run.playbook()
    assert rc == 0, out[-6000:]
    assert writer_of(run.config) == "secretbox:key2"
    assert secrets_in(run.config) != first_key and len(secrets_in(run.config)) == 1
    assert set(api.store.stored_with.values()) == {"secretbox:key2"}

    # nothing to do: no change at all
    mtime = os.stat(run.config).st_mtime_ns
    rc, out = run.playbook(k8s_hardening_rotate_new_key=False)
    assert rc == 0 and os.stat(run.config).st_mtime_ns == mtime
    run.assert_no_key_in_output()


def test_interrupted_reencryption_is_completed_by_the_next_run(tmp_path, api, real_api):
    run = Run(tmp_path, api, real_api)
    api.store.writer_from = lambda: writer_of(run.config)
    run.vars["encryption_keys"] = [{"name": "mine", "secret": USER_KEY}]
    run.vars["encryption_provider"] = "aescbc"
    api.store.fail_puts = 1000              # the apiserver fails during re-encryption
    rc, out = run.playbook(k8s_hardening_rotate_new_key=False)
    assert rc != 0
    state = json.load(open(run.state))
    assert state["stage"] == "reencrypt" and state["complete"] is False
    # the new key encrypts, identity is still there to read the plain Secrets
    doc = yaml.safe_load(open(run.config))
    assert [list(p)[0] for p in doc["resources"][0]["providers"]] == ["aescbc", "identity"]
    api.store.fail_puts = 0
    rc, out = run.playbook(k8s_hardening_rotate_new_key=False)
    assert rc == 0, out[-6000:]
    assert secrets_in(run.config) == [USER_KEY] and writer_of(run.config) == "aescbc:mine"
    assert set(api.store.stored_with.values()) == {"aescbc:mine"}
    run.assert_no_key_in_output()


def test_bad_key_fails_before_anything_is_written(tmp_path, api):
    run = Run(tmp_path, api)
    short = base64.b64encode(b"k" * 16).decode()
    rc, out = run.playbook(encryption_keys=[{"name": "mine", "secret": short}])
    assert rc != 0
    assert "encryption_keys" in out and "16 bytes" in out
    assert short not in out
    assert not run.enc.exists()


def test_rotation_stops_in_its_first_play_without_the_client(tmp_path, api, real_api):
    """Regression (issue 11): the reencrypt stage failed for lack of the kubernetes library after the add and
    promote stages had changed every control-plane node. Now the first play checks it and stops."""
    python = venv_without_kubernetes(tmp_path / "venv")
    if python is None:
        pytest.skip("the system Python has the kubernetes library, so no venv without it can be built from it")
    run = Run(tmp_path, api, real_api, python=python)
    rc, out = run.playbook()
    assert rc != 0
    assert "Check the Kubernetes API where the re-encryption runs" in out
    assert "the Kubernetes API cannot be used from localhost (Python %s)" % python in out, out[-4000:]
    assert "-m pip install" in out and "python3-kubernetes" in out
    # nothing was touched: no stage ran, no config, no state record, no Secret rewritten
    assert "Encryption stages, pass 1" not in out and "encryption stage" not in out
    assert not run.enc.exists()
    assert set(api.store.stored_with.values()) == {"identity"} and api.store.puts == 0
