"""The node_fingerprint module shell, run for real on temp files."""
import os
import stat

from .modrun import run_module


def _setup(tmp_path):
    root = tmp_path / "kubernetes"
    root.mkdir()
    (root / "kube-apiserver.yaml").write_text("- --profiling=false\n")
    (root / "sa.key").write_text("SECRET-KEY-MATERIAL")
    return root, {"paths": [{"path": str(root), "recurse": True}], "inputs": "inputs-a",
                  "record_path": str(tmp_path / "state" / "noop-record.json")}


def test_read_record_read_then_drift(tmp_path):
    root, args = _setup(tmp_path)
    rc, res = run_module("node_fingerprint", args, tmp_path)
    assert rc == 0 and res["converged"] is False and "no record" in res["reasons"][0] and res["changed"] is False
    before = res["digest"]

    rc, res = run_module("node_fingerprint", dict(args, state="record", expect_digest=before), tmp_path,
                         check_mode=True)
    assert rc == 0 and res["recorded"] is False and not os.path.exists(args["record_path"]), "check mode writes nothing"

    rc, res = run_module("node_fingerprint", dict(args, state="record", expect_digest=before), tmp_path)
    assert rc == 0 and res["recorded"] is True and res["changed"] is False
    assert stat.S_IMODE(os.stat(args["record_path"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(args["record_path"])).st_mode) == 0o700
    with open(args["record_path"]) as handle:
        assert "SECRET-KEY-MATERIAL" not in handle.read()

    rc, res = run_module("node_fingerprint", args, tmp_path)
    assert rc == 0 and res["converged"] is True and res["reasons"] == []

    rc, res = run_module("node_fingerprint", dict(args, inputs="inputs-b"), tmp_path)
    assert res["converged"] is False and "variables" in res["reasons"][0]

    (root / "kube-apiserver.yaml").write_text("- --profiling=true\n")
    rc, res = run_module("node_fingerprint", args, tmp_path)
    assert rc == 0 and res["converged"] is False
    assert res["drifted"] == [str(root / "kube-apiserver.yaml")]


def test_record_refused_when_the_run_changed_the_node(tmp_path):
    root, args = _setup(tmp_path)
    rc, res = run_module("node_fingerprint", args, tmp_path)
    before = res["digest"]
    (root / "kube-apiserver.yaml").write_text("- --profiling=false\n- --new-flag\n")
    rc, res = run_module("node_fingerprint", dict(args, state="record", expect_digest=before), tmp_path)
    assert rc == 0 and res["recorded"] is False and "changed the node" in res["reasons"][0]
    assert not os.path.exists(args["record_path"])


def test_bad_paths_fail_naming_the_option(tmp_path):
    rc, res = run_module("node_fingerprint", {"paths": ["relative"], "inputs": "x",
                                              "record_path": str(tmp_path / "r.json")}, tmp_path)
    assert rc != 0 and "paths" in res["msg"] and "relative" in res["msg"]
    rc, res = run_module("node_fingerprint", {"paths": [str(tmp_path)], "inputs": "x", "state": "record"}, tmp_path)
    assert rc != 0 and "expect_digest" in res["msg"]
