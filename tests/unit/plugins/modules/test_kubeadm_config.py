"""The kubeadm_config module: file mode for real, the API path with a real refused connection,
and the ConfigMap read/patch logic against a small in-process fake (no apiserver can run here)."""
import os
import shutil
import socket

import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.modules import kubeadm_config as mod

from .modrun import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
INIT = os.path.join(FIXTURES, "kubeadm", "kubeadm-init-config.yaml")
CONTRIBS = [{"source": "control_plane", "component": "kube-apiserver",
             "flags": {"profiling": "false", "enable-admission-plugins": ["EventRateLimit"]},
             "volumes": [{"name": "audit-log", "hostPath": "/var/log/kubernetes/audit", "type": "DirectoryOrCreate",
                          "mountPath": "/var/log/kubernetes/audit", "readOnly": False}]}]


def _free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _kubeconfig(tmp_path):
    """A kubeconfig pointing at a closed local port: a real connection refused."""
    path = tmp_path / "admin.conf"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:%d" % _free_port(),
                                               "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    return path


def test_cluster_file_mode_check_apply_idempotent(tmp_path):
    dest = tmp_path / "k8s-hardening" / "kubeadm-config.yaml"
    args = {"config": "cluster", "contributions": CONTRIBS, "src": INIT, "dest": str(dest),
            "kubeconfig": str(tmp_path / "no-admin.conf")}
    rc, res = run_module("kubeadm_config", args, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] and not dest.exists() and res["api_reachable"] is False
    assert any("would-be content" in w for w in res.get("warnings", []))
    rc, res = run_module("kubeadm_config", args, tmp_path)
    assert rc == 0 and res["changed"] and res["target"] == str(dest)
    doc = yaml.safe_load(dest.read_text())
    assert doc["apiVersion"] == "kubeadm.k8s.io/v1beta3" and doc["kubernetesVersion"] == "v1.28.7"
    assert doc["apiServer"]["extraArgs"] == {"profiling": "false",
                                             "enable-admission-plugins": "NodeRestriction,EventRateLimit"}
    assert doc["apiServer"]["extraVolumes"][0]["pathType"] == "DirectoryOrCreate"
    assert oct(os.stat(dest).st_mode & 0o777) == "0o600"
    written, mtime = dest.read_bytes(), os.stat(dest).st_mtime_ns
    for check in (True, False):
        rc, res = run_module("kubeadm_config", args, tmp_path, check_mode=check)
        assert rc == 0 and res["changed"] is False and res["changes"] == []
    assert dest.read_bytes() == written and os.stat(dest).st_mtime_ns == mtime


def test_kubelet_file_mode_from_node_config(tmp_path):
    src = tmp_path / "config.yaml"
    shutil.copy(os.path.join(FIXTURES, "kubelet", "config.yaml"), src)
    dest = tmp_path / "kubelet-config.yaml"
    settings = {"readOnlyPort": 0, "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
                "streamingConnectionIdleTimeout": "5m"}
    args = {"config": "kubelet", "settings": settings, "src": str(src), "dest": str(dest), "target": "file"}
    rc, res = run_module("kubeadm_config", args, tmp_path)
    assert rc == 0 and res["changed"]
    doc = yaml.safe_load(dest.read_text())
    assert doc["tlsCipherSuites"] == ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]
    assert doc["clusterDNS"] == ["10.96.0.10"], "unmanaged keys kept"
    rc, res = run_module("kubeadm_config", args, tmp_path)
    assert rc == 0 and res["changed"] is False


def test_bad_values_fail_and_leave_dest_identical(tmp_path):
    dest = tmp_path / "kubeadm-config.yaml"
    shutil.copy(INIT, dest)
    before = dest.read_bytes()
    bad = [{"component": "kube-apiserver", "volumes": [{"name": "x", "hostPath": "/x", "mountPath": "/x",
                                                        "type": "Dir"}]}]
    rc, res = run_module("kubeadm_config", {"config": "cluster", "contributions": bad, "dest": str(dest),
                                            "target": "file"}, tmp_path)
    assert rc != 0 and "pathType" in res["msg"] and dest.read_bytes() == before
    rc, res = run_module("kubeadm_config", {"config": "kubelet", "settings": {"readOnlyPort": -1}, "dest": str(dest),
                                            "target": "file"}, tmp_path)
    assert rc != 0 and "readOnlyPort" in res["msg"] and dest.read_bytes() == before


def test_unreachable_api_falls_back_to_file_or_fails(tmp_path):
    kubeconfig = _kubeconfig(tmp_path)
    dest = tmp_path / "kubeadm-config.yaml"
    args = {"config": "cluster", "contributions": CONTRIBS, "kubeconfig": str(kubeconfig), "dest": str(dest),
            "kubernetes_minor": 31, "api_timeout": 3}
    rc, res = run_module("kubeadm_config", args, tmp_path)
    assert rc == 0 and res["api_reachable"] is False and dest.exists()
    assert yaml.safe_load(dest.read_text())["apiVersion"] == "kubeadm.k8s.io/v1beta4", "1.31+ writes v1beta4"
    rc, res = run_module("kubeadm_config", dict(args, target="api"), tmp_path)
    assert rc != 0 and "API not reachable" in res["msg"]


class FakeConfigMaps(object):
    """Fake of the two kube-system ConfigMaps (kubeadm-config, kubelet-config); records patches."""

    def __init__(self, data):
        self.data = data
        self.patches = []

    def read(self, name, key):
        return self.data[name][key]

    def write(self, name, key, text):
        self.patches.append((name, key))
        self.data[name][key] = text


class FakeModule(object):
    def __init__(self, params, check_mode=False):
        self.params = dict(target="auto", kubeconfig="/nonexistent", api_timeout=5, src=None, dest=None,
                           kubernetes_minor=None, backup=True, contributions=None, settings={})
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = True
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])


@pytest.fixture
def fake_api(monkeypatch):
    with open(INIT) as handle:
        docs = list(yaml.safe_load_all(handle))
    api = FakeConfigMaps({"kubeadm-config": {"ClusterConfiguration": yaml.safe_dump(docs[1])},
                          "kubelet-config": {"kubelet": yaml.safe_dump(docs[2])}})
    monkeypatch.setattr(mod, "_api_target", lambda module: (api, None))
    return api


def test_api_path_patches_configmap_once(fake_api):
    result = mod.run(FakeModule({"config": "cluster", "contributions": CONTRIBS}, check_mode=True))
    assert result["changed"] and fake_api.patches == [], "check mode must not patch"
    result = mod.run(FakeModule({"config": "cluster", "contributions": CONTRIBS}))
    assert result["changed"] and result["target"] == "api" and fake_api.patches == [("kubeadm-config",
                                                                                     "ClusterConfiguration")]
    stored = yaml.safe_load(fake_api.data["kubeadm-config"]["ClusterConfiguration"])
    assert stored["apiServer"]["extraArgs"]["profiling"] == "false"
    result = mod.run(FakeModule({"config": "cluster", "contributions": CONTRIBS}))
    assert result["changed"] is False and len(fake_api.patches) == 1


def test_api_path_kubelet(fake_api):
    module = FakeModule({"config": "kubelet", "settings": {"readOnlyPort": 0, "eventRecordQPS": 5}})
    result = mod.run(module)
    assert result["changed"] and [c["path"] for c in result["changes"]] == ["eventRecordQPS", "readOnlyPort"]
    assert yaml.safe_load(fake_api.data["kubelet-config"]["kubelet"])["cgroupDriver"] == "systemd"
    assert module.warnings == []
