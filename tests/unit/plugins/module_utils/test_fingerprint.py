"""_fingerprint: what changes a node's digest, and when a record counts (real files in tmp_path)."""
import os

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _fingerprint as fp


def _tree(tmp_path):
    root = tmp_path / "etc-kubernetes"
    (root / "manifests").mkdir(parents=True)
    (root / "manifests" / "kube-apiserver.yaml").write_text("- --profiling=false\n")
    (root / "pki").mkdir()
    (root / "pki" / "ca.key").write_text("KEY-MATERIAL-123")
    os.chmod(root / "pki" / "ca.key", 0o600)
    return root


def _digest(specs):
    return fp.combined_digest(fp.walk(specs))


def test_content_mode_owner_and_new_files_change_the_digest(tmp_path):
    root = _tree(tmp_path)
    specs = [{"path": str(root), "recurse": True}]
    first = _digest(specs)
    assert _digest(specs) == first, "the digest must be stable"
    manifest = root / "manifests" / "kube-apiserver.yaml"
    manifest.write_text("- --profiling=true\n")
    second = _digest(specs)
    assert second != first
    manifest.write_text("- --profiling=false\n")
    assert _digest(specs) == first, "the same content, mode and owner give the same digest again"
    os.chmod(root / "pki" / "ca.key", 0o644)
    assert _digest(specs) != first
    os.chmod(root / "pki" / "ca.key", 0o600)
    os.chown(root / "pki" / "ca.key", 65534, -1)
    assert _digest(specs) != first
    os.chown(root / "pki" / "ca.key", os.getuid(), -1)
    assert _digest(specs) == first
    (root / "manifests" / "extra.yaml").write_text("x")
    assert _digest(specs) != first


def test_without_content_only_meta_size_and_mtime_count(tmp_path):
    logs = tmp_path / "audit"
    logs.mkdir()
    log = logs / "audit.log"
    log.write_text("a")
    os.utime(log, ns=(1, 1))
    specs = [{"path": str(logs), "recurse": True, "content": False}]
    first = _digest(specs)
    log.write_text("b")
    os.utime(log, ns=(1, 1))
    assert _digest(specs) == first, "same size and mtime: content is not read"
    os.chmod(log, 0o600 if (os.stat(log).st_mode & 0o777) != 0o600 else 0o640)
    assert _digest(specs) != first


def test_volatile_files_count_only_type_mode_and_owner(tmp_path):
    """The audit log a running kube-apiserver appends to every second: its growth is no drift
    (found on the lab's real control plane: with size and mtime counted, no node stayed converged)."""
    logs = tmp_path / "audit"
    logs.mkdir()
    log = logs / "audit.log"
    log.write_text("one event\n")
    specs = [{"path": str(logs), "recurse": True, "volatile": True}]
    first = _digest(specs)
    with open(log, "a") as handle:
        handle.write("another event\n")
    os.utime(log, ns=(10 ** 18, 10 ** 18))
    assert _digest(specs) == first, "appended events, a new mtime: not drift"
    assert fp.walk(specs)[str(log)] == "file|%o|%d|%d" % (os.stat(log).st_mode & 0o7777, os.getuid(), os.getgid())
    os.chmod(log, 0o644 if (os.stat(log).st_mode & 0o777) != 0o644 else 0o600)
    assert _digest(specs) != first, "a mode change is drift"
    os.chmod(log, 0o600)
    second = _digest(specs)
    (logs / "audit-2026-12-06.log").write_text("rotated")
    assert _digest(specs) != second, "a new file is drift"
    assert fp.normalize_specs(specs)[0]["content"] is False


def test_absent_paths_symlinks_and_duplicates(tmp_path):
    root = _tree(tmp_path)
    entries = fp.walk([str(tmp_path / "nope"), {"path": str(root), "recurse": True},
                       {"path": str(root / "pki" / "ca.key"), "content": False}])
    assert entries[str(tmp_path / "nope")] == "absent"
    assert "sha256:" in entries[str(root / "pki" / "ca.key")], "the content-hashing description wins"
    os.symlink(str(root / "pki"), str(root / "link"))
    entries = fp.walk([{"path": str(root), "recurse": True}])
    assert entries[str(root / "link")].startswith("link|")
    assert str(root / "link" / "ca.key") not in entries, "links are described, never followed"


def test_proc_style_files_of_size_zero_are_read(tmp_path):
    # /proc/sys files report st_size 0; the content must still count (read, not sized).
    path = "/proc/sys/kernel/ostype"
    if not os.path.exists(path):
        pytest.skip("no /proc/sys here")
    line = fp.describe_entry(path)
    assert "sha256:" in line


def test_bad_specs_fail_with_the_path(tmp_path):
    with pytest.raises(fp.FingerprintError, match="not absolute"):
        fp.walk(["relative/path"])
    with pytest.raises(fp.FingerprintError, match="unknown keys recursive"):
        fp.walk([{"path": str(tmp_path), "recursive": True}])
    many = tmp_path / "many"
    many.mkdir()
    for i in range(5):
        (many / str(i)).write_text("x")
    with pytest.raises(fp.FingerprintError, match="more than 3 entries"):
        fp.walk([{"path": str(many), "recurse": True}], max_entries=3)


def test_record_holds_digests_only(tmp_path):
    root = _tree(tmp_path)
    entries = fp.walk([{"path": str(root), "recurse": True}])
    text = fp.dump_record(fp.build_record(entries, "inputs-1", 1000))
    assert "KEY-MATERIAL" not in text and "profiling" not in text
    assert fp.load_record(text)["digest"] == fp.combined_digest(entries)
    assert fp.load_record("not json") is None and fp.load_record("[1]") is None


def test_compare(tmp_path):
    root = _tree(tmp_path)
    specs = [{"path": str(root), "recurse": True}]
    entries = fp.walk(specs)
    record = fp.build_record(entries, "in", 1000)
    assert fp.compare(record, entries, "in", 1010, 86400) == {"converged": True, "reasons": [], "drifted": []}
    verdict = fp.compare(None, entries, "in", 1010, 86400)
    assert not verdict["converged"] and "no record" in verdict["reasons"][0]
    (root / "manifests" / "kube-apiserver.yaml").write_text("- --profiling=true\n")
    verdict = fp.compare(record, fp.walk(specs), "in", 1010, 86400)
    assert not verdict["converged"]
    assert verdict["drifted"] == [str(root / "manifests" / "kube-apiserver.yaml")]
    assert "kube-apiserver.yaml" in verdict["reasons"][0]
    verdict = fp.compare(record, entries, "other-inputs", 1010, 86400)
    assert not verdict["converged"] and "variables" in verdict["reasons"][0] and verdict["drifted"] == []
    verdict = fp.compare(record, entries, "in", 1000 + 86401, 86400)
    assert not verdict["converged"] and "old" in verdict["reasons"][0]
    assert fp.compare(record, entries, "in", 1000 + 10 ** 9, None)["converged"], "no age limit"
    assert not fp.compare(record, entries, "in", 0, 86400)["converged"], "a record from the future does not count"
    assert not fp.compare(dict(record, version=99), entries, "in", 1010, 86400)["converged"]


def test_inputs_and_tree_digests(tmp_path):
    assert fp.inputs_digest({"a": 1, "b": [1, 2]}) == fp.inputs_digest({"b": [1, 2], "a": 1})
    assert fp.inputs_digest({"a": 1}) != fp.inputs_digest({"a": 2})
    assert fp.inputs_digest({"a": 1}, "x") != fp.inputs_digest({"a": 1}, "y")
    (tmp_path / "roles" / "__pycache__").mkdir(parents=True)
    (tmp_path / "roles" / "main.yml").write_text("a")
    first = fp.tree_digest(str(tmp_path), ["roles"])
    (tmp_path / "roles" / "__pycache__" / "x.pyc").write_text("junk")
    assert fp.tree_digest(str(tmp_path), ["roles"]) == first
    (tmp_path / "roles" / "main.yml").write_text("b")
    assert fp.tree_digest(str(tmp_path), ["roles"]) != first


def test_paths_inside_a_hashed_tree_are_not_walked_twice(tmp_path):
    root = _tree(tmp_path)
    calls = []

    def counting_lstat(path):
        calls.append(path)
        return os.lstat(path)

    specs = [{"path": str(root), "recurse": True}, {"path": str(root / "pki"), "recurse": True},
             str(root / "manifests" / "kube-apiserver.yaml"), {"path": str(root), "recurse": True},
             str(tmp_path / "outside")]
    entries = fp.walk(specs, lstat=counting_lstat)
    assert entries == fp.walk([{"path": str(root), "recurse": True}, str(tmp_path / "outside")])
    assert len(calls) == len(set(calls)), "every path is described once"
    # a tree hashed only by size and mtime does not cover the content of what is inside it
    logs = fp.walk([{"path": str(root), "recurse": True, "content": False}, str(root / "pki" / "ca.key")])
    assert "sha256:" in logs[str(root / "pki" / "ca.key")]
