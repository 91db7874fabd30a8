"""Unit tests for the filters in plugins/filter/flags.py and plugins/filter/tls.py."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.filter import flags as ff
from ansible_collections.k8s_hardening.kubeadm.plugins.filter import tls as tf


def test_filters_are_registered():
    assert set(ff.FilterModule().filters()) == {"k8s_flags_to_dict", "k8s_dict_to_flags",
                                                "k8s_static_pod_merge", "k8s_config_checksum", "k8s_config_checksums"}
    assert set(tf.FilterModule().filters()) == {"k8s_tls_cipher_suites", "k8s_tls_min_version"}


@pytest.mark.parametrize("command,expected", [
    (["kube-apiserver", "--profiling=false", "--v"], {"profiling": "false", "v": None}),
    ("etcd --name=a --data-dir=/x", {"name": "a", "data-dir": "/x"}),
    (["kube-scheduler", "--a=b=c"], {"a": "b=c"}),
])
def test_flags_to_dict(command, expected):
    assert ff.k8s_flags_to_dict(command) == expected


@pytest.mark.parametrize("command,fragment", [
    (["x", "--a=1", "--a=2"], "--a is given twice"),
    (42, "expects a list"),
])
def test_flags_to_dict_refuses(command, fragment):
    with pytest.raises(AnsibleFilterError, match=fragment):
        ff.k8s_flags_to_dict(command)


@pytest.mark.parametrize("flags,binary,sort,expected", [
    ({"profiling": False, "--v": None}, None, False, ["--profiling=false", "--v"]),
    ({"z": 1, "enable-admission-plugins": ["A", "B"]}, "kube-apiserver", True,
     ["kube-apiserver", "--enable-admission-plugins=A,B", "--z=1"]),
    ({"feature-gates": {"A": True}}, None, False, ["--feature-gates=A=true"]),
])
def test_dict_to_flags(flags, binary, sort, expected):
    assert ff.k8s_dict_to_flags(flags, binary, sort) == expected


def test_round_trip():
    command = ["kube-apiserver", "--a=1", "--b", "--c=x,y"]
    assert ff.k8s_dict_to_flags(ff.k8s_flags_to_dict(command), "kube-apiserver") == command


def test_dict_to_flags_refuses():
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        ff.k8s_dict_to_flags(["a"])


def test_static_pod_merge_conflict_names_variable_and_sources():
    with pytest.raises(AnsibleFilterError, match="k8s_hardening_static_pod_changes: conflict on flag profiling"):
        ff.k8s_static_pod_merge([
            {"source": "a", "component": "kube-scheduler", "flags": {"profiling": "false"}},
            {"source": "b", "component": "kube-scheduler", "flags": {"profiling": "true"}}])
    assert list(ff.k8s_static_pod_merge([{"source": "a", "component": "etcd"}])) == ["etcd"]


SHA_A = "a" * 64
SHA_B = "b" * 64


def test_config_checksum_from_stat_results():
    results = [{"item": "/b", "stat": {"exists": True, "path": "/b", "checksum": SHA_B}},
               {"item": "/a", "stat": {"exists": True, "path": "/a", "checksum": SHA_A}}]
    one = ff.k8s_config_checksum(results)
    assert one == ff.k8s_config_checksum(list(reversed(results)))
    assert one == ff.k8s_config_checksum([r["stat"] for r in results])
    changed = [results[0], {"item": "/a", "stat": {"exists": True, "path": "/a", "checksum": SHA_B}}]
    assert one != ff.k8s_config_checksum(changed)


def test_config_checksum_missing_ok():
    results = [{"item": "/gone", "stat": {"exists": False}}]
    assert len(ff.k8s_config_checksum(results, missing_ok=True)) == 64


@pytest.mark.parametrize("results,fragment", [
    ([{"item": "/gone", "stat": {"exists": False}}], "/gone does not exist"),
    ([{"item": "/a", "stat": {"exists": True, "path": "/a", "checksum": "abc"}}], "checksum_algorithm: sha256"),
    (["x"], "expects stat results"),
])
def test_config_checksum_refuses(results, fragment):
    with pytest.raises(AnsibleFilterError, match=fragment):
        ff.k8s_config_checksum(results)


@pytest.mark.parametrize("names,profile,expected", [
    (["ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"], "kubelet",
     ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "apiserver", ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]),
])
def test_tls_cipher_suites(names, profile, expected):
    assert tf.k8s_tls_cipher_suites(names, "v", profile) == expected


@pytest.mark.parametrize("names,profile,fragment", [
    (["TLS_RSA_WITH_3DES_EDE_CBC_SHA"], "apiserver", "my_var: cipher suite TLS_RSA_WITH_3DES_EDE_CBC_SHA is in Go's insecure list"),
    (["NOPE"], "kubelet", "my_var: cipher suite NOPE is not supported"),
    (["TLS_AES_256_GCM_SHA384"], "etcd", "TLS 1.3 suite"),
])
def test_tls_cipher_suites_refuses(names, profile, fragment):
    with pytest.raises(AnsibleFilterError, match=fragment):
        tf.k8s_tls_cipher_suites(names, "my_var", profile)


def test_tls_min_version():
    assert tf.k8s_tls_min_version("1.2", "v") == "VersionTLS12"
    assert tf.k8s_tls_min_version("VersionTLS13", "v", "etcd") == "TLS1.3"
    with pytest.raises(AnsibleFilterError, match="my_var: unknown TLS version 'SSLv3'"):
        tf.k8s_tls_min_version("SSLv3", "my_var")


def test_config_checksums_one_annotation_per_file():
    stats = [{"item": "/etc/a.yaml", "stat": {"exists": True, "path": "/etc/a.yaml", "checksum": "a" * 64}},
             {"item": "/etc/b.yaml", "stat": {"exists": False, "path": "/etc/b.yaml"}}]
    assert ff.k8s_config_checksums(stats, missing_ok=True) == {
        "checksum.k8s-hardening.io/etc_a.yaml": "a" * 64, "checksum.k8s-hardening.io/etc_b.yaml": "missing"}
    with pytest.raises(Exception):
        ff.k8s_config_checksums(stats)
