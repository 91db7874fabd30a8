"""k8s_audit_masters as Ansible runs it: counts system:masters requests after bootstrap, never fails on a
missing log."""
import json

from .modrun import run_module


def test_counts_and_missing_log(tmp_path):
    log = tmp_path / "audit.log"
    log.write_text("\n".join(json.dumps({"stage": "ResponseComplete", "requestReceivedTimestamp": when,
                                         "user": {"username": "kubernetes-super-admin", "groups": ["system:masters"]}})
                             for when in ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")) + "\n")
    rc, res = run_module("k8s_audit_masters", {"path": str(log), "since": "2026-01-14T00:00:00Z",
                                               "since_offset": 86400}, tmp_path)
    assert rc == 0 and res["readable"] and res["events"] == 1 and res["changed"] is False
    assert res["since"] == "2026-01-15T00:00:00Z"
    assert res["users"] == ["kubernetes-super-admin"] and res["last"] == "2026-02-01T00:00:00Z"
    rc, res = run_module("k8s_audit_masters", {"path": str(tmp_path / "none.log")}, tmp_path)
    assert rc == 0 and res["readable"] is False and "No such file" in res["error"]
    rc, res = run_module("k8s_audit_masters", {"path": str(log), "since": "yesterday"}, tmp_path)
    assert rc == 1 and "not an RFC 3339 time" in res["msg"]
