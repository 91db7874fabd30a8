"""The encryption_config module shell, run for real (subprocess, ANSIBLE_MODULE_ARGS) on temp files."""
import base64
import json
import os
import stat

import yaml

from .modrun import run_module

K1 = base64.b64encode(b"\x11" * 32).decode()
K2 = base64.b64encode(b"\x12" * 32).decode()


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _args(tmp_path, **kw):
    args = {"path": str(tmp_path / "enc" / "encryption-config.yaml"), "backup_dir": str(tmp_path / "backup"),
            "kubernetes_minor": 28}
    args.update(kw)
    return args


def _keys_in(path):
    doc = yaml.safe_load(open(path))
    return [k["secret"] for p in doc["resources"][0]["providers"] for v in p.values() for k in (v or {}).get("keys", [])]


def test_first_stage_check_then_write_then_idempotent(tmp_path):
    args = _args(tmp_path, state="present", nodes={"cp1": ""}, states=[])
    rc, res = run_module("encryption_config", args, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is True, res
    assert not (tmp_path / "enc").exists(), "check mode wrote something"
    assert res["stage"] == "add" and res["rotation_state"]["stage"] == "add"
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc == 0 and res["changed"] is True
    path = args["path"]
    assert _mode(path) == 0o600 and _mode(os.path.dirname(path)) == 0o700
    assert res["summary"] == [{"resources": ["secrets"], "providers": ["identity", "secretbox:key1"]}]
    assert "2. secretbox:key1" in res["diff"]["after"]
    keys = _keys_in(path)
    assert len(keys) == 1 and len(base64.b64decode(keys[0])) == 32
    assert keys[0] not in json.dumps(res), "key material in the module result"
    # the same stage again, reading the node's file: nothing changes, the key is reused
    text = open(path).read()
    args2 = dict(args, nodes={"cp1": text}, states=[res["rotation_state"]])
    rc, res2 = run_module("encryption_config", args2, tmp_path)
    assert rc == 0 and res2["changed"] is False and res2["rotation_state"] is None
    assert _keys_in(path) == keys


def test_info_is_redacted(tmp_path):
    args = _args(tmp_path, state="present", nodes={"cp1": ""})
    run_module("encryption_config", args, tmp_path)
    rc, res = run_module("encryption_config_info", {"path": args["path"],
                                                    "state_path": str(tmp_path / "enc" / "rotation-state.json")},
                         tmp_path)
    assert rc == 0 and res["exists"] is True and res["writer"] == "identity"
    assert len(res["fingerprint"]) == 64
    for key in _keys_in(args["path"]):
        assert key not in json.dumps(res)


def test_explicit_config_backup_and_redacted_diff(tmp_path):
    doc = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
           "resources": [{"resources": ["secrets"], "providers": [{"aescbc": {"keys": [{"name": "k1", "secret": K1}]}},
                                                                  {"identity": {}}]}]}
    args = _args(tmp_path, state="present", config=doc)
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc == 0 and res["changed"] is True and res["writer"] == "aescbc:k1"
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc == 0 and res["changed"] is False
    doc2 = json.loads(json.dumps(doc))
    doc2["resources"][0]["providers"][0]["aescbc"]["keys"].insert(0, {"name": "k2", "secret": K2})
    rc, res = run_module("encryption_config", dict(args, config=doc2), tmp_path)
    assert rc == 0 and res["changed"] is True
    assert "aescbc:k2,k1" in res["diff"]["after"] and "aescbc:k1" in res["diff"]["before"]
    assert K1 not in json.dumps(res) and K2 not in json.dumps(res)
    assert _mode(res["backup_file"]) == 0o600 and _keys_in(res["backup_file"]) == [K1]


def test_bad_user_key_fails_before_writing(tmp_path):
    short = base64.b64encode(b"x" * 16).decode()
    args = _args(tmp_path, state="present", nodes={"cp1": ""}, keys=[{"name": "mine", "secret": short}])
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc != 0 and "encryption_keys" in res["msg"] and "16 bytes" in res["msg"]
    assert short not in res["msg"]
    assert not os.path.exists(args["path"])
    args = _args(tmp_path, state="present", nodes={"cp1": ""},
                 keys=[{"name": "a", "secret": K1}, {"name": "a", "secret": K1}], provider="aescbc")
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc != 0 and "used twice" in res["msg"]


def test_disagreeing_nodes_fail_naming_them(tmp_path):
    def text(secret):
        return yaml.safe_dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                               "resources": [{"resources": ["secrets"],
                                              "providers": [{"secretbox": {"keys": [{"name": "key1", "secret": secret}]}},
                                                            {"identity": {}}]}]})
    other = base64.b64encode(b"\x22" * 32).decode()
    args = _args(tmp_path, state="plan", nodes={"cp1": text(K1), "cp2": text(other), "cp3": ""})
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc != 0 and "cp1" in res["msg"] and "cp2" in res["msg"]
    assert K1 not in res["msg"] and other not in res["msg"]
    # the same file everywhere except a node without one: reused, nothing new generated
    args = _args(tmp_path, state="plan", nodes={"cp1": text(K1), "cp2": text(K1), "cp3": ""})
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc == 0 and res["stage"] == "idle" and res["writer"] == "secretbox:key1"


def test_advance_only_when_every_node_holds_the_stage(tmp_path):
    args = _args(tmp_path, state="present", nodes={"cp1": "", "cp2": ""})
    rc, res = run_module("encryption_config", args, tmp_path)
    record = res["rotation_state"]
    text = open(args["path"]).read()
    rc, res = run_module("encryption_config", _args(tmp_path, state="advance", nodes={"cp1": text, "cp2": ""},
                                                    states=[record]), tmp_path)
    assert rc != 0 and "cp2" in res["msg"]
    rc, res = run_module("encryption_config", _args(tmp_path, state="advance", nodes={"cp1": text, "cp2": text},
                                                    states=[record, None]), tmp_path)
    assert rc == 0 and res["rotation_state"]["complete"] is True and res["stage"] == "add"


def test_user_key_name_is_not_masked_but_secret_is(tmp_path):
    args = _args(tmp_path, state="present", nodes={"cp1": ""}, provider="aescbc",
                 keys=[{"name": "mine", "secret": K1}])
    rc, res = run_module("encryption_config", args, tmp_path)
    assert rc == 0, res
    assert res["rotation_state"]["new"] == "aescbc:mine"
    assert "VALUE_SPECIFIED_IN_NO_LOG" not in json.dumps([res["rotation_state"], res["summary"]])
    assert K1 not in json.dumps(res)
    assert _keys_in(args["path"]) == [K1]
