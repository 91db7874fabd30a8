"""Unit tests for plugins/module_utils/_pki.py (real keys and certificates, checked with
cryptography and, where it adds an independent view, with the openssl command line)."""
import base64
import datetime
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki


@pytest.fixture(scope="module")
def ca():
    key = _pki.generate_private_key()
    return _pki.issue_ca("etcd-ca", key), key


@pytest.fixture(scope="module")
def other_ca():
    key = _pki.generate_private_key()
    return _pki.issue_ca("kubernetes", key), key


@pytest.fixture(scope="module")
def leaf_key():
    return _pki.generate_private_key()


PROFILES = _pki.kubeadm_profiles("cp1", ["10.0.0.10"])


def test_ca_is_like_kubeadm(ca):
    cert, _ = ca
    info = _pki.cert_info(cert)
    assert info["subject"] == "CN=etcd-ca" and info["issuer"] == "CN=etcd-ca"
    assert info["is_ca"] and info["self_signed"]
    assert info["sans"] == ["DNS:etcd-ca"]
    assert info["key_usages"] == ["digital_signature", "key_encipherment", "key_cert_sign"]
    assert 3649 <= info["days_left"] <= 3650
    bc = cert.extensions.get_extension_for_class(_pki.x509.BasicConstraints)
    assert bc.critical and bc.value.ca


# FILES.txt of kubeadm v1.28.7 (subject, issuer CN, EKUs, SANs)
@pytest.mark.parametrize("name,subject,ca_name,ekus,sans", [
    ("apiserver", "CN=kube-apiserver", "ca", ["server_auth"],
     ["DNS:cp1", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
      "DNS:kubernetes.default.svc.cluster.local", "IP:10.96.0.1", "IP:10.0.0.10"]),
    ("apiserver-kubelet-client", "CN=kube-apiserver-kubelet-client,O=system:masters", "ca",
     ["client_auth"], []),
    ("front-proxy-client", "CN=front-proxy-client", "front-proxy-ca", ["client_auth"], []),
    ("etcd/server", "CN=cp1", "etcd-ca", ["server_auth", "client_auth"],
     ["DNS:cp1", "DNS:localhost", "IP:10.0.0.10", "IP:127.0.0.1", "IP:::1"]),
    ("etcd/peer", "CN=cp1", "etcd-ca", ["server_auth", "client_auth"],
     ["DNS:cp1", "DNS:localhost", "IP:10.0.0.10", "IP:127.0.0.1", "IP:::1"]),
    ("etcd/healthcheck-client", "CN=kube-etcd-healthcheck-client,O=system:masters", "etcd-ca",
     ["client_auth"], []),
    ("apiserver-etcd-client", "CN=kube-apiserver-etcd-client,O=system:masters", "etcd-ca",
     ["client_auth"], []),
    ("admin", "CN=kubernetes-admin,O=system:masters", "ca", ["client_auth"], []),
    ("controller-manager", "CN=system:kube-controller-manager", "ca", ["client_auth"], []),
    ("scheduler", "CN=system:kube-scheduler", "ca", ["client_auth"], []),
    ("kubelet", "CN=system:node:cp1,O=system:nodes", "ca", ["client_auth"], []),
])
def test_leaf_profiles_match_kubeadm(ca, leaf_key, name, subject, ca_name, ekus, sans):
    profile = PROFILES[name]
    assert profile["ca"] == ca_name
    cert = _pki.issue_leaf(ca[0], ca[1], profile, leaf_key)
    info = _pki.cert_info(cert)
    assert info["subject"] == subject
    assert info["issuer"] == "CN=etcd-ca"
    assert info["ekus"] == ekus
    assert info["sans"] == sans
    assert info["key_usages"] == ["digital_signature", "key_encipherment"]
    assert not info["is_ca"]
    assert 364 <= info["days_left"] <= 365
    assert _pki.profile_problems(cert, profile) == []


def test_openssl_reads_the_same_thing(ca, leaf_key, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert = _pki.issue_leaf(ca[0], ca[1], PROFILES["etcd/server"], leaf_key)
    (tmp_path / "leaf.crt").write_text(_pki.cert_to_pem(cert))
    (tmp_path / "ca.crt").write_text(_pki.cert_to_pem(ca[0]))
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(tmp_path / "leaf.crt")],
                          capture_output=True, text=True, check=True).stdout
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    assert "DNS:cp1, DNS:localhost, IP Address:10.0.0.10, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" in text
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"),
                             str(tmp_path / "leaf.crt")], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr


def test_verify_chain(ca, other_ca, leaf_key):
    cert = _pki.issue_leaf(ca[0], ca[1], PROFILES["apiserver-etcd-client"], leaf_key)
    assert _pki.verify_chain(cert, ca[0])
    assert not _pki.verify_chain(cert, other_ca[0])
    # same subject, different key: issuer matches but the signature does not
    impostor = _pki.issue_ca("etcd-ca", _pki.generate_private_key())
    assert _pki.chain_problems(cert, impostor) == ["signature does not verify with the CA key"]


def test_verify_chain_rejects_expired(ca, leaf_key):
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=400)
    cert = _pki.issue_leaf(ca[0], ca[1], PROFILES["etcd/peer"], leaf_key, days=30, now=past)
    problems = _pki.chain_problems(cert, ca[0])
    assert len(problems) == 1 and problems[0].startswith("certificate expired")
    assert _pki.cert_info(cert)["expired"]


def test_key_matches_cert(ca, leaf_key):
    assert _pki.key_matches_cert(ca[1], ca[0])
    assert _pki.key_matches_cert(_pki.key_to_pem(ca[1]), _pki.cert_to_pem(ca[0]))
    assert not _pki.key_matches_cert(leaf_key, ca[0])


def test_issue_leaf_refuses_mismatched_ca_key(ca, leaf_key):
    with pytest.raises(_pki.PKIError, match="does not match"):
        _pki.issue_leaf(ca[0], leaf_key, PROFILES["etcd/server"], leaf_key)


@pytest.mark.parametrize("kind,size,marker", [
    ("rsa", 2048, "BEGIN RSA PRIVATE KEY"),
    ("ecdsa", 256, "BEGIN EC PRIVATE KEY"),
])
def test_keys_pem_like_kubeadm(kind, size, marker):
    pem = _pki.key_to_pem(_pki.generate_private_key(kind, size))
    assert marker in pem
    assert _pki.load_key(pem) is not None


@pytest.mark.parametrize("kind,size", [("rsa", 1024), ("ecdsa", 521), ("dsa", 2048)])
def test_bad_key_requests(kind, size):
    with pytest.raises(_pki.PKIError):
        _pki.generate_private_key(kind, size)


def test_ecdsa_ca_signs_and_verifies():
    key = _pki.generate_private_key("ecdsa", 256)
    ca_cert = _pki.issue_ca("etcd-ca", key)
    leaf = _pki.issue_leaf(ca_cert, key, PROFILES["etcd/server"], _pki.generate_private_key("ecdsa", 256))
    assert _pki.verify_chain(leaf, ca_cert)
    assert _pki.cert_info(leaf)["key_type"] == "ecdsa"


def test_sa_keypair():
    priv, pub = _pki.generate_sa_keypair()
    assert "PRIVATE KEY" in priv and "BEGIN PUBLIC KEY" in pub
    assert _pki.public_key_to_pem(_pki.load_key(priv)) == pub


@pytest.mark.parametrize("setup,expected", [
    ("good", []),
    ("wrong_key", ["does not match"]),
    ("expired", ["expired on"]),
    ("not_ca", ["not a CA", "keyCertSign"]),
    ("garbage", ["not a PEM certificate"]),
])
def test_ca_problems(ca, leaf_key, setup, expected):
    cert, key = ca
    if setup == "wrong_key":
        key = leaf_key
    elif setup == "expired":
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=20)
        cert = _pki.issue_ca("etcd-ca", key, days=10, now=past)
    elif setup == "not_ca":
        cert = _pki.issue_leaf(ca[0], ca[1], PROFILES["etcd/server"], leaf_key)
        key = leaf_key
    elif setup == "garbage":
        cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    pem = cert if isinstance(cert, str) else _pki.cert_to_pem(cert)
    problems = _pki.ca_problems(pem, key)
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected):
        assert fragment in problem


def test_bundle_and_load_certs(ca, other_ca):
    a, b = _pki.cert_to_pem(ca[0]), _pki.cert_to_pem(other_ca[0])
    both = _pki.bundle(a, b, a)
    certs = _pki.load_certs(both)
    assert [_pki.fingerprint(c) for c in certs] == [_pki.fingerprint(a), _pki.fingerprint(b)]
    assert _pki.load_certs("") == []


def test_fingerprint_differs_between_cas(ca, other_ca):
    assert _pki.fingerprint(ca[0]) != _pki.fingerprint(other_ca[0])
    assert len(_pki.fingerprint(ca[0])) == 64


def test_kubeconfig_layout(other_ca, leaf_key):
    cert = _pki.issue_leaf(other_ca[0], other_ca[1], PROFILES["admin"], leaf_key)
    text = _pki.make_kubeconfig("kubernetes", "https://10.0.0.10:6443", _pki.cert_to_pem(other_ca[0]),
                                _pki.cert_to_pem(cert), _pki.key_to_pem(leaf_key), "kubernetes-admin")
    doc = yaml.safe_load(text)
    assert list(doc) == ["apiVersion", "clusters", "contexts", "current-context", "kind",
                         "preferences", "users"]
    assert doc["current-context"] == "kubernetes-admin@kubernetes"
    assert doc["clusters"][0]["cluster"]["server"] == "https://10.0.0.10:6443"
    ca_back = base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    assert _pki.fingerprint(ca_back) == _pki.fingerprint(other_ca[0])
    client = _pki.kubeconfig_client_cert(text)
    assert _pki.cert_info(client)["subject"] == "CN=kubernetes-admin,O=system:masters"
    key_back = base64.b64decode(doc["users"][0]["user"]["client-key-data"]).decode()
    assert _pki.key_matches_cert(key_back, client)


def test_profiles_dual_stack_and_dedup():
    p = _pki.kubeadm_profiles("cp2", ["10.0.0.11", "127.0.0.1", "fd00::11"], service_ip="10.96.0.1",
                              dns_domain="example.local")
    assert p["etcd/server"]["ip_addresses"] == ["10.0.0.11", "127.0.0.1", "fd00::11", "::1"]
    assert "kubernetes.default.svc.example.local" in p["apiserver"]["dns_names"]
    assert p["kubelet"]["cn"] == "system:node:cp2"
    assert set(_pki.ETCD_PROFILES) <= set(p)


def test_profile_problems_reports_differences(ca, leaf_key):
    cert = _pki.issue_leaf(ca[0], ca[1], PROFILES["etcd/server"], leaf_key)
    other = _pki.kubeadm_profiles("cp9", ["10.0.0.99"])["etcd/server"]
    problems = _pki.profile_problems(cert, other)
    assert problems[0] == "CN cp1, expected cp9"
    assert "SANs missing: cp9, 10.0.0.99" in problems


def test_profiles_follow_the_kubeadm_version():
    """kubeadm 1.29+ (KEP-4214), as the reference tree of v1.33.3 shows in FILES.txt."""
    old = _pki.kubeadm_profiles("cp1", ["10.0.0.10"])
    new = _pki.kubeadm_profiles("cp1", ["10.0.0.10"], kubeadm_minor=33)
    assert old["admin"]["organizations"] == ["system:masters"]
    assert new["admin"]["organizations"] == ["kubeadm:cluster-admins"]
    assert new["apiserver-kubelet-client"]["organizations"] == ["kubeadm:cluster-admins"]
    assert new["super-admin"]["organizations"] == ["system:masters"]
    assert new["etcd/healthcheck-client"]["organizations"] == []
    assert new["apiserver-etcd-client"]["organizations"] == []
    assert old["etcd/healthcheck-client"]["organizations"] == ["system:masters"]
    assert {k: v for k, v in new.items() if k not in (
        "admin", "apiserver-kubelet-client", "etcd/healthcheck-client", "apiserver-etcd-client")} == \
        {k: v for k, v in old.items() if k not in (
            "admin", "apiserver-kubelet-client", "etcd/healthcheck-client", "apiserver-etcd-client")}
