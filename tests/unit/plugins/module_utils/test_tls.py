"""Unit tests for plugins/module_utils/_tls.py."""
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
