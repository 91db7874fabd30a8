"""kubelet_serving_cert module shell, run for real."""
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki

from .modrun import run_module


def test_issue_keep_and_no_key_in_the_output(tmp_path):
    key = _pki.generate_private_key()
    ca_crt, ca_key = _pki.cert_to_pem(_pki.issue_ca("kubernetes", key)), _pki.key_to_pem(key)
    args = {"node_name": "w1", "dns_names": ["w1-host"], "ip_addresses": ["10.0.0.5"], "ca_cert": ca_crt,
            "ca_key": ca_key}
    rc, res = run_module("kubelet_serving_cert", args, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is False and res["issue"] is True and res["reasons"] == ["missing"]
    assert res["certificate"]["dns_names"] == ["w1", "w1-host"] and res["certificate"]["ip_addresses"] == ["10.0.0.5"]
    cert, key_file = res["files"]
    assert cert["path"] == "/var/lib/kubelet/pki/kubelet-serving.crt" and cert["mode"] == "0644" and not cert["secret"]
    assert key_file["mode"] == "0600" and key_file["secret"] and "PRIVATE KEY" in key_file["content"]
    assert ca_key not in str(res)                              # ca_key is no_log
    rc, res = run_module("kubelet_serving_cert", dict(args, cert=cert["content"], key=key_file["content"]), tmp_path)
    assert rc == 0 and res["issue"] is False and res["files"] == []   # kept: nothing to write, no key travels
    assert "PRIVATE KEY" not in str(res)


def test_no_ca_key_names_the_fix(tmp_path):
    key = _pki.generate_private_key()
    rc, res = run_module("kubelet_serving_cert", {"node_name": "w1", "ca_cert": _pki.cert_to_pem(_pki.issue_ca("k", key))},
                         tmp_path)
    assert rc == 1 and "kubelet_serving_cert_enabled: false" in res["msg"]
