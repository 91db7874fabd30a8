"""Pure kubelet logic: merge, diff, validation, kubeadm-flags.env editing."""
import os

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _kubelet as k
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import normalize_cipher_suites

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kubelet")


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_merge_keeps_unmanaged_keys_and_order():
    base = k.load(_fixture("config.yaml"))
    merged = k.deep_merge(base, {"authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True}},
                                 "readOnlyPort": 0, "tlsMinVersion": "VersionTLS12"})
    assert list(merged)[:len(base)] == list(base), "existing keys keep their order"
    assert list(merged)[len(base):] == ["readOnlyPort", "tlsMinVersion"], "new keys are appended"
    assert merged["authentication"]["webhook"]["cacheTTL"] == "0s", "sibling keys in a nested dict survive"
    assert merged["cgroupDriver"] == "systemd"
    assert base.get("readOnlyPort") is None, "the input is not mutated"


def test_merge_none_removes_and_lists_replace():
    merged = k.deep_merge({"a": 1, "l": [1, 2], "f": {"x": True}}, {"a": None, "l": [3], "f": {"x": None}})
    assert merged == {"l": [3], "f": {}}


def test_dump_round_trip_is_stable():
    doc = k.load(_fixture("config.yaml"))
    assert k.load(k.dump(doc)) == doc
    assert k.dump(k.load(k.dump(doc))) == k.dump(doc)


def test_diff_paths_names_leaves():
    changes = k.diff_paths({"a": {"b": 1, "c": 2}, "x": 5}, {"a": {"b": 1, "c": 3}, "y": 0})
    assert changes == [{"path": "a.c", "old": 2, "new": 3}, {"path": "x", "old": 5, "new": None},
                       {"path": "y", "old": None, "new": 0}]
    assert k.format_changes(changes)[0] == "a.c: 2 -> 3"
    assert k.diff_paths({"a": 1}, {"a": 1}) == []


@pytest.mark.parametrize("text,nanos", [("0", 0), ("5m", 300e9), ("4h0m0s", 4 * 3600e9), ("1.5s", 1.5e9),
                                        ("300ms", 300e6), ("-1m", -60e9), ("1h30m", 5400e9)])
def test_parse_duration(text, nanos):
    assert k.parse_duration(text) == nanos


@pytest.mark.parametrize("bad", ["5", "5 m", "m", "", "1d", 5, True, "5mm"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        k.parse_duration(bad)


def test_reference_config_is_valid():
    assert k.validate(k.load(_fixture("config.yaml")), normalize_cipher_suites) == []


@pytest.mark.parametrize("settings,needle", [
    ({"readOnlyPort": -1}, "readOnlyPort must be an integer 0..65535"),
    ({"readOnlyPort": 70000}, "readOnlyPort"),
    ({"readOnlyPort": "0"}, "readOnlyPort"),
    ({"readOnlyPort": True}, "readOnlyPort"),
    ({"streamingConnectionIdleTimeout": "0"}, "non-zero"),
    ({"streamingConnectionIdleTimeout": "0s"}, "non-zero"),
    ({"streamingConnectionIdleTimeout": "5 minutes"}, "not a Go duration"),
    ({"eventRecordQPS": -1}, "eventRecordQPS must be an integer >= 0"),
    ({"podPidsLimit": "many"}, "podPidsLimit"),
    ({"authorization": {"mode": "AlwaysDeny"}}, "authorization.mode"),
    ({"authentication": {"anonymous": {"enabled": "no"}}}, "authentication.anonymous.enabled"),
    ({"tlsMinVersion": "TLS1.2"}, "tlsMinVersion"),
    ({"tlsCipherSuites": ["TLS_RSA_WITH_RC4_128_SHA"]}, "TLS_RSA_WITH_RC4_128_SHA"),
    ({"tlsCipherSuites": ["NOT_A_CIPHER"]}, "NOT_A_CIPHER"),
    ({"tlsCipherSuites": []}, "non-empty"),
    ({"featureGates": {"RotateKubeletServerCertificate": "yes"}}, "featureGates"),
    ({"serverTLSBootstrap": True, "featureGates": {"RotateKubeletServerCertificate": False}}, "serverTLSBootstrap"),
    ({"protectKernelDefaults": "true"}, "protectKernelDefaults"),
    ({"apiVersion": "kubelet.config.k8s.io/v1"}, "apiVersion"),
])
def test_validate_rejects(settings, needle):
    doc = k.deep_merge(k.load(_fixture("config.yaml")), settings)
    errors = k.validate(doc, normalize_cipher_suites, settings_keys=settings.keys())
    assert any(needle in e for e in errors), errors


def test_validate_unknown_setting_key():
    errors = k.validate({"readonlyPort": 0}, settings_keys=["readonlyPort"])
    assert errors == ["readonlyPort is not a KubeletConfiguration field (check the spelling)"]
    assert k.validate({"someNewField": 1}) == [], "unknown keys already in a file are kept"


def test_validate_accepts_cis_settings():
    doc = k.deep_merge(k.load(_fixture("config.yaml")), {
        "readOnlyPort": 0, "streamingConnectionIdleTimeout": "5m", "eventRecordQPS": 5, "podPidsLimit": 4096,
        "seccompDefault": True, "protectKernelDefaults": True, "makeIPTablesUtilChains": True,
        "tlsMinVersion": "VersionTLS12", "serverTLSBootstrap": True,
        "featureGates": {"RotateKubeletServerCertificate": True},
        "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]})
    assert k.validate(doc, normalize_cipher_suites, settings_keys=doc.keys()) == []


def test_flags_env_reference_only_reports_hostname_override():
    text = _fixture("kubeadm-flags.env")
    edit = k.edit_flags_env(text)
    assert edit["changed"] is False and edit["text"] == text
    assert [f["flag"] for f in edit["reported"]] == ["hostname-override"]
    assert edit["reported"][0]["cis"] == "4.2.7"


def test_flags_env_removes_hostname_override_when_asked():
    edit = k.edit_flags_env(_fixture("kubeadm-flags.env"), remove_hostname_override=True)
    assert edit["changed"] and "hostname-override" not in edit["text"]
    assert edit["text"] == ('KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/'
                            'containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9"\n')


@pytest.mark.parametrize("flag,removed", [
    ("--read-only-port=10255", True), ("--read-only-port=0", False),
    ("--anonymous-auth=true", True), ("--anonymous-auth=false", False), ("--anonymous-auth", True),
    ("--authorization-mode=AlwaysAllow", True), ("--authorization-mode=Webhook", False),
    ("--make-iptables-util-chains=false", True), ("--make-iptables-util-chains=true", False),
    ("--protect-kernel-defaults=false", True), ("--rotate-certificates=false", True),
    ("--event-qps=-1", True), ("--event-qps=5", False),
    ("--streaming-connection-idle-timeout=0", True), ("--streaming-connection-idle-timeout=0s", True),
    ("--streaming-connection-idle-timeout=5m", False),
    ("--tls-cipher-suites=TLS_RSA_WITH_AES_128_GCM_SHA256", True),
    ("--tls-min-version=VersionTLS10", True), ("--tls-min-version=VersionTLS12", False),
    ("--feature-gates=Foo=true,RotateKubeletServerCertificate=false", True),
    ("--feature-gates=RotateKubeletServerCertificate=true", False),
])
def test_flags_env_weak_flags(flag, removed):
    text = '# kubeadm\nKUBELET_KUBEADM_ARGS="--node-ip=10.0.0.1 %s --v=2"\nOTHER=x\n' % flag
    edit = k.edit_flags_env(text)
    assert edit["changed"] is removed
    if removed:
        assert edit["text"] == '# kubeadm\nKUBELET_KUBEADM_ARGS="--node-ip=10.0.0.1 --v=2"\nOTHER=x\n'
        assert edit["removed"][0]["flag"] == flag[2:].split("=")[0]
    else:
        assert edit["text"] == text


def test_flags_env_without_variable_and_bad_quoting():
    assert k.edit_flags_env("OTHER=1\n")["changed"] is False
    with pytest.raises(k.KubeletConfigError):
        k.edit_flags_env('KUBELET_KUBEADM_ARGS="--a=b\n')


def test_dropin_flags_scan():
    text = ('[Service]\nEnvironment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/b.conf '
            '--kubeconfig=/etc/kubernetes/kubelet.conf"\n# ExecStart=--read-only-port=10255\n'
            'ExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS --read-only-port=10255\n')
    args = k.dropin_flags(text)
    assert ("kubeconfig", "/etc/kubernetes/kubelet.conf") in args
    assert [f["flag"] for f in k.weak_flags(args)] == ["read-only-port"]


def test_validate_files_the_kubelet_needs():
    doc = k.load(_fixture("config.yaml"))
    assert k.validate(doc, path_exists=lambda p: True) == []
    errors = k.validate(doc, path_exists=lambda p: False)
    assert errors == ["authentication.x509.clientCAFile: /etc/kubernetes/pki/ca.crt does not exist on this node "
                      "(the kubelet would not start)"]
    assert k.validate({"tlsCertFile": "/a.crt"}) == ["tlsCertFile and tlsPrivateKeyFile must be set together"]
