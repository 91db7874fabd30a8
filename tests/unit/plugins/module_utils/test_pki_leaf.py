"""_pki.plan_leaf and kubelet_serving_profile: keep or re-issue one leaf (the kubelet serving certificate)."""
import datetime
import subprocess

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def ca():
    key = _pki.generate_private_key()
    return _pki.cert_to_pem(_pki.issue_ca("kubernetes", key, now=NOW)), _pki.key_to_pem(key)


@pytest.fixture(scope="module")
def other_ca():
    key = _pki.generate_private_key()
    return _pki.cert_to_pem(_pki.issue_ca("another", key, now=NOW)), _pki.key_to_pem(key)


PROFILE = _pki.kubelet_serving_profile("w1", ["w1.lab", "w1"], ["10.89.0.21", "fd00::21"])


def test_profile_names_the_node():
    assert PROFILE["cn"] == "system:node:w1" and PROFILE["organizations"] == ["system:nodes"]
    assert PROFILE["dns_names"] == ["w1", "w1.lab"] and PROFILE["ip_addresses"] == ["10.89.0.21", "fd00::21"]
    assert PROFILE["ekus"] == ["server_auth"]
    with pytest.raises(_pki.PKIError, match="not-an-ip"):
        _pki.kubelet_serving_profile("w1", [], ["not-an-ip"])


def test_issue_then_keep_then_renew(ca, other_ca):
    first = _pki.plan_leaf(ca[0], ca[1], None, None, PROFILE, 30, 365, 365, now=NOW)
    assert first["issue"] and first["reasons"] == ["missing"]
    assert _pki.chain_problems(first["cert"], ca[0], NOW) == []
    assert _pki.profile_problems(first["cert"], PROFILE) == []
    assert _pki.key_matches_cert(first["key"], first["cert"])
    # the same inputs again: kept, byte for byte
    again = _pki.plan_leaf(ca[0], ca[1], first["cert"], first["key"], PROFILE, 30, 365, 365, now=NOW)
    assert not again["issue"] and again["cert"] == first["cert"] and again["key"] == first["key"]
    # 340 days later: within the renewal threshold
    later = NOW + datetime.timedelta(days=340)
    renewed = _pki.plan_leaf(ca[0], ca[1], first["cert"], first["key"], PROFILE, 30, 365, 365, now=later)
    assert renewed["issue"] and "expires in" in renewed["reasons"][0]
    # a new address of the node, another CA, a key that does not match, a too long validity
    moved = _pki.kubelet_serving_profile("w1", ["w1.lab"], ["10.89.0.99"])
    plan = _pki.plan_leaf(ca[0], ca[1], first["cert"], first["key"], moved, 30, 365, 365, now=NOW)
    assert "SANs missing: 10.89.0.99" in plan["reasons"]
    assert _pki.plan_leaf(other_ca[0], other_ca[1], first["cert"], first["key"], PROFILE, 30, 365, 365,
                          now=NOW)["issue"]
    stranger = _pki.key_to_pem(_pki.generate_private_key())
    plan = _pki.plan_leaf(ca[0], ca[1], first["cert"], stranger, PROFILE, 30, 365, 365, now=NOW)
    assert "its key does not match" in plan["reasons"]
    long = _pki.plan_leaf(ca[0], ca[1], None, None, PROFILE, 30, 1000, 1000, now=NOW)
    assert "valid for" in " ".join(_pki.plan_leaf(ca[0], ca[1], long["cert"], long["key"], PROFILE, 30, 365, 365,
                                                  now=NOW)["reasons"])


def test_openssl_verifies_the_issued_certificate(ca, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    plan = _pki.plan_leaf(ca[0], ca[1], None, None, PROFILE, 30, 365, 365, now=now)
    (tmp_path / "ca.crt").write_text(ca[0])
    (tmp_path / "leaf.crt").write_text(plan["cert"])
    # the CA was made at NOW (2026-06-01): verify at a time inside both validities
    res = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), "-purpose", "sslserver",
                          "-attime", str(int(max(now, NOW).timestamp()) + 3600), str(tmp_path / "leaf.crt")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(tmp_path / "leaf.crt")],
                          capture_output=True, text=True, check=True).stdout
    assert "DNS:w1, DNS:w1.lab, IP Address:10.89.0.21" in text and "TLS Web Server Authentication" in text


@pytest.mark.parametrize("args, match", [
    ((30, 365, 400), "longer than the maximum"),
    ((365, 365, 365), "renewal threshold"),
])
def test_bad_days_refused(ca, args, match):
    with pytest.raises(_pki.PKIError, match=match):
        _pki.plan_leaf(ca[0], ca[1], None, None, PROFILE, *args, now=NOW)


def test_a_ca_without_key_cannot_sign(ca):
    with pytest.raises(_pki.PKIError, match="no CA key"):
        _pki.plan_leaf(ca[0], None, None, None, PROFILE, 30, 365, 365, now=NOW)
