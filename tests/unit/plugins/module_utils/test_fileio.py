"""_fileio.write_atomic on real files: private temp file, atomic rename, modes."""
import os
import stat

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _fileio


class FakeModule(object):
    """write_atomic renames itself; of the AnsibleModule it uses only the SELinux helpers (off here)."""

    def selinux_enabled(self):
        return False


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_new_file_gets_the_mode_and_no_temp_file_is_left(tmp_path):
    path = tmp_path / "kube-apiserver.yaml"
    _fileio.write_atomic(FakeModule(), str(path), "apiVersion: v1\n")
    assert path.read_text() == "apiVersion: v1\n" and _mode(path) == 0o600
    assert os.listdir(tmp_path) == ["kube-apiserver.yaml"]


def test_bytes_and_forced_mode(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    _fileio.write_atomic(FakeModule(), str(path), b"{}", mode=0o600)
    assert path.read_bytes() == b"{}" and _mode(path) == 0o600


def test_keep_existing_mode(tmp_path):
    path = tmp_path / "kubeadm-flags.env"
    path.write_text("old")
    os.chmod(path, 0o644)
    _fileio.write_atomic(FakeModule(), str(path), "new", keep_existing_mode=True)
    assert path.read_text() == "new" and _mode(path) == 0o644


def test_failed_move_leaves_target_and_no_temp(tmp_path, monkeypatch):
    def broken_rename(src, dest):
        raise OSError("disk full")
    path = tmp_path / "enc.yaml"
    path.write_text("keep")
    monkeypatch.setattr(os, "rename", broken_rename)
    try:
        _fileio.write_atomic(FakeModule(), str(path), "new")
    except OSError:
        pass
    assert path.read_text() == "keep" and os.listdir(tmp_path) == ["enc.yaml"]


def test_backup_copy_keeps_the_newest_and_touches_nothing_else(tmp_path):
    config = tmp_path / "encryption-config.yaml"
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "other-file.20200101T000000").write_text("not ours")
    (backups / "encryption-config.yaml.notes").write_text("not a backup")
    (backups / "encryption-config.yaml.20200101T000000").write_text("old, second resolution")
    made = []
    for n in range(4):
        config.write_text("version %d" % n)
        dest, removed = _fileio.backup_copy(FakeModule(), str(config), str(backups), keep=2)
        made.append(dest)
        assert _mode(dest) == 0o600 and open(dest).read() == "version %d" % n
    kept = sorted(n for n in os.listdir(backups) if n.startswith("encryption-config.yaml.2"))
    assert [os.path.join(str(backups), n) for n in kept] == made[-2:], "the two newest, nothing older"
    assert removed == [made[-3]]
    assert (backups / "other-file.20200101T000000").exists() and (backups / "encryption-config.yaml.notes").exists()


def test_backup_copy_with_data_suffix_and_keep_all(tmp_path):
    backups = tmp_path / "new-dir"
    for n in range(3):
        dest, removed = _fileio.backup_copy(FakeModule(), str(tmp_path / "kube-apiserver.yaml"), str(backups),
                                            keep=0, data=b"v%d" % n, name="kube-apiserver", suffix=".yaml")
        assert removed == [] and dest.endswith(".yaml") and os.path.basename(dest).startswith("kube-apiserver.")
    assert len(os.listdir(backups)) == 3 and _mode(backups) == 0o700
    assert _fileio.prune_backups(str(backups), "kube-apiserver", 1, ".yaml") and len(os.listdir(backups)) == 1


# --- with the real AnsibleModule: the file at the target path is never more open than its final mode ---

import json  # noqa: E402

import pytest  # noqa: E402

from ansible.module_utils import basic  # noqa: E402


@pytest.fixture
def real_module(monkeypatch):
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": {}}).encode())
    return basic.AnsibleModule(argument_spec={})


@pytest.fixture
def modes_seen(monkeypatch):
    """Every mode a file had at the moment it appeared at (os.rename) or was changed at (os.chmod) a path."""
    seen = []
    real_rename, real_chmod = os.rename, os.chmod

    def rename(src, dest, *a, **kw):
        seen.append((os.fsdecode(dest), "rename", stat.S_IMODE(os.stat(src).st_mode)))
        return real_rename(src, dest, *a, **kw)

    def chmod(path, mode, *a, **kw):
        if not isinstance(path, int):
            seen.append((os.fsdecode(path), "chmod", stat.S_IMODE(mode)))
        return real_chmod(path, mode, *a, **kw)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "chmod", chmod)
    return seen


@pytest.mark.parametrize("existing_mode", [None, 0o644, 0o600])
def test_real_module_key_file_never_readable_by_others(tmp_path, real_module, modes_seen, existing_mode):
    path = tmp_path / "ca.key"
    if existing_mode is not None:
        path.write_text("old")
        os.chmod(str(path), existing_mode)
        del modes_seen[:]
    old_umask = os.umask(0o022)
    try:
        _fileio.write_atomic(real_module, str(path), "-----BEGIN PRIVATE KEY-----\n", mode=0o600)
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o600 and path.read_text() == "-----BEGIN PRIVATE KEY-----\n"
    at_path = [(how, m) for p, how, m in modes_seen if p == str(path)]
    assert at_path, "the write was not observed"
    assert all(m & 0o077 == 0 for how, m in at_path), "readable by others at some moment: %r" % at_path
    assert os.listdir(str(tmp_path)) == ["ca.key"]


def test_real_module_keep_existing_mode_and_requested_mode(tmp_path, real_module, modes_seen):
    env = tmp_path / "kubeadm-flags.env"
    env.write_text("old")
    os.chmod(str(env), 0o640)
    _fileio.write_atomic(real_module, str(env), "new", keep_existing_mode=True)
    assert _mode(env) == 0o640 and env.read_text() == "new"
    manifest = tmp_path / "etcd.yaml"
    _fileio.write_atomic(real_module, str(manifest), "new", mode=0o644)
    assert _mode(manifest) == 0o644
    assert all(m & ~0o640 == 0 for p, how, m in modes_seen if p == str(env)), modes_seen


def test_real_module_owner_is_set_before_the_rename(tmp_path, real_module):
    path = tmp_path / "enc.yaml"
    uid, gid = os.geteuid(), os.getegid()
    _fileio.write_atomic(real_module, str(path), "x", owner=(uid, gid))
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid) == (uid, gid) and _mode(path) == 0o600
