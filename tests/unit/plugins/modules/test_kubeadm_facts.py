"""The kubeadm_facts module shell on temp directories laid out like kubeadm's."""
import os
import shutil

from .modrun import run_module

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def test_control_plane_from_files(tmp_path):
    kdir = tmp_path / "etc-kubernetes"
    shutil.copytree(os.path.join(FIX, "manifests"), kdir / "manifests")
    (kdir / "kubelet.conf").write_text("apiVersion: v1\nkind: Config\n")
    ldir = tmp_path / "var-lib-kubelet"
    ldir.mkdir()
    rc, res = run_module("kubeadm_facts", {"kubernetes_dir": str(kdir), "kubelet_dir": str(ldir),
                                           "lab_state_dir": str(tmp_path / "none")}, tmp_path, check_mode=True)
    assert rc == 0, res
    node = res["ansible_facts"]["k8s_hardening_node"]
    assert res["changed"] is False
    assert node["node_roles"] == ["control_plane"] and node["kubernetes_minor"] == 28
    assert node["components"]["kube-apiserver"]["manifest"] == str(kdir / "manifests" / "kube-apiserver.yaml")
    assert node["lab"] is False


def test_fails_on_a_host_that_is_not_kubeadm(tmp_path):
    rc, res = run_module("kubeadm_facts", {"kubernetes_dir": str(tmp_path / "a"), "kubelet_dir": str(tmp_path / "b")},
                         tmp_path)
    assert rc != 0 and res["failed"] and "not a kubeadm node" in res["msg"]
