"""etcd_secret_census against a REAL etcd (Debian's etcd-server on this host).

etcd runs on 127.0.0.1 high ports in a temp dir with TLS and client-cert-auth,
certificates made by _pki.py with kubeadm's profiles (etcd/server,
etcd/healthcheck-client). Values are seeded through etcd's JSON gateway
(/v3/kv/put, binary-safe) and the module is run as Ansible runs it.
Skipped, never passed, when etcd is missing.
"""
import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki
from realk8s import free_ports

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="needs Debian's etcd-server on the host")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")


def _write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, mode)


class Etcd:
    def __init__(self, root):
        self.root = root
        self.pki = os.path.join(root, "pki", "etcd")
        self.client_port, self.peer_port = free_ports(2)
        self.url = "https://127.0.0.1:%d" % self.client_port
        ca_key = _pki.generate_private_key()
        ca = _pki.issue_ca("etcd-ca", ca_key)
        profiles = _pki.kubeadm_profiles("census", ["127.0.0.1"])
        _write(self.path("ca.crt"), _pki.cert_to_pem(ca), 0o644)
        for name in ("etcd/server", "etcd/healthcheck-client"):
            key = _pki.generate_private_key()
            leaf = _pki.issue_leaf(ca, ca_key, profiles[name], key)
            base = name.split("/")[1]
            _write(self.path(base + ".crt"), _pki.cert_to_pem(leaf), 0o644)
            _write(self.path(base + ".key"), _pki.key_to_pem(key), 0o600)
        self.proc = None

    def path(self, name):
        return os.path.join(self.pki, name)

    def start(self):
        data = os.path.join(self.root, "data")
        os.makedirs(data, mode=0o700)
        peer = "http://127.0.0.1:%d" % self.peer_port
        argv = ["etcd", "--name=census", "--data-dir=" + data,
                "--listen-client-urls=" + self.url, "--advertise-client-urls=" + self.url,
                "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
                "--initial-cluster=census=" + peer,
                "--cert-file=" + self.path("server.crt"), "--key-file=" + self.path("server.key"),
                "--client-cert-auth=true", "--trusted-ca-file=" + self.path("ca.crt"),
                "--logger=zap", "--log-outputs=stderr"]
        self.log = open(os.path.join(self.root, "etcd.log"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.time() + 30
        while time.time() < end:
            try:
                self.call("/v3/kv/range", {"key": base64.b64encode(b"x").decode()})
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("etcd did not start: " + open(os.path.join(self.root, "etcd.log")).read()[-2000:])

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)

    def context(self, with_cert=True):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if with_cert:
            ctx.load_cert_chain(self.path("healthcheck-client.crt"), self.path("healthcheck-client.key"))
        return ctx

    def call(self, path, body, with_cert=True):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.context(with_cert), timeout=5) as resp:
            return json.loads(resp.read())

    def put(self, key, value):
        self.call("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                 "value": base64.b64encode(value).decode()})


# what the apiserver stores: protobuf with the k8s\x00 magic, or the encrypted envelope
PLAIN = b"k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\x20\n\x0e\n\x02s1\x12\x00\x1a\x07default"
SEED = (
    [("/registry/secrets/default/plain-%d" % i, PLAIN) for i in range(3)]
    + [("/registry/secrets/kube-system/old-%d" % i, b"k8s:enc:aescbc:v1:key1:" + os.urandom(48)) for i in range(4)]
    + [("/registry/secrets/team-a/new-%02d" % i, b"k8s:enc:secretbox:v1:key2:" + os.urandom(40))
       for i in range(11)]
    + [("/registry/configmaps/default/cm", PLAIN), ("/registry/secretsX", b"k8s:enc:aescbc:v1:key1:x")]
)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    server = Etcd(str(tmp_path_factory.mktemp("etcd-census")))
    server.start()
    try:
        for key, value in SEED:
            server.put(key, value)
        yield server
    finally:
        server.stop()


def run_module(args, tmp_path):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=True,
                                                                 _ansible_tmpdir=str(tmp_path))}))
    proc = subprocess.run(
        [sys.executable, "-m", "ansible_collections.k8s_hardening.kubeadm.plugins.modules.etcd_secret_census",
         str(args_file)], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=COLLECTIONS),
        cwd=str(tmp_path), check=False)
    return proc.returncode, json.loads(proc.stdout)


def tls_args(etcd):
    return {"endpoint": etcd.url, "cacert": etcd.path("ca.crt"), "cert": etcd.path("healthcheck-client.crt"),
            "key": etcd.path("healthcheck-client.key")}


def test_counts_with_current_key_from_the_encryption_config(etcd, tmp_path):
    conf = tmp_path / "encryption-config.yaml"
    conf.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n"
        "  providers:\n  - secretbox:\n      keys:\n      - {name: key2, secret: %s}\n"
        "  - aescbc:\n      keys:\n      - {name: key1, secret: %s}\n  - identity: {}\n"
        % (base64.b64encode(b"a" * 32).decode(), base64.b64encode(b"b" * 32).decode()))
    rc, res = run_module(dict(tls_args(etcd), encryption_config=str(conf), page_size=4), tmp_path)
    assert rc == 0, res
    assert res["changed"] is False
    assert res["current"] == "secretbox:key2"
    assert res["census"] == {"total": 18, "current": 11, "old": 4, "plaintext": 3,
                             "by_key": {"aescbc:key1": 4, "identity": 3, "secretbox:key2": 11}}
    assert sorted(res["not_current"]["plaintext"]) == ["/registry/secrets/default/plain-%d" % i for i in range(3)]
    assert len(res["not_current"]["old"]) == 4


def test_current_override_and_no_config_means_identity(etcd, tmp_path):
    rc, res = run_module(dict(tls_args(etcd), current="aescbc:key1", max_names=2), tmp_path)
    assert rc == 0 and res["census"]["current"] == 4 and res["census"]["old"] == 11
    assert len(res["not_current"]["old"]) == 2
    rc, res = run_module(dict(tls_args(etcd), encryption_config=str(tmp_path / "absent.yaml")), tmp_path)
    assert rc == 0 and res["current"] == "identity" and res["census"]["current"] == 0


def test_values_never_returned(etcd, tmp_path):
    rc, res = run_module(dict(tls_args(etcd), current="secretbox:key2"), tmp_path)
    text = json.dumps(res)
    assert "k8s:enc" not in text and "Secret" not in text.replace("secrets", "")


def test_client_certificate_is_required(etcd, tmp_path):
    with pytest.raises((ssl.SSLError, OSError)):
        etcd.call("/v3/kv/range", {"key": base64.b64encode(b"/").decode()}, with_cert=False)
    # a client certificate from another CA (kubeadm's cluster CA, say) is refused too
    other_key = _pki.generate_private_key()
    other_ca = _pki.issue_ca("kubernetes", other_key)
    key = _pki.generate_private_key()
    leaf = _pki.issue_leaf(other_ca, other_key, _pki.kubeadm_profiles("census", ["127.0.0.1"])["etcd/healthcheck-client"],
                           key)
    _write(str(tmp_path / "wrong.crt"), _pki.cert_to_pem(leaf), 0o644)
    _write(str(tmp_path / "wrong.key"), _pki.key_to_pem(key), 0o600)
    args = dict(tls_args(etcd), cert=str(tmp_path / "wrong.crt"), key=str(tmp_path / "wrong.key"))
    rc, res = run_module(dict(args, current="secretbox:key2"), tmp_path)
    assert rc != 0 and res["failed"] and "from etcd" in res["msg"]
