"""Unit tests for plugins/module_utils/_tls.py."""
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _tls as t


def test_lists_are_consistent():
    assert not set(t.GO_SECURE_SUITES) & set(t.GO_INSECURE_SUITES)
    assert set(t.KUBELET_CIS_SUITES) <= set(t.APISERVER_CIS_SUITES) <= set(t.GO_SECURE_SUITES)
    assert set(t.STRONG_SUITES) == set(t.KUBELET_CIS_SUITES)
    assert len(t.APISERVER_CIS_SUITES) == 11 and len(t.KUBELET_CIS_SUITES) == 6
    assert set(t.OPENSSL_TO_GO.values()) <= set(t.GO_SECURE_SUITES) | set(t.GO_INSECURE_SUITES)


@pytest.mark.parametrize("names,expected", [
    (["ECDHE-RSA-AES128-GCM-SHA256"], ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]),
    ("ECDHE-ECDSA-CHACHA20-POLY1305, TLS_AES_128_GCM_SHA256",
     ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_AES_128_GCM_SHA256"]),
    (["tls_ecdhe_rsa_with_aes_256_gcm_sha384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
     ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]),
    ([], []),
    (None, []),
])
def test_normalize(names, expected):
    assert t.normalize_cipher_suites(names, "my_var") == expected


@pytest.mark.parametrize("names,fragment", [
    (["TLS_RSA_WITH_AES_128_GCM_SHA256"], "TLS_RSA_WITH_AES_128_GCM_SHA256 is in Go's insecure list"),
    (["AES128-GCM-SHA256"], "AES128-GCM-SHA256 is in Go's insecure list"),
    (["TLS_FOO"], "TLS_FOO is not supported"),
    ([3], "must be strings"),
    (42, "expected a list"),
])
def test_normalize_refuses_naming_cipher_and_variable(names, fragment):
    with pytest.raises(t.TLSConfigError) as err:
        t.normalize_cipher_suites(names, "my_var")
    assert str(err.value).startswith("my_var: ")
    assert fragment in str(err.value)


def test_normalize_allow():
    with pytest.raises(t.TLSConfigError, match="TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not allowed"):
        t.normalize_cipher_suites(["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"], "v", allow=t.APISERVER_CIS_SUITES)


@pytest.mark.parametrize("profile,names,expected", [
    ("apiserver", ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"], ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]),
    ("kubelet", ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"],
     ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]),
    ("etcd", ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"], ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"]),
    ("kubelet", list(t.STRONG_SUITES), list(t.STRONG_SUITES)),
])
def test_cipher_suites_for(profile, names, expected):
    assert t.cipher_suites_for(names, "v", profile) == expected


def test_kubelet_profile_output_passes_kube_bench_4_2_12():
    out = t.cipher_suites_for([n + "_SHA256" if n.endswith("POLY1305") else n for n in t.STRONG_SUITES],
                              "v", "kubelet")
    assert set(out) <= set(t.KUBELET_CIS_SUITES)


@pytest.mark.parametrize("profile,names,fragment", [
    ("etcd", ["TLS_AES_128_GCM_SHA256"], "TLS 1.3 suite"),
    ("nginx", ["TLS_AES_128_GCM_SHA256"], "unknown TLS profile"),
])
def test_cipher_suites_for_refuses(profile, names, fragment):
    with pytest.raises(t.TLSConfigError, match=fragment):
        t.cipher_suites_for(names, "v", profile)


@pytest.mark.parametrize("value,profile,expected", [
    ("VersionTLS12", "apiserver", "VersionTLS12"),
    ("TLS1.3", "apiserver", "VersionTLS13"),
    ("1.2", "kubelet", "VersionTLS12"),
    ("tls12", "apiserver", "VersionTLS12"),
    ("TLSv1.2", "apiserver", "VersionTLS12"),
    ("VersionTLS12", "etcd", "TLS1.2"),
    ("1.3", "etcd", "TLS1.3"),
])
def test_tls_min_version(value, profile, expected):
    assert t.tls_min_version(value, "v", profile) == expected


@pytest.mark.parametrize("value,profile,fragment", [
    ("SSLv3", "apiserver", "unknown TLS version"),
    ("", "apiserver", "required"),
    (None, "apiserver", "required"),
    ("VersionTLS10", "etcd", "etcd accepts only"),
    ("1.2", "bogus", "unknown TLS profile"),
])
def test_tls_min_version_refuses(value, profile, fragment):
    with pytest.raises(t.TLSConfigError, match=fragment) as err:
        t.tls_min_version(value, "my_var", profile)
    assert "my_var" in str(err.value)


ETCD = shutil.which("etcd")


@pytest.mark.skipif(ETCD is None or shutil.which("openssl") is None, reason="etcd/openssl not installed")
def test_real_etcd_accepts_the_etcd_profile_and_negotiates_it(tmp_path):
    """Real etcd (Debian's 3.4) on 127.0.0.1 with the etcd-profile list: it starts, and a TLS 1.2
    handshake offering only a CHACHA suite succeeds, while one offering only an unlisted CBC suite fails."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"],
                   cwd=tmp_path, check=True, capture_output=True)
    suites = t.cipher_suites_for(["ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
                                 "etcd_cipher_suites", "etcd")
    with socket.socket() as s1, socket.socket() as s2:
        s1.bind(("127.0.0.1", 0))
        s2.bind(("127.0.0.1", 0))
        client_port, peer_port = s1.getsockname()[1], s2.getsockname()[1]
    proc = subprocess.Popen(
        [ETCD, "--data-dir", str(tmp_path / "data"), "--cert-file", "c.pem", "--key-file", "k.pem",
         "--listen-client-urls", "https://127.0.0.1:%d" % client_port,
         "--advertise-client-urls", "https://127.0.0.1:%d" % client_port,
         "--listen-peer-urls", "http://127.0.0.1:%d" % peer_port,
         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer_port,
         "--initial-cluster", "default=http://127.0.0.1:%d" % peer_port,
         "--cipher-suites", ",".join(suites)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def handshake(openssl_cipher):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(openssl_cipher)
            with socket.create_connection(("127.0.0.1", client_port), timeout=2) as sock:
                with ctx.wrap_socket(sock) as tls:
                    return tls.cipher()[0]
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                assert handshake("ECDHE-RSA-CHACHA20-POLY1305") == "ECDHE-RSA-CHACHA20-POLY1305"
                break
            except (ConnectionRefusedError, ConnectionResetError):
                assert time.monotonic() < deadline, "etcd did not listen"
                time.sleep(0.2)
        with pytest.raises(ssl.SSLError):
            handshake("ECDHE-RSA-AES128-SHA")
    finally:
        proc.terminate()
        proc.wait(10)
