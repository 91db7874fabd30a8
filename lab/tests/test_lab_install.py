"""lab/files/lab_install.py: writes only what differs, sets kubeadm's modes, prints no content."""
import base64
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "files", "lab_install.py")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="lab_install.py chowns to root")


def install(bundle):
    res = subprocess.run([sys.executable, SCRIPT], input=base64.b64encode(json.dumps(bundle).encode()),
                         capture_output=True, check=True, timeout=30)
    return res.stdout.decode()


def test_install_then_nothing_then_repair(tmp_path):
    secret = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-real-key\n-----END RSA PRIVATE KEY-----\n"
    bundle = {"dirs": [{"path": str(tmp_path / "pki"), "mode": "0755"},
                       {"path": str(tmp_path / "pki" / "etcd"), "mode": "0755"}],
              "files": [{"path": str(tmp_path / "pki" / "ca.key"), "mode": "0600", "content": secret},
                        {"path": str(tmp_path / "pki" / "etcd" / "ca.crt"), "mode": "0644", "content": "crt\n"}]}
    out = install(bundle)
    assert "not-a-real-key" not in out
    assert sorted(json.loads(out)["changed"]) == sorted([str(tmp_path / "pki"), str(tmp_path / "pki" / "etcd"),
                                                         str(tmp_path / "pki" / "ca.key"),
                                                         str(tmp_path / "pki" / "etcd" / "ca.crt")])
    assert oct(os.stat(tmp_path / "pki" / "ca.key").st_mode & 0o777) == "0o600"
    assert (tmp_path / "pki" / "ca.key").read_text() == secret
    assert json.loads(install(bundle))["changed"] == []
    # a changed mode and a changed content are put back, the directories are left alone
    os.chmod(tmp_path / "pki" / "etcd" / "ca.crt", 0o600)
    (tmp_path / "pki" / "ca.key").write_text("other")
    assert sorted(json.loads(install(bundle))["changed"]) == sorted([str(tmp_path / "pki" / "ca.key"),
                                                                     str(tmp_path / "pki" / "etcd" / "ca.crt")])
    assert oct(os.stat(tmp_path / "pki" / "etcd" / "ca.crt").st_mode & 0o777) == "0o644"
    assert (tmp_path / "pki" / "ca.key").read_text() == secret
    assert not [n for n in os.listdir(tmp_path / "pki") if n.startswith(".lab-install.")]
