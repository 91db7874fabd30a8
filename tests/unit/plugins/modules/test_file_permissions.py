"""The file_permissions module shell, run for real on temp files."""
import os
import stat

from .modrun import run_module


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_check_then_apply_then_idempotent(tmp_path):
    conf = tmp_path / "scheduler.conf"
    conf.write_text("x")
    os.chmod(conf, 0o644)
    rules = [{"path": str(conf), "mode": "0600", "owner": "root", "group": "root", "ids": ["1.1.15", "1.1.16"]},
             {"path": str(tmp_path / "absent.conf"), "mode": "0600"}]
    rc, res = run_module("file_permissions", {"rules": rules}, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is True
    assert _mode(conf) == 0o644, "check mode must not touch the file"
    assert "mode=0644" in res["diff"]["before"] and "mode=0600" in res["diff"]["after"]
    rc, res = run_module("file_permissions", {"rules": rules}, tmp_path)
    assert rc == 0 and res["changed"] is True and res["checked"] == 1
    assert _mode(conf) == 0o600
    rc, res = run_module("file_permissions", {"rules": rules}, tmp_path)
    assert rc == 0 and res["changed"] is False and res["changes"] == []


def test_bad_mode_fails_before_touching(tmp_path):
    conf = tmp_path / "a.conf"
    conf.write_text("x")
    os.chmod(conf, 0o644)
    rc, res = run_module("file_permissions", {"rules": [{"path": str(conf), "mode": "0600"},
                                                        {"path": str(conf), "mode": "rw-r--r--"}]}, tmp_path)
    assert rc != 0 and res.get("failed") and "rw-r--r--" in res["msg"]
    assert _mode(conf) == 0o644


def test_unknown_owner_fails(tmp_path):
    conf = tmp_path / "a.conf"
    conf.write_text("x")
    rc, res = run_module("file_permissions", {"rules": [{"path": str(conf), "owner": "no-such-user-k8s"}]}, tmp_path)
    assert rc != 0 and "no-such-user-k8s" in res["msg"]
