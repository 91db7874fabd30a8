"""etcd TLS hardening against a REAL etcd (Debian's etcd-server on this host).

Members run on 127.0.0.1 high ports in temporary directories, with certificates
from _pki.py and exactly the flags the etcd role writes (_etcd.etcd_flags). The
handshakes are real (etcdctl and `openssl s_client`). Nothing here is faked: where
etcd or openssl is missing the tests are skipped, never passed.
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _etcd, _pki

pytestmark = pytest.mark.skipif(not (shutil.which("etcd") and shutil.which("etcdctl") and shutil.which("openssl")),
                                reason="needs etcd, etcdctl and openssl on the host")

CIPHERS = list(_etcd.DEFAULT_CIPHER_SUITES)


def _free_ports(n):
    socks, ports = [], []
    for dummy in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _etcd_version():
    out = subprocess.run(["etcd", "--version"], capture_output=True, text=True, check=False).stdout
    return _etcd.parse_version(out)


def _write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, mode)


class CA:
    def __init__(self, cn):
        self.key = _pki.generate_private_key()
        self.cert = _pki.issue_ca(cn, self.key)
        self.pem = _pki.cert_to_pem(self.cert)

    def issue(self, profile):
        key = _pki.generate_private_key()
        return _pki.cert_to_pem(_pki.issue_leaf(self.cert, self.key, profile, key)), _pki.key_to_pem(key)


class Member:
    """One etcd member with a kubeadm-like pki dir: <root>/pki/{etcd/*,apiserver-etcd-client.*}."""

    def __init__(self, root, name, ports):
        self.root, self.name = root, name
        self.client_port, self.peer_port, self.metrics_port = ports
        self.pki = os.path.join(root, "pki")
        self.data = os.path.join(root, "data")
        self.proc = None
        self.trust_file = os.path.join(self.pki, "etcd", "ca.crt")
        self.profiles = _pki.kubeadm_profiles(name, ["127.0.0.1"])

    @property
    def client_url(self):
        return "https://127.0.0.1:%d" % self.client_port

    @property
    def peer_url(self):
        return "https://127.0.0.1:%d" % self.peer_port

    def issue_leaves(self, ca):
        for name in _etcd.ETCD_LEAVES:
            cert, key = ca.issue(self.profiles[name])
            _write(os.path.join(self.pki, name + ".crt"), cert, 0o644)
            _write(os.path.join(self.pki, name + ".key"), key)

    def read(self, rel):
        path = os.path.join(self.pki, rel)
        return open(path).read() if os.path.exists(path) else None

    def flags(self):
        built = _etcd.etcd_flags(_etcd_version(), self.pki, self.trust_file, CIPHERS, "VersionTLS12",
                                 {"listen-metrics-urls": "http://127.0.0.1:%d" % self.metrics_port})
        return built["flags"]

    def start(self, cluster, state="new"):
        flags = self.flags()
        flags.update({
            "name": self.name, "data-dir": self.data,
            "listen-client-urls": self.client_url, "advertise-client-urls": self.client_url,
            "listen-peer-urls": self.peer_url, "initial-advertise-peer-urls": self.peer_url,
            "initial-cluster": ",".join("%s=%s" % (m.name, m.peer_url) for m in cluster),
            "initial-cluster-state": state, "initial-cluster-token": "lab",
            "logger": "zap", "log-outputs": "stderr",
        })
        argv = ["etcd"] + ["--%s=%s" % kv for kv in flags.items()]
        os.makedirs(self.data, exist_ok=True)
        os.chmod(self.data, 0o700)
        self.log = open(os.path.join(self.root, "etcd.log"), "a")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def ctl(self, *args, cert="etcd/healthcheck-client", cacert=None, endpoints=None, timeout=8):
        cmd = ["etcdctl", "--endpoints", endpoints or self.client_url,
               "--cacert", cacert or self.trust_file, "--dial-timeout=3s", "--command-timeout=5s"]
        if cert:
            cmd += ["--cert", os.path.join(self.pki, cert + ".crt"), "--key", os.path.join(self.pki, cert + ".key")]
        env = dict(os.environ, ETCDCTL_API="3")
        return subprocess.run(cmd + list(args), capture_output=True, text=True, env=env, timeout=timeout, check=False)

    def wait_healthy(self, deadline=30):
        end = time.time() + deadline
        while time.time() < end:
            if self.proc is not None and self.proc.poll() is not None:
                break
            if self.ctl("endpoint", "health").returncode == 0:
                return
            time.sleep(0.3)
        with open(os.path.join(self.root, "etcd.log")) as fh:
            tail = fh.read()[-3000:]
        raise AssertionError("etcd %s not healthy:\n%s" % (self.name, tail))


def s_client(port, *extra, timeout=10):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-brief"] + list(extra)
    return subprocess.run(cmd, input="", capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("etcd1"))
    etcd_ca, cluster_ca = CA("etcd-ca"), CA("kubernetes")
    m = Member(root, "n1", _free_ports(3))
    _write(os.path.join(m.pki, "etcd", "ca.crt"), etcd_ca.pem, 0o644)
    m.issue_leaves(etcd_ca)
    # a client certificate signed by the CLUSTER CA, with the same subject as the apiserver's
    cert, key = cluster_ca.issue(m.profiles["apiserver-etcd-client"])
    _write(os.path.join(m.pki, "wrong-ca-client.crt"), cert, 0o644)
    _write(os.path.join(m.pki, "wrong-ca-client.key"), key)
    m.start([m])
    try:
        m.wait_healthy()
        yield m
    finally:
        m.stop()


def test_client_with_etcd_ca_certificate_is_served(single):
    put = single.ctl("put", "k", "v", cert="apiserver-etcd-client")
    assert put.returncode == 0, put.stderr
    get = single.ctl("get", "k", "--print-value-only", cert="apiserver-etcd-client")
    assert get.stdout.strip() == "v"


def test_client_without_certificate_is_refused(single):
    res = single.ctl("get", "k", cert=None)
    assert res.returncode != 0
    # and at the TLS layer: a handshake without a client certificate does not get data
    hs = s_client(single.client_port, "-tls1_2", "-CAfile", single.trust_file)
    assert hs.returncode != 0 or "alert" in hs.stderr.lower()


def test_client_signed_by_cluster_ca_is_refused(single):
    res = single.ctl("get", "k", cert="wrong-ca-client")
    assert res.returncode != 0
    hs = s_client(single.client_port, "-tls1_2", "-CAfile", single.trust_file,
                  "-cert", os.path.join(single.pki, "wrong-ca-client.crt"),
                  "-key", os.path.join(single.pki, "wrong-ca-client.key"))
    assert "bad certificate" in hs.stderr.lower() or "unknown ca" in hs.stderr.lower() or hs.returncode != 0


def test_non_aead_cipher_is_refused_and_aead_is_accepted(single):
    cert = ["-cert", os.path.join(single.pki, "apiserver-etcd-client.crt"),
            "-key", os.path.join(single.pki, "apiserver-etcd-client.key"), "-CAfile", single.trust_file]
    bad = s_client(single.client_port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA", *cert)
    assert bad.returncode != 0
    assert "handshake failure" in bad.stderr.lower() or "no cipher" in bad.stderr.lower()
    good = s_client(single.client_port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", *cert)
    assert good.returncode == 0, good.stderr
    assert "ECDHE-RSA-AES128-GCM-SHA256" in good.stderr


def test_peer_port_refuses_client_without_peer_certificate(single):
    no_cert = s_client(single.peer_port, "-tls1_2", "-CAfile", single.trust_file)
    assert no_cert.returncode != 0 or "alert" in no_cert.stderr.lower()
    with_peer = s_client(single.peer_port, "-tls1_2", "-CAfile", single.trust_file,
                         "-cert", os.path.join(single.pki, "etcd/peer.crt"),
                         "-key", os.path.join(single.pki, "etcd/peer.key"))
    assert with_peer.returncode == 0, with_peer.stderr


def test_metrics_only_on_loopback(single):
    flags = single.flags()
    assert flags["listen-metrics-urls"] == "http://127.0.0.1:%d" % single.metrics_port


def test_http2_rule_matches_real_etcd(tmp_path):
    """The validator refuses a list without AES-128-GCM; real etcd refuses to serve with it too."""
    only256 = ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
    with pytest.raises(_etcd.EtcdConfigError, match="HTTP/2"):
        _etcd.etcd_cipher_suites(only256)
    ca = CA("etcd-ca")
    m = Member(str(tmp_path), "n9", _free_ports(3))
    _write(os.path.join(m.pki, "etcd", "ca.crt"), ca.pem, 0o644)
    m.issue_leaves(ca)
    global CIPHERS
    saved, CIPHERS = CIPHERS, None
    try:
        flags = m.flags()
    finally:
        CIPHERS = saved
    flags["cipher-suites"] = ",".join(only256)
    argv = ["etcd", "--name=n9", "--data-dir=%s" % m.data, "--logger=zap",
            "--listen-client-urls=%s" % m.client_url, "--advertise-client-urls=%s" % m.client_url,
            "--listen-peer-urls=%s" % m.peer_url, "--initial-advertise-peer-urls=%s" % m.peer_url,
            "--initial-cluster=n9=%s" % m.peer_url] + ["--%s=%s" % kv for kv in flags.items()]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode != 0
    assert "HTTP/2-required" in res.stderr


def _state(member, ca_pem):
    trust = _etcd.trust_fingerprints(open(member.trust_file).read())
    leaves = {n: member.read(n + ".crt") for n in _etcd.ETCD_LEAVES}
    return {"trust": trust, "leaves_ok": _etcd.leaves_chain_to(leaves, ca_pem)}


def _apply_step(member, step, new_ca):
    """What the role writes on one node for one rotation step (files, then trust flag)."""
    etcd_dir = os.path.join(member.pki, "etcd")
    current = open(member.trust_file).read()
    if step["reissue"]:
        member.issue_leaves(new_ca)
    _write(os.path.join(etcd_dir, "ca.crt"), new_ca.pem, 0o644)
    if step["trust"] == "bundle":
        _write(os.path.join(member.pki, _etcd.BUNDLE_FILE), _etcd.trust_bundle(new_ca.pem, [current]), 0o644)
        member.trust_file = os.path.join(member.pki, _etcd.BUNDLE_FILE)
    else:
        member.trust_file = os.path.join(etcd_dir, "ca.crt")
        if os.path.exists(os.path.join(member.pki, _etcd.BUNDLE_FILE)):
            os.unlink(os.path.join(member.pki, _etcd.BUNDLE_FILE))


def _assert_one_cluster(members, key, value):
    a, b = members
    put = a.ctl("put", key, value)
    assert put.returncode == 0, put.stderr
    # a linearizable read through the other member needs the peers to talk
    get = b.ctl("get", key, "--print-value-only")
    assert get.returncode == 0 and get.stdout.strip() == value, get.stderr
    ml = b.ctl("member", "list")
    assert ml.returncode == 0 and len(ml.stdout.strip().splitlines()) == 2, ml.stdout + ml.stderr


def test_two_members_survive_ca_replacement_one_at_a_time(tmp_path):
    old_ca, new_ca = CA("etcd-ca"), CA("etcd-ca")
    members = [Member(str(tmp_path / n), n, _free_ports(3)) for n in ("m1", "m2")]
    for m in members:
        _write(os.path.join(m.pki, "etcd", "ca.crt"), old_ca.pem, 0o644)
        m.issue_leaves(old_ca)
    try:
        for m in members:
            m.start(members)
        for m in members:
            m.wait_healthy()
        _assert_one_cluster(members, "before", "1")
        steps = []
        for run in range(3):
            for m in members:
                states = {x.name: _state(x, new_ca.pem) for x in members}
                step = _etcd.rotation_step(m.name, states, _pki.fingerprint(new_ca.pem))
                steps.append((run, m.name, step["phase"]))
                if step["phase"] == "done":
                    continue
                m.stop()
                _apply_step(m, step, new_ca)
                m.start(members, state="existing")
                m.wait_healthy()
                _assert_one_cluster(members, "k%d%s" % (run, m.name), m.name)
        assert [s for s in steps if s[2] != "done"] == [
            (0, "m1", "trust"), (0, "m2", "reissue"), (1, "m1", "finalize"), (1, "m2", "finalize")]
        assert all(s[2] == "done" for s in steps if s[0] == 2)
        for m in members:
            assert _pki.verify_chain(m.read("apiserver-etcd-client.crt"), new_ca.pem)
            assert not _pki.verify_chain(m.read("apiserver-etcd-client.crt"), old_ca.pem)
            assert m.trust_file.endswith("etcd/ca.crt")
            assert _etcd.trust_fingerprints(open(m.trust_file).read()) == [_pki.fingerprint(new_ca.pem)]
        health = members[0].ctl("endpoint", "health", "--cluster")
        assert health.returncode == 0 and (health.stdout + health.stderr).count("is healthy") == 2, health.stdout + health.stderr
        # the old CA is no longer trusted: a client certificate from it is refused
        cert, key = old_ca.issue(members[0].profiles["apiserver-etcd-client"])
        _write(os.path.join(members[0].pki, "old-client.crt"), cert, 0o644)
        _write(os.path.join(members[0].pki, "old-client.key"), key)
        assert members[0].ctl("get", "before", cert="old-client").returncode != 0
        assert members[0].ctl("get", "before", "--print-value-only").stdout.strip() == "1"
    finally:
        for m in members:
            m.stop()
