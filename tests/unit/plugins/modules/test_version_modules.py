"""Module shells that ask the version table: kubelet_flags never carries a flag the node's version removed,
static_pod refuses etcd --experimental-* into an etcd 3.6 manifest, kubeadm_config refuses v1beta3 at 1.36,
encryption_config refuses kms v1 at 1.29+, cis_report writes the version and upgrade sections."""
import json
import os
import shutil

from .modrun import run_module

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")
V133 = os.path.join(FIXTURES, "kubeadm-v1.33.3")


def _flags_env(tmp_path):
    env = tmp_path / "kubeadm-flags.env"
    shutil.copy(os.path.join(V133, "kubelet", "kubeadm-flags.env"), env)
    admin = tmp_path / "kubelet"
    admin.write_text('KUBELET_EXTRA_ARGS="--pod-infra-container-image=registry.k8s.io/pause:3.10 --v=2"\n')
    return env, admin


def test_kubelet_flags_at_1_35_strips_kubeadms_file_and_reports_the_admins(tmp_path):
    env, admin = _flags_env(tmp_path)
    args = {"path": str(env), "extra_env_files": [{"path": str(admin)}], "kubernetes_version": "1.35.0",
            "backup_dir": str(tmp_path / "bak")}
    rc, res = run_module("kubelet_flags", args, tmp_path)
    assert rc == 0, res
    assert "--pod-infra-container-image" not in env.read_text()
    assert "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock" in env.read_text()
    assert admin.read_text().startswith('KUBELET_EXTRA_ARGS="--pod-infra-container-image')   # left alone
    reported = [r for r in res["reported"] if r["flag"] == "pod-infra-container-image"]
    assert reported and reported[0]["file"] == str(admin) and reported[0]["cis"] is None
    assert "removed in Kubernetes 1.35" in reported[0]["reason"]
    rc, res = run_module("kubelet_flags", args, tmp_path)
    assert rc == 0 and not res["changed"]
    # named in remove_flags, the administrator's file is cleaned too
    rc, res = run_module("kubelet_flags", dict(args, remove_flags=["pod-infra-container-image"]), tmp_path)
    assert rc == 0 and res["changed"] and admin.read_text() == 'KUBELET_EXTRA_ARGS="--v=2"\n'


def test_kubelet_flags_at_1_33_keeps_the_flag(tmp_path):
    env, admin = _flags_env(tmp_path)
    before = env.read_text()
    rc, res = run_module("kubelet_flags", {"path": str(env), "extra_env_files": [{"path": str(admin)}],
                                           "kubernetes_version": "1.33.3"}, tmp_path)
    assert rc == 0 and env.read_text() == before and not [r for r in res["reported"] if r["cis"] is None]


def test_static_pod_refuses_experimental_etcd_flag_on_36(tmp_path):
    manifest = tmp_path / "manifests" / "etcd.yaml"
    manifest.parent.mkdir()
    text = open(os.path.join(V133, "manifests", "etcd.yaml")).read()
    manifest.write_text(text.replace("registry.k8s.io/etcd:3.5.21-0", "registry.k8s.io/etcd:3.6.4-0"))
    args = {"path": str(manifest), "component": "etcd", "kubernetes_version": "1.34.1",
            "flags": {"experimental-initial-corrupt-check": "false"}, "backup_dir": str(tmp_path / "bak")}
    rc, res = run_module("static_pod", args, tmp_path)
    assert rc != 0 and "must not be written from etcd 3.6.0" in res["msg"] and "InitialCorruptCheck" in res["msg"]
    # the 3.5.21 image of kubeadm v1.33.3 still takes it
    manifest.write_text(text)
    rc, res = run_module("static_pod", args, tmp_path, check_mode=True)
    assert rc == 0, res["msg"] if "msg" in res else res


def test_kubeadm_config_refuses_v1beta3_at_1_36(tmp_path):
    src = tmp_path / "kubeadm-config.yaml"
    src.write_text("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n")
    args = {"config": "cluster", "target": "file", "dest": str(src), "contributions": [], "kubernetes_minor": 36}
    rc, res = run_module("kubeadm_config", args, tmp_path, check_mode=True)
    assert rc != 0 and "kubeadm.k8s.io/v1beta3 was removed in Kubernetes 1.36" in res["msg"]
    rc, res = run_module("kubeadm_config", dict(args, kubernetes_minor=35), tmp_path, check_mode=True)
    assert rc == 0, res


def test_kubeadm_config_from_nothing_takes_the_versions_form(tmp_path):
    for minor, api in ((30, "kubeadm.k8s.io/v1beta3"), (33, "kubeadm.k8s.io/v1beta4")):
        args = {"config": "cluster", "target": "file", "dest": str(tmp_path / ("c%d.yaml" % minor)),
                "contributions": [{"component": "kube-apiserver", "source": "t", "flags": {"profiling": "false"}}],
                "kubernetes_minor": minor}
        rc, res = run_module("kubeadm_config", args, tmp_path, check_mode=True)
        assert rc == 0 and res["config"]["apiVersion"] == api, res


def test_encryption_config_refuses_kms_v1_at_1_29_unless_the_gate(tmp_path):
    args = {"state": "plan", "nodes": {}, "path": str(tmp_path / "enc.yaml"), "provider": "kms",
            "kms": {"apiVersion": "v1", "name": "vault", "endpoint": "unix:///kms.sock"}, "kubernetes_minor": 29}
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc != 0 and "KMSv1" in res["msg"] and "encryption_kms_v1_feature_gate" in res["msg"]
    rc, res = run_module("encryption_config", dict(args, kms_v1_feature_gate=True), tmp_path)
    assert rc == 0, res
    rc, res = run_module("encryption_config", dict(args, kubernetes_minor=28), tmp_path)
    assert rc == 0, res


def test_cis_report_writes_versions_and_the_upgrade_section(tmp_path):
    nodes = {"cp1": {"results": [], "node_roles": ["control_plane"], "benchmark": "cis-1.10"}}
    upgrade = {"target_version": "1.29.0", "nodes": {"cp1": [
        {"severity": "breaks", "item": "kms v1", "where": "EncryptionConfiguration", "message": "kms v1 stops it",
         "fix": "use v2", "source": "https://example.invalid/kms"}]}}
    args = {"dest": str(tmp_path / "reports"), "nodes": nodes, "benchmark": "cis-1.10",
            "benchmark_source": "kube-bench's mapping of Kubernetes 1.28.7", "versions": {"cp1": "1.28.7"},
            "upgrade": upgrade}
    rc, res = run_module("cis_report", args, tmp_path)
    assert rc == 0, res
    report = json.load(open(str(tmp_path / "reports" / "report.json")))
    assert report["benchmark"] == "cis-1.10" and report["versions"]["cp1"]["kubernetes_version"] == "1.28.7"
    assert any("super-admin.conf" in n for n in report["versions"]["cp1"]["notes"])
    assert report["upgrade"]["summary"] == {"breaks": 1, "changes": 0, "note": 0}
    md = open(str(tmp_path / "reports" / "report.md")).read()
    assert "Benchmark: cis-1.10 (kube-bench's mapping of Kubernetes 1.28.7)." in md
    assert "## Upgrade to 1.29.0" in md and "| cp1 | breaks | kms v1 | EncryptionConfiguration |" in md
    assert "UPGRADE to 1.29.0 cp1 BREAKS: kms v1 EncryptionConfiguration: kms v1 stops it Fix: use v2" in \
        res["summary_lines"]
    assert "<h2>Upgrade to 1.29.0</h2>" in open(str(tmp_path / "reports" / "report.html")).read()
