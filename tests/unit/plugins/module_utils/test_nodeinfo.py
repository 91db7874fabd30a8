"""Unit tests for _nodeinfo, on kubeadm v1.28.7's real files (tests/unit/fixtures)."""
import os

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _nodeinfo

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")

DROPIN = """[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""
UNIT = "[Service]\nExecStart=/usr/bin/kubelet\nRestart=always\n"
PATHS = {
    "kubernetes_dir": "/etc/kubernetes",
    "manifests_dir": "/etc/kubernetes/manifests",
    "pki_dir": "/etc/kubernetes/pki",
    "admin_conf": "/etc/kubernetes/admin.conf",
    "kubelet_kubeconfig": "/etc/kubernetes/kubelet.conf",
    "kubelet_config": "/var/lib/kubelet/config.yaml",
    "kubeadm_flags_env": "/var/lib/kubelet/kubeadm-flags.env",
}


def _read(*parts):
    with open(os.path.join(FIX, *parts)) as handle:
        return handle.read()


def _manifests(present=True):
    out = {}
    for name in _nodeinfo.COMPONENTS:
        path = "/etc/kubernetes/manifests/%s.yaml" % name
        out[name] = (path, _read("manifests", name + ".yaml") if present else None)
    return out


def _info(manifests, kubelet_conf=True, version_output=None, flags_env=None):
    paths = dict(PATHS, _kubelet_kubeconfig_present=kubelet_conf)
    env = {"/var/lib/kubelet/kubeadm-flags.env": flags_env if flags_env is not None else _read("kubelet", "kubeadm-flags.env"),
           "/etc/default/kubelet": None}
    units = [("/usr/lib/systemd/system/kubelet.service", UNIT),
             ("/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", DROPIN)]
    kubelet_config = "kind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n"
    return _nodeinfo.build_node_info(manifests, units, env, kubelet_config, version_output,
                                     "host-a", paths, lab=False)


@pytest.mark.parametrize("text,expected", [
    ("v1.28.7", ("1.28.7", 28)),
    ("1.34.1-rc.0", ("1.34.1", 34)),
    ("Kubernetes v1.30.2", ("1.30.2", 30)),
    ("latest", (None, None)),
    ("", (None, None)),
])
def test_parse_version(text, expected):
    assert _nodeinfo.parse_version(text) == expected


@pytest.mark.parametrize("image,tag", [
    ("registry.k8s.io/kube-apiserver:v1.28.7", "v1.28.7"),
    ("localhost:5000/etcd:3.5.10-0", "3.5.10-0"),
    ("registry.k8s.io/kube-apiserver:v1.29.0@sha256:abcd", "v1.29.0"),
    ("localhost:5000/kube-apiserver", None),
])
def test_image_tag(image, tag):
    assert _nodeinfo.image_tag(image) == tag


def test_kubelet_args_expand_like_systemd():
    flags = _nodeinfo.kubelet_args([UNIT, DROPIN], {"/var/lib/kubelet/kubeadm-flags.env": _read("kubelet", "kubeadm-flags.env")})
    assert flags["config"] == "/var/lib/kubelet/config.yaml"
    assert flags["kubeconfig"] == "/etc/kubernetes/kubelet.conf"
    assert flags["hostname-override"] == "cp1"
    assert flags["container-runtime-endpoint"] == "unix:///var/run/containerd/containerd.sock"


def test_control_plane_node():
    info = _info(_manifests())
    assert info["node_roles"] == ["control_plane"]
    assert info["kubernetes_version"] == "1.28.7" and info["kubernetes_minor"] == 28
    assert info["version_source"] == "manifest"
    assert info["node_name"] == "cp1"
    assert info["advertise_address"] == "10.0.0.10"
    assert info["etcd"]["topology"] == "stacked" and info["etcd"]["data_dir"] == "/var/lib/etcd"
    assert info["etcd"]["servers"] == ["https://127.0.0.1:2379"]
    assert info["components"]["etcd"]["image_tag"] == "3.5.10-0"
    assert info["paths"]["kubelet_dropins"] == ["/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"]
    assert info["paths"]["etcd_data_dir"] == "/var/lib/etcd"
    assert info["paths"]["kubelet_client_ca"] == "/etc/kubernetes/pki/ca.crt"
    assert info["paths"]["scheduler_conf"] == "/etc/kubernetes/scheduler.conf"


def test_worker_takes_version_from_kubelet():
    info = _info(_manifests(present=False), version_output="Kubernetes v1.29.3", flags_env='KUBELET_KUBEADM_ARGS=""\n')
    assert info["node_roles"] == ["worker"]
    assert info["kubernetes_version"] == "1.29.3" and info["version_source"] == "kubelet"
    assert info["node_name"] == "host-a"
    assert info["etcd"]["topology"] is None


def test_external_etcd():
    manifests = _manifests()
    manifests["etcd"] = (manifests["etcd"][0], None)
    info = _info(manifests)
    assert info["etcd"]["topology"] == "external"


def test_not_a_kubeadm_node():
    with pytest.raises(_nodeinfo.NodeInfoError) as err:
        _info(_manifests(present=False), kubelet_conf=False)
    assert "not a kubeadm node" in str(err.value)


def test_broken_manifest_is_named():
    manifests = _manifests()
    manifests["kube-scheduler"] = ("/etc/kubernetes/manifests/kube-scheduler.yaml", "kind: Deployment\n")
    with pytest.raises(_nodeinfo.NodeInfoError) as err:
        _info(manifests)
    assert "kube-scheduler.yaml" in str(err.value)
