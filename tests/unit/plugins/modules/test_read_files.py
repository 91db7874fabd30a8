"""The read_files module shell, run for real on temp files: the shape of a slurp/stat loop in one call."""
import base64
import hashlib
import os

from .modrun import run_module


def test_items_keep_their_fields_and_missing_files_fail_softly(tmp_path):
    crt = tmp_path / "ca.crt"
    crt.write_text("CERT")
    rc, res = run_module("read_files", {"items": [{"path": str(crt), "node": "cp1", "field": "etcd_ca_cert"},
                                                  str(tmp_path / "absent.key")]}, tmp_path)
    assert rc == 0 and res["changed"] is False
    first, second = res["results"]
    assert first["item"] == {"path": str(crt), "node": "cp1", "field": "etcd_ca_cert"}
    assert base64.b64decode(first["content"]) == b"CERT"
    assert first["stat"] == {"path": str(crt), "exists": True, "checksum": hashlib.sha256(b"CERT").hexdigest(),
                             "writeable": True}
    assert second["failed"] is True and "not found" in second["msg"] and second["stat"]["exists"] is False
    assert second["item"] == str(tmp_path / "absent.key")


def test_find_like_ansible_find_depth_and_patterns(tmp_path):
    (tmp_path / "pki" / "etcd").mkdir(parents=True)
    (tmp_path / "pki" / "etcd" / "deep").mkdir()
    (tmp_path / "admin.conf").write_text("a")
    (tmp_path / "pki" / "ca.crt").write_text("b")
    (tmp_path / "pki" / "ca.key").write_text("not matched")
    (tmp_path / "pki" / "etcd" / "server.crt").write_text("c")
    (tmp_path / "pki" / "etcd" / "deep" / "too-deep.crt").write_text("d")
    os.symlink(str(tmp_path / "pki" / "ca.crt"), str(tmp_path / "pki" / "current.crt"))
    rc, res = run_module("read_files", {"find_paths": [str(tmp_path)], "find_patterns": ["*.crt", "*.conf"],
                                        "find_depth": 3, "content": False}, tmp_path)
    assert rc == 0
    found = [r["source"] for r in res["results"]]
    assert found == sorted([str(tmp_path / "admin.conf"), str(tmp_path / "pki" / "ca.crt"),
                            str(tmp_path / "pki" / "current.crt"), str(tmp_path / "pki" / "etcd" / "server.crt")])
    assert all("content" not in r and len(r["stat"]["checksum"]) == 64 for r in res["results"])


def test_relative_items_fail_and_large_files_are_refused(tmp_path):
    rc, res = run_module("read_files", {"items": ["relative.crt"]}, tmp_path)
    assert rc != 0 and "relative.crt" in res["msg"] and "items" in res["msg"]
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100)
    rc, res = run_module("read_files", {"items": [str(big)], "max_size": 10}, tmp_path)
    assert rc == 0 and res["results"][0]["failed"] and "max_size" in res["results"][0]["msg"]
