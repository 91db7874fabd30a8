"""k8s_certificates: the report over slurp results, with real certificates and a kubeconfig."""
import base64

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.modules import k8s_certificates
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki


def _slurp(path, text):
    return {"item": {"path": path}, "content": base64.b64encode(text.encode()).decode()}


@pytest.fixture(scope="module")
def pki():
    key = _pki.generate_private_key()
    ca = _pki.issue_ca("kubernetes", key)
    ekey = _pki.generate_private_key()
    eca = _pki.issue_ca("etcd-ca", ekey)
    profiles = _pki.kubeadm_profiles("cp1", ["10.0.0.10"])
    lkey = _pki.generate_private_key()
    soon = _pki.issue_leaf(eca, ekey, profiles["etcd/server"], lkey, days=10)
    admin = _pki.issue_leaf(ca, key, profiles["admin"], lkey)
    kubeconfig = _pki.make_kubeconfig("kubernetes", "https://10.0.0.10:6443", _pki.cert_to_pem(ca),
                                      _pki.cert_to_pem(admin), _pki.key_to_pem(lkey), "kubernetes-admin")
    return {
        "ca": _pki.cert_to_pem(ca), "etcd_ca": _pki.cert_to_pem(eca), "soon": _pki.cert_to_pem(soon),
        "kubeconfig": kubeconfig, "key": _pki.key_to_pem(lkey),
    }


def test_report(pki):
    slurped = [
        _slurp("/p/ca.crt", pki["ca"]),
        _slurp("/p/etcd/ca.crt", pki["etcd_ca"]),
        _slurp("/p/etcd/server.crt", pki["soon"]),
        _slurp("/e/admin.conf", pki["kubeconfig"]),
        _slurp("/k/kubelet-client-current.pem", pki["soon"] + pki["key"]),
        {"item": {"path": "/p/missing.crt"}, "failed": True, "msg": "file not found"},
    ]
    out = k8s_certificates.report(slurped, 30, {"kubernetes": "/p/ca.crt", "etcd-ca": "/p/etcd/ca.crt"})
    by_path = {c["path"]: c for c in out["certificates"]}
    assert sorted(by_path) == ["/e/admin.conf", "/k/kubelet-client-current.pem", "/p/ca.crt",
                               "/p/etcd/ca.crt", "/p/etcd/server.crt"]
    assert by_path["/e/admin.conf"]["subject"] == "CN=kubernetes-admin,O=system:masters"
    assert by_path["/e/admin.conf"]["chains_to"] == ["kubernetes"]
    assert by_path["/p/etcd/server.crt"]["chains_to"] == ["etcd-ca"]
    assert by_path["/p/etcd/server.crt"]["days_left"] == 9
    assert out["expiring"] == ["/k/kubelet-client-current.pem", "/p/etcd/server.crt"]
    assert out["errors"] == ["/p/missing.crt: file not found"]
    # no key material in the report
    assert "PRIVATE KEY" not in repr(out)


def test_threshold_zero_reports_nothing_expiring(pki):
    out = k8s_certificates.report([_slurp("/p/etcd/server.crt", pki["soon"])], 0, {})
    assert out["expiring"] == [] and out["certificates"][0]["chains_to"] == []


def test_broken_file_is_an_error_not_a_crash():
    bad = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
    out = k8s_certificates.report([_slurp("/p/bad.crt", bad)], 30, {})
    assert out["certificates"] == [] and out["errors"][0].startswith("/p/bad.crt:")
