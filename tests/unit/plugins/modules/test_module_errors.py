"""Every error a module meets on a node is one fail_json naming the file, never a traceback.

The modules run for real (subprocess, JSON args, as Ansible runs them). Writes are made to fail as root
can make them fail: a directory the module must create lies below a regular file (ENOTDIR/EEXIST),
or the target is in /proc (EPERM).
"""
import base64
import os
import shutil

import pytest
import yaml

from .modrun import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
KEY = base64.b64encode(b"\x21" * 32).decode()


def _failed_naming(rc, res, *names):
    assert rc != 0 and res.get("failed") is True, res
    assert "Traceback" not in res.get("module_stderr", "") and "exception" not in res, res
    for name in names:
        assert name in res["msg"], res["msg"]


def _enc_file(tmp_path, providers):
    path = tmp_path / "enc" / "encryption-config.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                                    "resources": [{"resources": ["secrets"], "providers": providers}]}))
    return str(path)


@pytest.mark.parametrize("providers", [[], [{"secretbox": {"keys": []}}], [{"aescbc": {}}, {"identity": {}}]],
                         ids=["no-providers", "keys-empty", "no-keys"])
def test_encryption_config_info_on_a_config_without_providers_or_keys(tmp_path, providers):
    path = _enc_file(tmp_path, providers)
    rc, res = run_module("encryption_config_info", {"path": path, "state_path": str(tmp_path / "state.json")}, tmp_path)
    _failed_naming(rc, res, path)


def test_encryption_config_info_on_a_non_utf8_file(tmp_path):
    path = tmp_path / "encryption-config.yaml"
    path.write_bytes(b"kind: \xff\xfe\n")
    rc, res = run_module("encryption_config_info", {"path": str(path), "state_path": str(tmp_path / "state.json")},
                         tmp_path)
    _failed_naming(rc, res, str(path), "UTF-8")


def _manifest(tmp_path, data=None):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    path = manifests / "kube-apiserver.yaml"
    if data is None:
        shutil.copy(os.path.join(FIXTURES, "manifests", "kube-apiserver.yaml"), path)
    else:
        path.write_bytes(data)
    os.chmod(str(path), 0o600)
    return str(path)


@pytest.mark.parametrize("module", ["static_pod", "static_pod_health"])
def test_non_utf8_manifest(tmp_path, module):
    original = open(os.path.join(FIXTURES, "manifests", "kube-apiserver.yaml"), "rb").read()
    path = _manifest(tmp_path, original.replace(b"kube-apiserver\n", b"kube-apiserver\xe9\n", 1))
    if module == "static_pod":
        args = {"path": path, "backup_dir": str(tmp_path / "backups"), "flags": {"profiling": "false"}}
    else:
        args = {"component": "kube-apiserver", "manifest_path": path, "timeout": 1,
                "state_dir": str(tmp_path / "no-state")}
    rc, res = run_module(module, args, tmp_path)
    _failed_naming(rc, res, path)
    assert open(path, "rb").read().count(b"\xe9") == 1


@pytest.fixture
def blocker(tmp_path):
    """A regular file: any directory to be created below it cannot be."""
    path = tmp_path / "not-a-dir"
    path.write_text("")
    return str(path)


def test_static_pod_backup_dir_cannot_be_made(tmp_path, blocker):
    path = _manifest(tmp_path)
    before = open(path, "rb").read()
    rc, res = run_module("static_pod", {"path": path, "backup_dir": blocker + "/backups",
                                        "flags": {"profiling": "false"}}, tmp_path)
    _failed_naming(rc, res, blocker)
    assert open(path, "rb").read() == before


def test_encryption_config_dir_cannot_be_made(tmp_path, blocker):
    doc = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
           "resources": [{"resources": ["secrets"], "providers": [{"secretbox": {"keys": [{"name": "k", "secret": KEY}]}}]}]}
    rc, res = run_module("encryption_config", {"path": blocker + "/enc/encryption-config.yaml", "config": doc},
                         tmp_path)
    _failed_naming(rc, res, blocker)
    assert KEY not in str(res)


def test_kubelet_config_cannot_be_created(tmp_path, blocker):
    rc, res = run_module("kubelet_config", {"path": blocker + "/config.yaml", "create": True,
                                            "settings": {"readOnlyPort": 0}}, tmp_path)
    _failed_naming(rc, res, blocker)


def test_kubelet_flags_backup_cannot_be_made(tmp_path, blocker):
    env = tmp_path / "kubeadm-flags.env"
    env.write_text('KUBELET_KUBEADM_ARGS="--hostname-override=x --read-only-port=10255"\n')
    rc, res = run_module("kubelet_flags", {"path": str(env), "remove_flags": ["read-only-port"],
                                           "backup_dir": blocker + "/b"}, tmp_path)
    _failed_naming(rc, res, blocker)


def test_kubeadm_config_dest_cannot_be_written(tmp_path, blocker):
    src = os.path.join(FIXTURES, "kubeadm", "kubeadm-init-config.yaml")
    contribs = [{"source": "t", "component": "kube-apiserver", "flags": {"profiling": "false"}}]
    rc, res = run_module("kubeadm_config", {"config": "cluster", "contributions": contribs, "src": src,
                                            "dest": blocker + "/kubeadm-config.yaml", "target": "file",
                                            "kubeconfig": str(tmp_path / "none.conf")}, tmp_path)
    _failed_naming(rc, res, blocker)


def test_cis_report_dest_cannot_be_made(tmp_path, blocker):
    from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _cis as cis
    from ..module_utils.test_cis import kubeadm_node
    nodes = {"cp1": {"results": cis.evaluate_node(kubeadm_node()), "node_roles": ["control_plane"]}}
    rc, res = run_module("cis_report", {"dest": blocker + "/reports", "nodes": nodes, "formats": ["json"]}, tmp_path)
    _failed_naming(rc, res, blocker)


def test_node_fingerprint_record_cannot_be_written(tmp_path, blocker):
    watched = tmp_path / "watched"
    watched.write_text("x")
    args = {"paths": [str(watched)], "inputs": "v1", "record_path": blocker + "/rec/record.json"}
    rc, res = run_module("node_fingerprint", args, tmp_path)
    assert rc == 0, res
    rc, res = run_module("node_fingerprint", dict(args, state="record", expect_digest=res["digest"]), tmp_path)
    _failed_naming(rc, res, blocker)


def test_etcd_pki_controller_dir_cannot_be_made(tmp_path, blocker):
    options = {"etcd_cert_renew_days": 30, "etcd_cert_max_validity_days": 365, "etcd_cert_validity_days": 365,
               "etcd_ca_validity_days": 3650, "etcd_version": "3.5.10", "current_flags": {},
               "etcd_key_type": "ecdsa", "etcd_key_size": 256}
    rc, res = run_module("etcd_pki", {"node": "cp1", "nodes": [{"name": "cp1"}], "options": options,
                                      "ca_key_on_nodes": False, "controller_ca_dir": blocker + "/ca"}, tmp_path)
    _failed_naming(rc, res, blocker)


def test_file_permissions_chmod_refused(tmp_path):
    rc, res = run_module("file_permissions", {"rules": [{"path": "/proc/1/stat", "mode": "0400"}]}, tmp_path)
    _failed_naming(rc, res, "/proc/1/stat")
