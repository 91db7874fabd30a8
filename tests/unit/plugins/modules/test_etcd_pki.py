"""The etcd_pki module shell, driven through run() with a small fake AnsibleModule."""
import datetime
import os
import stat

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.modules import etcd_pki
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _etcd, _pki


class Failed(Exception):
    pass


class FakeModule:
    """Just what run() uses: params, check_mode, fail_json, atomic_move."""

    def __init__(self, params, check_mode=False):
        self.params = dict({"pki_dir": "/etc/kubernetes/pki", "controller_ca_dir": None, "slurped": None,
                            "validate_only": False, "node": "", "node_ips": [],
                            "ca_key_on_nodes": True}, **params)
        self.check_mode = check_mode

    def fail_json(self, msg, **kw):
        raise Failed(msg)

    def atomic_move(self, src, dst):
        os.rename(src, dst)


OPTIONS = {"etcd_cert_renew_days": 30, "etcd_cert_max_validity_days": 365, "etcd_cert_validity_days": 365,
           "etcd_ca_validity_days": 3650, "etcd_cipher_suites": list(_etcd.DEFAULT_CIPHER_SUITES),
           "etcd_tls_min_version": "VersionTLS12", "etcd_version": "registry.k8s.io/etcd:3.5.10-0",
           "current_flags": {"listen-metrics-urls": "http://127.0.0.1:2381"},
           # ECDSA keeps the tests fast; test_single_node_on_cluster_ca_gets_dedicated_ca uses RSA
           "etcd_key_type": "ecdsa", "etcd_key_size": 256}


def _pair(cn, days=3650, now=None):
    key = _pki.generate_private_key("ecdsa", 256)
    return _pki.cert_to_pem(_pki.issue_ca(cn, key, days, now=now)), _pki.key_to_pem(key)


@pytest.fixture(scope="module")
def cluster():
    return {"ca": _pair("kubernetes"), "fp": _pair("front-proxy-ca")}


def _node_trusting_cluster_ca(cluster):
    """A node whose etcd trusts the CLUSTER CA (the case the issue asks to repair)."""
    ca_pem, ca_key = cluster["ca"]
    profiles = _pki.kubeadm_profiles("cp1", ["10.0.0.10"])
    leaves, keys = {}, {}
    for name in _etcd.ETCD_LEAVES:
        k = _pki.generate_private_key("ecdsa", 256)
        leaves[name] = _pki.cert_to_pem(_pki.issue_leaf(ca_pem, ca_key, profiles[name], k))
        keys[name] = _pki.key_to_pem(k)
    return {"name": "cp1", "etcd_ca_cert": ca_pem, "etcd_ca_key": ca_key, "cluster_ca_cert": ca_pem,
            "front_proxy_ca_cert": cluster["fp"][0], "trusted_ca": ca_pem, "peer_trusted_ca": ca_pem,
            "leaves": leaves, "keys": keys}


def _params(node, **kw):
    return dict({"node": "cp1", "node_ips": ["10.0.0.10"], "nodes": [node], "options": dict(OPTIONS)}, **kw)


def test_single_node_on_cluster_ca_gets_dedicated_ca(cluster):
    params = _params(_node_trusting_cluster_ca(cluster))
    params["options"].update(etcd_key_type="rsa", etcd_key_size=2048)
    changed, plan = etcd_pki.run(FakeModule(params))
    assert not changed   # nothing written on the controller: the key stays on the nodes
    assert plan["ca"]["created"] and "not a unique CA" in plan["ca"]["findings"][0]
    assert plan["step"] == {"phase": "finalize", "trust": "ca", "reissue": True}
    by_path = {f["path"]: f for f in plan["files"]}
    ca = by_path["/etc/kubernetes/pki/etcd/ca.crt"]["content"]
    assert _pki.fingerprint(ca) != _pki.fingerprint(cluster["ca"][0])
    assert by_path["/etc/kubernetes/pki/etcd/ca.key"]["mode"] == "0600"
    for name in _etcd.ETCD_LEAVES:
        assert plan["leaves"][name]["action"] == "reissue"
        cert = by_path["/etc/kubernetes/pki/%s.crt" % name]["content"]
        assert _pki.verify_chain(cert, ca)
        assert by_path["/etc/kubernetes/pki/%s.key" % name] == {
            "path": "/etc/kubernetes/pki/%s.key" % name, "content": by_path["/etc/kubernetes/pki/%s.key" % name]["content"],
            "mode": "0600", "secret": True}
    assert plan["etcd_flags"]["trusted-ca-file"] == "/etc/kubernetes/pki/etcd/ca.crt"
    assert plan["etcd_flags"]["tls-min-version"] == "TLS1.2"
    assert plan["apiserver_flags"]["etcd-cafile"] == "/etc/kubernetes/pki/etcd/ca.crt"
    assert _pki.cert_info(ca)["key_type"] == "rsa" and _pki.cert_info(ca)["key_size"] == 2048


def test_second_run_is_a_no_op(cluster):
    """Apply the first plan's files to the node state, plan again: nothing to do."""
    node = _node_trusting_cluster_ca(cluster)
    dummy, plan = etcd_pki.run(FakeModule(_params(node)))
    files = {f["path"].replace("/etc/kubernetes/pki/", ""): f["content"] for f in plan["files"]}
    node.update(etcd_ca_cert=files["etcd/ca.crt"], etcd_ca_key=files["etcd/ca.key"],
                trusted_ca=files["etcd/ca.crt"], peer_trusted_ca=files["etcd/ca.crt"],
                leaves={n: files[n + ".crt"] for n in _etcd.ETCD_LEAVES},
                keys={n: files[n + ".key"] for n in _etcd.ETCD_LEAVES})
    changed, again = etcd_pki.run(FakeModule(_params(node)))
    assert not changed and again["files"] == [] and again["step"]["phase"] == "done"
    assert not again["ca"]["created"]
    assert all(v["action"] == "keep" for v in again["leaves"].values())


def test_key_off_nodes_keeps_it_on_the_controller(cluster, tmp_path):
    cdir = tmp_path / "etcd-ca"
    params = _params(_node_trusting_cluster_ca(cluster), controller_ca_dir=str(cdir), ca_key_on_nodes=False)
    changed, plan = etcd_pki.run(FakeModule(params, check_mode=True))
    assert changed and not cdir.exists()          # check mode writes nothing
    changed, plan = etcd_pki.run(FakeModule(params))
    assert changed and plan["controller_ca_written"]
    assert stat.S_IMODE(cdir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cdir / "ca.key").stat().st_mode) == 0o600
    assert "/etc/kubernetes/pki/etcd/ca.key" in plan["remove"]
    assert not any(f["path"].endswith("etcd/ca.key") for f in plan["files"])
    ca = next(f["content"] for f in plan["files"] if f["path"].endswith("etcd/ca.crt"))
    assert ca == (cdir / "ca.crt").read_text()
    # next run takes the controller's CA
    changed, plan = etcd_pki.run(FakeModule(params))
    assert not changed and plan["ca"]["source"] == "controller"


@pytest.mark.parametrize("case,fragment", [
    ("mismatch", "does not match"),
    ("expired", "expired on"),
    ("cert_only", "only one of ca.crt and ca.key"),
])
def test_bad_operator_ca_fails_before_anything(cluster, tmp_path, case, fragment):
    cdir = tmp_path / "ca"
    cdir.mkdir()
    cert, key = _pair("etcd-ca")
    if case == "mismatch":
        key = _pair("etcd-ca")[1]
    elif case == "expired":
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
        cert, key = _pair("etcd-ca", days=10, now=past)
    (cdir / "ca.crt").write_text(cert)
    if case != "cert_only":
        (cdir / "ca.key").write_text(key)
    before = sorted(os.listdir(cdir))
    with pytest.raises(Failed) as err:
        etcd_pki.run(FakeModule(_params(_node_trusting_cluster_ca(cluster), controller_ca_dir=str(cdir))))
    assert "etcd_ca_controller_dir" in str(err.value) and fragment in str(err.value)
    assert sorted(os.listdir(cdir)) == before


@pytest.mark.parametrize("change,fragment", [
    ({"etcd_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}, "etcd_cipher_suites"),
    ({"etcd_cert_max_validity_days": 1200}, "etcd_cert_max_validity_days"),
])
def test_bad_options_fail(cluster, change, fragment):
    params = _params(_node_trusting_cluster_ca(cluster))
    params["options"].update(change)
    with pytest.raises(Failed, match=fragment):
        etcd_pki.run(FakeModule(params))


def test_key_off_nodes_needs_a_directory(cluster):
    with pytest.raises(Failed, match="etcd_ca_controller_dir"):
        etcd_pki.run(FakeModule(_params(_node_trusting_cluster_ca(cluster), ca_key_on_nodes=False)))


def test_etcd_34_gets_no_tls_min_version(cluster):
    params = _params(_node_trusting_cluster_ca(cluster))
    params["options"]["etcd_version"] = "etcd Version: 3.4.23"
    dummy, plan = etcd_pki.run(FakeModule(params))
    assert "tls-min-version" not in plan["etcd_flags"]
    assert plan["skipped_flags"] == ["tls-min-version (--tls-min-version of etcd needs etcd 3.5.8 or later; "
                                     "this node runs etcd 3.4.23; the etcd role leaves it out below 3.5.8)"]


def test_slurp_results_become_nodes():
    import base64

    def enc(text):
        return base64.b64encode(text.encode()).decode()
    results = [
        {"item": {"node": "cp1", "field": "etcd_ca_cert", "path": "/p/etcd/ca.crt"}, "content": enc("CA")},
        {"item": {"node": "cp1", "field": "leaf:etcd/server", "path": "/p/etcd/server.crt"}, "content": enc("S")},
        {"item": {"node": "cp1", "field": "key:etcd/server", "path": "/p/etcd/server.key"}, "failed": True,
         "msg": "file not found"},
        {"item": {"node": "cp2", "field": "trusted_ca", "path": "/p/etcd/ca.crt"}, "content": enc("T")},
    ]
    assert etcd_pki.nodes_from_slurp(results) == [
        {"name": "cp1", "etcd_ca_cert": "CA", "leaves": {"etcd/server": "S"}, "keys": {"etcd/server": None}},
        {"name": "cp2", "trusted_ca": "T", "leaves": {}, "keys": {}},
    ]


def test_validate_only(tmp_path):
    changed, out = etcd_pki.run(FakeModule({"nodes": [], "node": "", "node_ips": [], "options": dict(OPTIONS),
                                            "slurped": None, "validate_only": True}))
    assert out == {"valid": True} and not changed
    bad = dict(OPTIONS, etcd_tls_min_version="VersionTLS10")
    with pytest.raises(Failed, match="etcd_tls_min_version"):
        etcd_pki.run(FakeModule({"nodes": [], "options": bad, "slurped": None, "validate_only": True}))


def test_runs_as_a_real_module_process(cluster, tmp_path):
    """The shell end to end in a subprocess, as Ansible runs it: slurp-shaped input, JSON out."""
    import base64
    from .modrun import run_module
    node = _node_trusting_cluster_ca(cluster)
    slurped = []
    for field in ("etcd_ca_cert", "etcd_ca_key", "cluster_ca_cert", "front_proxy_ca_cert", "trusted_ca",
                  "peer_trusted_ca"):
        slurped.append({"item": {"node": "cp1", "field": field, "path": "/x"},
                        "content": base64.b64encode(node[field].encode()).decode()})
    for name in _etcd.ETCD_LEAVES:
        for kind, src in (("leaf", node["leaves"]), ("key", node["keys"])):
            slurped.append({"item": {"node": "cp1", "field": "%s:%s" % (kind, name), "path": "/x"},
                            "content": base64.b64encode(src[name].encode()).decode()})
    args = {"node": "cp1", "node_ips": ["10.0.0.10"], "slurped": slurped, "options": dict(OPTIONS),
            "controller_ca_dir": str(tmp_path / "ctl"), "ca_key_on_nodes": False}
    rc, out = run_module("etcd_pki", args, tmp_path, check_mode=True)
    assert rc == 0, out
    assert out["changed"] and out["ca"]["created"] and not (tmp_path / "ctl").exists()
    assert out["step"]["phase"] == "finalize"
    assert out["etcd_flags"]["cert-file"] == "/etc/kubernetes/pki/etcd/server.crt"   # not masked
    rc, out = run_module("etcd_pki", dict(args, options=dict(OPTIONS, etcd_cert_renew_days=400)), tmp_path)
    assert rc == 1 and "etcd_cert_renew_days" in out["msg"]
