"""The kubeadm_config module: file mode for real, the API path with a real refused connection.
The API path against a real kube-apiserver (read, patch, check mode, 404) is in
tests/integration/test_kubeadm_config_api.py."""
import os
import shutil
import socket

import yaml

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
    assert rc != 0 and "target=api but the API cannot be used" in res["msg"] and "connection refused" in res["msg"]
    assert "Traceback" not in res["msg"]
