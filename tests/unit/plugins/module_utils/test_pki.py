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
    cert, dummy = ca
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
                             str(tmp_path / "leaf.crt")], capture_output=True, text=True, check=False)
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


# --- chain verification for every signature algorithm cryptography supports --------------------------------

from cryptography import x509 as _x509  # noqa: E402
from cryptography.hazmat.primitives import hashes as _hashes, serialization as _ser  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec as _ec, ed25519 as _ed25519  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding as _padding, rsa as _rsa  # noqa: E402
from cryptography.x509.oid import NameOID as _NameOID  # noqa: E402

_PSS = _padding.PSS(mgf=_padding.MGF1(_hashes.SHA256()), salt_length=_padding.PSS.DIGEST_LENGTH)


def _new_key(alg):
    if alg in ("rsa", "rsa-pss"):
        return _rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ecdsa":
        return _ec.generate_private_key(_ec.SECP384R1())
    return _ed25519.Ed25519PrivateKey.generate()


def _signed(builder, key, alg):
    if alg == "ed25519":
        return builder.sign(key, None)
    if alg == "rsa-pss":
        return builder.sign(key, _hashes.SHA256(), rsa_padding=_PSS)
    return builder.sign(key, _hashes.SHA384() if alg == "ecdsa" else _hashes.SHA256())


def _cert(cn, alg, signer_key, issuer_cn=None, ca=False, key=None):
    key = key or _new_key(alg)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (_x509.CertificateBuilder()
               .subject_name(_x509.Name([_x509.NameAttribute(_NameOID.COMMON_NAME, cn)]))
               .issuer_name(_x509.Name([_x509.NameAttribute(_NameOID.COMMON_NAME, issuer_cn or cn)]))
               .public_key(key.public_key()).serial_number(_x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(_x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return _signed(builder, signer_key or key, alg), key


@pytest.mark.parametrize("alg", ["rsa", "rsa-pss", "ecdsa", "ed25519"])
def test_chain_verifies_with_every_algorithm(alg):
    ca_key = _new_key(alg)
    ca, dummy = _cert("test-ca", alg, ca_key, ca=True, key=ca_key)
    leaf, dummy = _cert("leaf", alg, ca_key, issuer_cn="test-ca")
    ca_pem = ca.public_bytes(_ser.Encoding.PEM).decode()
    leaf_pem = leaf.public_bytes(_ser.Encoding.PEM).decode()
    if alg == "rsa-pss":
        assert leaf.signature_algorithm_oid == _x509.oid.SignatureAlgorithmOID.RSASSA_PSS
    assert _pki.chain_problems(leaf_pem, ca_pem) == []
    assert _pki.verify_chain(leaf_pem, ca_pem)
    # the same subject, another key: the signature check, not the name, decides
    impostor_key = _new_key(alg)
    impostor, dummy = _cert("test-ca", alg, impostor_key, ca=True, key=impostor_key)
    problems = _pki.chain_problems(leaf_pem, impostor.public_bytes(_ser.Encoding.PEM).decode())
    assert problems == ["signature does not verify with the CA key"]


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_rsa_pss_chain_made_by_openssl(tmp_path):
    """A CA and a leaf signed with RSA-PSS by the real openssl verify (and verify with openssl too)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=str(tmp_path))
    pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1", "-sha256"]
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=pss-ca", "-addext", "basicConstraints=critical,CA:TRUE", *pss)
    run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=leaf")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.crt",
        "-days", "1", *pss)
    run("verify", "-CAfile", "ca.crt", "leaf.crt")
    ca_pem, leaf_pem = (tmp_path / "ca.crt").read_text(), (tmp_path / "leaf.crt").read_text()
    assert "rsassaPss" in subprocess.run(["openssl", "x509", "-in", "leaf.crt", "-noout", "-text"], capture_output=True,
                                         text=True, cwd=str(tmp_path), check=False).stdout
    assert _pki.chain_problems(leaf_pem, ca_pem) == []


def test_load_certs_bundle_of_mixed_algorithms_and_a_key():
    """A kubelet-client-current.pem style bundle: certificates of several algorithms and a key between them."""
    pems = []
    for alg in ("rsa", "rsa-pss", "ecdsa", "ed25519"):
        cert, key = _cert("c-" + alg, alg, None)
        pems.append(cert.public_bytes(_ser.Encoding.PEM).decode())
    key_pem = _ser.load_pem_private_key(_pki.key_to_pem(_pki.generate_private_key("ecdsa", 256)).encode(), None)
    key_text = key_pem.private_bytes(_ser.Encoding.PEM, _ser.PrivateFormat.PKCS8, _ser.NoEncryption()).decode()
    text = pems[0] + key_text + "".join(pems[1:])
    certs = _pki.load_certs(text)
    assert [c.subject.rfc4514_string() for c in certs] == ["CN=c-rsa", "CN=c-rsa-pss", "CN=c-ecdsa", "CN=c-ed25519"]
    assert _pki.load_certs(text.encode()) and _pki.load_certs("") == [] and _pki.load_certs(key_text) == []
    with pytest.raises(_pki.PKIError):
        _pki.load_certs("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")


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
