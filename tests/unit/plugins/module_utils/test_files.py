"""Unit tests for _files: rule parsing, expansion over real temp files, planning."""
import os
import stat

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _files


@pytest.mark.parametrize("value,expected", [("0600", 0o600), ("600", 0o600), (0o644, 0o644), ("0700", 0o700)])
def test_parse_mode(value, expected):
    assert _files.parse_mode(value, "x") == expected


@pytest.mark.parametrize("value", ["rw-------", "0999", "-1", "77777"])
def test_parse_mode_rejects(value):
    with pytest.raises(_files.FileRuleError) as err:
        _files.parse_mode(value, "control_plane_file_rules[0]")
    assert "control_plane_file_rules[0]" in str(err.value)


def test_normalize_requires_path():
    with pytest.raises(_files.FileRuleError):
        _files.normalize_rules([{"mode": "0600"}])


@pytest.mark.parametrize("current,rule,ceiling,expected", [
    (0o644, 0o600, False, 0o600),
    (0o400, 0o600, False, 0o600),
    (0o400, 0o600, True, 0o400),   # kube-bench bitmask: 400 passes a 600 rule, leave it
    (0o644, 0o600, True, 0o600),
    (0o664, 0o644, True, 0o644),
    (0o755, None, False, 0o755),
])
def test_wanted_mode(current, rule, ceiling, expected):
    assert _files.wanted_mode(current, rule, ceiling) == expected


def _tree(tmp_path):
    pki = tmp_path / "pki"
    (pki / "etcd").mkdir(parents=True)
    for name in ("ca.crt", "ca.key", "etcd/ca.crt", "etcd/server.key"):
        (pki / name).write_text("x")
        os.chmod(pki / name, 0o644)
    return pki


def test_expand_pattern_and_missing(tmp_path):
    pki = _tree(tmp_path)
    keys = _files.expand({"path": str(pki), "pattern": "*.key", "recurse": True})
    assert keys == [str(pki / "ca.key"), str(pki / "etcd" / "server.key")]
    assert _files.expand({"path": str(pki), "pattern": "*.key"}) == [str(pki / "ca.key")]
    assert _files.expand({"path": str(tmp_path / "missing.conf")}) == []
    everything = _files.expand({"path": str(pki), "pattern": "*", "recurse": True, "include_dir": True})
    assert str(pki) in everything and str(pki / "etcd") in everything


def test_plan_one_real_stat(tmp_path):
    pki = _tree(tmp_path)
    key = str(pki / "ca.key")
    uid, gid = os.getuid(), os.getgid()
    rule = _files.normalize_rules([{"path": key, "mode": "0600", "owner": "me", "group": "us", "ids": ["1.1.21"]}])[0]
    change = _files.plan_one(key, os.lstat(key), rule, lambda n: uid, lambda n: gid)
    assert change["mode"] == {"before": "0644", "after": "0600", "value": 0o600}
    assert "owner" not in change and "group" not in change
    assert "1.1.21" in _files.describe(change)
    os.chmod(key, 0o600)
    assert _files.plan_one(key, os.lstat(key), rule, lambda n: uid, lambda n: gid) is None
    other = _files.plan_one(key, os.lstat(key), rule, lambda n: uid + 1, lambda n: gid)
    assert other["owner"]["value"] == uid + 1
    assert stat.S_IMODE(os.lstat(key).st_mode) == 0o600


def test_older_spellings_normalized():
    rule = _files.normalize_rules([{"path": "/x", "recurse_pattern": "*.crt", "include_dirs": True, "max_mode": True}])[0]
    assert rule["pattern"] == "*.crt" and rule["recurse"] is True and rule["include_dir"] is True


def test_find_files_depth_counts_as_ansible_find(tmp_path):
    from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._files import find_files
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.crt").write_text("x")
    (tmp_path / "a" / "one.crt").write_text("x")
    (tmp_path / "a" / "b" / "two.crt").write_text("x")
    (tmp_path / "a" / "skip.key").write_text("x")
    assert find_files([str(tmp_path)], ["*.crt"], 1) == [str(tmp_path / "top.crt")]
    assert find_files([str(tmp_path)], ["*.crt"], 2) == [str(tmp_path / "a" / "one.crt"), str(tmp_path / "top.crt")]
    assert len(find_files([str(tmp_path), str(tmp_path)], ["*.crt", "*.key"], 3)) == 4
    assert find_files([str(tmp_path / "missing")], ["*"], 3) == []


def test_read_entry_shape(tmp_path):
    from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._files import read_entry
    path = tmp_path / "f"
    path.write_text("abc")
    entry = read_entry({"path": str(path), "node": "n"}, str(path), False, 10)
    assert entry["item"]["node"] == "n" and "content" not in entry and entry["stat"]["exists"]
    assert read_entry(str(path), str(path), True, 2)["failed"], "larger than max_size"
    assert read_entry("x", str(tmp_path / "none"), True, 10)["stat"]["exists"] is False
