"""Unit tests for plugins/module_utils/_k8s_flags.py (version gates, values, conflicts)."""
import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _k8s_flags as f


@pytest.mark.parametrize("version,minor", [
    ("1.28.7", 28), ("v1.30.0", 30), ("1.34", 34), ("v1.31.2-eks-1", 31), ("", None), (None, None)])
def test_parse_version(version, minor):
    assert f.parse_version(version) == minor


@pytest.mark.parametrize("version", ["2.1.0", "latest", "1", "1.x"])
def test_parse_version_refuses(version):
    with pytest.raises(f.FlagError, match="kubernetes_version"):
        f.parse_version(version)


@pytest.mark.parametrize("component,flags,version", [
    ("kube-apiserver", {"profiling": "false", "tls-min-version": "VersionTLS12"}, "1.28.7"),
    ("kube-apiserver", {"encryption-provider-config-automatic-reload": "true"}, "1.28.0"),
    ("kube-apiserver", {"authentication-config": "/etc/kubernetes/authn.yaml"}, "1.30.1"),
    ("kube-apiserver", {"authorization-mode": "Node,RBAC", "request-timeout": "1m0s"}, "1.34.0"),
    ("kube-apiserver", {"tls-cipher-suites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, "1.29.0"),
    ("kube-controller-manager", {"terminated-pod-gc-threshold": "10", "profiling": "false"}, "1.28.7"),
    ("kube-scheduler", {"bind-address": "127.0.0.1"}, None),
    ("etcd", {"cipher-suites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"},
     "1.28.7"),
    ("etcd", {"tls-min-version": "TLS1.2"}, "1.28.7"),
])
def test_validate_ok(component, flags, version):
    assert f.validate_flags(component, flags, version) == []


@pytest.mark.parametrize("component,flags,version,fragment", [
    ("kube-apiserver", {"authentication-config": "/x"}, "1.28.7",
     "--authentication-config of kube-apiserver needs Kubernetes 1.30 or later; this node runs 1.28"),
    ("kube-apiserver", {"authorization-config": "/x"}, "1.29.0", "needs Kubernetes 1.30"),
    ("kube-apiserver", {"insecure-port": "0"}, "1.28.7", "--insecure-port of kube-apiserver was removed in Kubernetes 1.24"),
    ("kube-scheduler", {"port": "0"}, "1.30.0", "was removed in Kubernetes 1.24"),
    ("kube-apiserver", {"profiling": "no"}, "1.28.7", "--profiling must be true or false"),
    ("kube-apiserver", {"tls-min-version": "TLS12"}, "1.28.7", "--tls-min-version must be one of"),
    ("etcd", {"tls-min-version": "VersionTLS12"}, "1.31.0", "must be TLS1.2 or TLS1.3"),
    ("kube-apiserver", {"tls-cipher-suites": "TLS_RSA_WITH_AES_128_GCM_SHA256"}, "1.28.7", "insecure list"),
    ("etcd", {"cipher-suites": "TLS_AES_128_GCM_SHA256"}, "1.28.7", "TLS 1.3 suite"),
    ("etcd", {"cipher-suites": ","}, "1.28.7", "give at least one cipher suite"),
    ("kube-apiserver", {"authorization-mode": "Node,Magic"}, "1.28.7", "unknown mode(s) Magic"),
    ("kube-apiserver", {"audit-log-maxage": "thirty"}, "1.28.7", "must be an integer"),
    ("kube-apiserver", {"request-timeout": "60"}, "1.28.7", "must be a duration"),
    ("kube-apiserver", {"no-such-flag": "1"}, "1.28.7", "--no-such-flag is not a kube-apiserver flag"),
    ("kubelet", {"x": "1"}, "1.28.7", "unknown component"),
])
def test_validate_refuses(component, flags, version, fragment):
    with pytest.raises(f.FlagError) as err:
        f.validate_flags(component, flags, version)
    assert fragment in str(err.value)


def test_allow_unknown_and_out_of_range_warning():
    warnings = f.validate_flags("kube-apiserver", {"no-such-flag": "1"}, "1.40.0", allow_unknown=True)
    assert warnings and "1.40" in warnings[0]


def test_every_component_has_profiling_or_is_etcd():
    for comp in f.COMPONENTS:
        assert comp == "etcd" or "profiling" in f.FLAGS[comp]


AUTHN_V1BETA1 = {"apiVersion": "apiserver.config.k8s.io/v1beta1", "kind": "AuthenticationConfiguration",
                 "anonymous": {"enabled": True, "conditions": [{"path": "/readyz"}]}}


@pytest.mark.parametrize("flags,version,authn,fragment", [
    ({"authorization-mode": "Node,RBAC", "authorization-config": "/a"}, "1.30.0", None,
     "--authorization-mode and --authorization-config cannot both be set"),
    ({"anonymous-auth": "false", "authentication-config": "/a"}, "1.32.0", AUTHN_V1BETA1,
     "--anonymous-auth conflicts with --authentication-config /a"),
    ({"authentication-config": "/a"}, "1.31.0", AUTHN_V1BETA1,
     "needs Kubernetes 1.32 or later; this node runs 1.31"),
    ({"authentication-config": "/a"}, "1.33.0", dict(AUTHN_V1BETA1, apiVersion="apiserver.config.k8s.io/v1"),
     "needs Kubernetes 1.34"),
])
def test_conflicts(flags, version, authn, fragment):
    with pytest.raises(f.FlagError) as err:
        f.check_conflicts("kube-apiserver", flags, version, authn)
    assert fragment in str(err.value)


@pytest.mark.parametrize("component,flags,version,authn", [
    ("kube-apiserver", {"anonymous-auth": "false", "authentication-config": "/a"}, "1.32.0",
     {"apiVersion": "apiserver.config.k8s.io/v1beta1", "jwt": []}),
    ("kube-apiserver", {"authentication-config": "/a"}, "1.34.0", dict(AUTHN_V1BETA1, apiVersion="apiserver.config.k8s.io/v1")),
    ("kube-apiserver", {"authorization-config": "/a"}, "1.30.0", None),
    ("kube-scheduler", {"authorization-mode": "x", "authorization-config": "y"}, "1.30.0", None),
])
def test_no_conflict(component, flags, version, authn):
    f.check_conflicts(component, flags, version, authn)
