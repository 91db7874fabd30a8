"""_fileio.write_atomic on real files: private temp file, atomic rename, modes."""
import os
import shutil
import stat

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _fileio


class FakeModule(object):
    """Only what write_atomic uses of AnsibleModule: atomic_move, which, like Ansible's, gives
    the new file the mode of the file it replaces, then renames it over."""

    def atomic_move(self, src, dest):
        if os.path.exists(dest):
            shutil.copymode(dest, src)
        os.rename(src, dest)


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


def test_failed_move_leaves_target_and_no_temp(tmp_path):
    class Broken(FakeModule):
        def atomic_move(self, src, dest):
            raise OSError("disk full")
    path = tmp_path / "enc.yaml"
    path.write_text("keep")
    try:
        _fileio.write_atomic(Broken(), str(path), "new")
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
