"""ClusterConfiguration / KubeletConfiguration persistence logic, against kubeadm's own init config."""
import os

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _kubeadm_config as c
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import normalize_cipher_suites

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "kubeadm", "kubeadm-init-config.yaml")

AUDIT_VOL = {"name": "audit-policy", "hostPath": "/etc/kubernetes/audit/policy.yaml", "type": "File",
             "mountPath": "/etc/kubernetes/audit/policy.yaml", "readOnly": True}
CONTRIBS = [
    {"source": "control_plane", "component": "kube-apiserver",
     "flags": {"profiling": "false", "enable-admission-plugins": ["NodeRestriction", "EventRateLimit"]},
     "list_remove": {"enable-admission-plugins": ["AlwaysAdmit"]}, "volumes": [AUDIT_VOL]},
    {"source": "tls", "component": "kube-apiserver", "flags": {"tls-min-version": "VersionTLS12"}},
    {"source": "control_plane", "component": "kube-scheduler", "flags": {"profiling": False}},
    {"source": "etcd", "component": "etcd", "flags": {"cipher-suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}},
]


def _cluster(version=c.V1BETA3):
    with open(FIXTURE) as handle:
        doc = c.find_document(handle.read(), c.CLUSTER_KIND)
    doc["apiVersion"] = version
    return doc


def test_reference_file_is_valid_and_found():
    doc = _cluster()
    assert doc["kubernetesVersion"] == "v1.28.7"
    assert c.validate_cluster_configuration(doc) == []
    with open(FIXTURE) as handle:
        kubelet = c.find_document(handle.read(), "KubeletConfiguration")
    assert kubelet == {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                       "cgroupDriver": "systemd"}


def test_v1beta3_extra_args_map():
    new, warnings = c.apply_contributions(_cluster(), CONTRIBS)
    assert warnings == []
    assert new["apiServer"]["extraArgs"] == {"profiling": "false", "enable-admission-plugins": "NodeRestriction,EventRateLimit",
                                             "tls-min-version": "VersionTLS12"}
    assert new["apiServer"]["extraVolumes"] == [{"name": "audit-policy", "hostPath": "/etc/kubernetes/audit/policy.yaml",
                                                 "mountPath": "/etc/kubernetes/audit/policy.yaml", "readOnly": True,
                                                 "pathType": "File"}]
    assert new["scheduler"]["extraArgs"] == {"profiling": "false"}
    assert new["etcd"]["local"]["extraArgs"] == {"cipher-suites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
    base = list(_cluster())
    assert list(new)[:len(base)] == base, "existing keys keep their order"
    assert c.validate_cluster_configuration(new) == []


def test_v1beta4_extra_args_list():
    new, _w = c.apply_contributions(_cluster(c.V1BETA4), CONTRIBS)
    assert new["apiServer"]["extraArgs"] == [
        {"name": "profiling", "value": "false"},
        {"name": "enable-admission-plugins", "value": "NodeRestriction,EventRateLimit"},
        {"name": "tls-min-version", "value": "VersionTLS12"}]
    assert c.validate_cluster_configuration(new) == []
    # the v1beta3 map shape is rejected in a v1beta4 document
    new["scheduler"]["extraArgs"] = {"profiling": "false"}
    assert any("v1beta4 extraArgs must be a list" in e for e in c.validate_cluster_configuration(new))


def test_idempotent_and_existing_values_kept():
    doc = _cluster()
    doc["apiServer"] = {"extraArgs": {"enable-admission-plugins": "NodeRestriction,PodNodeSelector,AlwaysAdmit",
                                      "audit-log-maxage": "30"}, "certSANs": ["lb.example"]}
    once, dummy = c.apply_contributions(doc, CONTRIBS)
    twice, dummy = c.apply_contributions(once, CONTRIBS)
    assert c.compare(once, twice) == []
    args = once["apiServer"]["extraArgs"]
    assert args["enable-admission-plugins"] == "NodeRestriction,PodNodeSelector,EventRateLimit"
    assert args["audit-log-maxage"] == "30" and once["apiServer"]["certSANs"] == ["lb.example"]


def test_list_flag_starts_from_kubeadm_default():
    new, dummy = c.apply_contributions(_cluster(), [{"component": "kube-apiserver",
                                                     "flags": {"enable-admission-plugins": ["EventRateLimit"]}}])
    assert new["apiServer"]["extraArgs"]["enable-admission-plugins"] == "NodeRestriction,EventRateLimit", \
        "extraArgs replaces kubeadm's default, so NodeRestriction must stay"


def test_merged_dict_input_and_absent_flags():
    doc = _cluster()
    doc["controllerManager"] = {"extraArgs": {"profiling": "true", "bind-address": "0.0.0.0"}}
    merged = {"kube-controller-manager": {"flags": {}, "absent_flags": ["profiling", "bind-address"]}}
    new, warnings = c.apply_contributions(doc, merged)
    assert "extraArgs" not in new["controllerManager"]
    assert warnings == ["kube-controller-manager: kubeadm always sets --bind-address, so it cannot be removed "
                        "through ClusterConfiguration; re-run the collection after kubeadm upgrade"]


def test_etcd_limits_are_warnings():
    doc = _cluster()
    new, warnings = c.apply_contributions(doc, [{"component": "etcd", "volumes": [AUDIT_VOL]}])
    assert "extraVolumes" not in new.get("etcd", {}).get("local", {})
    assert "no extraVolumes" in warnings[0]
    doc["etcd"] = {"external": {"endpoints": ["https://10.0.0.5:2379"]}}
    new, warnings = c.apply_contributions(doc, CONTRIBS)
    assert new["etcd"] == doc["etcd"] and "external" in warnings[0]


@pytest.mark.parametrize("bad,needle", [
    ({"component": "kube-proxy", "flags": {"x": "1"}}, "kube-proxy"),
    ({"component": "kube-apiserver", "volumes": [{"name": "v", "hostPath": "/a"}]}, "mountPath"),
    ({"component": "kube-apiserver", "volumes": [dict(AUDIT_VOL, type="Fil")]}, "pathType"),
])
def test_bad_contributions(bad, needle):
    with pytest.raises(c.KubeadmConfigError, match=needle):
        c.apply_contributions(_cluster(), [bad])


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.update(apiserver={}), "unknown field apiserver"),
    (lambda d: d.update(apiServer={"extraArgz": {}}), "apiServer: unknown field extraArgz"),
    (lambda d: d.update(apiServer={"extraVolumes": [{"name": "a", "hostPath": "/a", "mountPath": "/a",
                                                     "readonly": True}]}), "unknown field readonly"),
    (lambda d: d.update(apiServer={"extraArgs": ["profiling=false"]}), "v1beta3 extraArgs must be a map"),
    (lambda d: d.update(etcd={"local": {"extraVolumes": []}}), "etcd.local: unknown field extraVolumes"),
    (lambda d: d.update(proxy={}), "unknown field proxy"),
    (lambda d: d.update(apiVersion="kubeadm.k8s.io/v1beta2"), "apiVersion"),
])
def test_validate_rejects(mutate, needle):
    doc = _cluster()
    mutate(doc)
    assert any(needle in e for e in c.validate_cluster_configuration(doc)), c.validate_cluster_configuration(doc)


def test_configmap_wrapped_document():
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubeadm-config, namespace: kube-system}\n"
            "data:\n  ClusterConfiguration: |\n    apiVersion: kubeadm.k8s.io/v1beta4\n"
            "    kind: ClusterConfiguration\n    kubernetesVersion: v1.31.2\n")
    assert c.find_document(text, c.CLUSTER_KIND, "ClusterConfiguration")["kubernetesVersion"] == "v1.31.2"
    assert c.find_document(text, c.CLUSTER_KIND) is None


@pytest.mark.parametrize("minor,version", [(28, c.V1BETA3), (30, c.V1BETA3), (31, c.V1BETA4), (None, c.V1BETA3)])
def test_empty_cluster_configuration_version(minor, version):
    assert c.empty_cluster_configuration(minor)["apiVersion"] == version


def test_kubelet_settings():
    merged, errors = c.apply_kubelet_settings({"apiVersion": "kubelet.config.k8s.io/v1beta1",
                                               "kind": "KubeletConfiguration", "cgroupDriver": "systemd"},
                                              {"readOnlyPort": 0, "authentication": {"anonymous": {"enabled": False}}},
                                              normalize_cipher_suites)
    assert errors == [] and list(merged) == ["apiVersion", "kind", "cgroupDriver", "readOnlyPort", "authentication"]
    _m, errors = c.apply_kubelet_settings(None, {"readOnlyPort": 99999})
    assert errors and "readOnlyPort" in errors[0]
