"""Unit tests for plugins/module_utils/_etcd.py (real certificates from _pki)."""
import datetime

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _etcd, _pki

NOW = datetime.datetime.now(datetime.timezone.utc)


def _ca(cn="etcd-ca", days=3650, now=None):
    key = _pki.generate_private_key()
    return _pki.cert_to_pem(_pki.issue_ca(cn, key, days, now=now)), _pki.key_to_pem(key)


@pytest.fixture(scope="module")
def cas():
    return {"etcd": _ca(), "cluster": _ca("kubernetes"), "fp": _ca("front-proxy-ca"), "etcd2": _ca()}


@pytest.mark.parametrize("text,expected", [
    ("registry.k8s.io/etcd:3.5.10-0", (3, 5, 10)),
    ("registry.k8s.io/etcd:3.5.10-0@sha256:abc", (3, 5, 10)),
    ("localhost:5000/etcd:v3.4.23", (3, 4, 23)),
    ("etcd Version: 3.4.23\nGit SHA: x\nGo Version: go1.19.8", (3, 4, 23)),
    ("3.6", (3, 6, 0)),
    ("registry.k8s.io/etcd", None),
    ("", None),
])
def test_parse_version(text, expected):
    assert _etcd.parse_version(text) == expected


@pytest.mark.parametrize("version,written", [((3, 5, 10), True), ((3, 5, 7), False), ((3, 4, 23), False), (None, False)])
def test_tls_min_version_only_where_known(version, written):
    out = _etcd.etcd_flags(version, "/etc/kubernetes/pki", "/etc/kubernetes/pki/etcd/ca.crt",
                           _etcd.DEFAULT_CIPHER_SUITES, "VersionTLS12")
    assert ("tls-min-version" in out["flags"]) is written
    assert bool(out["skipped"]) is (not written)
    if written:
        assert out["flags"]["tls-min-version"] == "TLS1.2"


def test_etcd_flags_cis_set():
    out = _etcd.etcd_flags((3, 5, 10), "/etc/kubernetes/pki/", "/x/ca.crt", ["ECDHE-RSA-AES128-GCM-SHA256"],
                           None, {"listen-metrics-urls": "http://0.0.0.0:2381"})
    f = out["flags"]
    assert f["client-cert-auth"] == "true" and f["peer-client-cert-auth"] == "true"
    assert f["auto-tls"] == "false" and f["peer-auto-tls"] == "false"
    assert f["trusted-ca-file"] == f["peer-trusted-ca-file"] == "/x/ca.crt"
    assert f["cert-file"] == "/etc/kubernetes/pki/etcd/server.crt"
    assert f["cipher-suites"] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert f["listen-metrics-urls"] == "http://127.0.0.1:2381"


@pytest.mark.parametrize("current,expected", [
    (None, "http://127.0.0.1:2381"),
    ("http://127.0.0.1:2381", "http://127.0.0.1:2381"),
    ("http://10.0.0.10:2381,http://127.0.0.1:2381", "http://127.0.0.1:2381"),
    ("https://0.0.0.0:9000", "https://127.0.0.1:9000"),
    ("http://[::1]:2381", "http://[::1]:2381"),
])
def test_loopback_metrics(current, expected):
    assert _etcd.loopback_metrics_urls(current) == expected


@pytest.mark.parametrize("names,fragment", [
    (["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"], "not an ECDHE+AEAD suite"),
    (["ECDHE-RSA-AES128-SHA"], "not an ECDHE+AEAD suite"),
    (["TLS_RSA_WITH_AES_128_GCM_SHA256"], "insecure"),
    (["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], "TLS 1.3"),
    (["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"], "HTTP/2"),
    (["BOGUS"], "not supported"),
    ([], "at least one"),
])
def test_bad_cipher_suites_name_variable(names, fragment):
    with pytest.raises(_etcd.EtcdConfigError) as err:
        _etcd.etcd_cipher_suites(names)
    assert "etcd_cipher_suites" in str(err.value) and fragment in str(err.value)


def test_cipher_suites_chacha_legacy_spelling():
    out = _etcd.etcd_cipher_suites(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"])
    assert out == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]


GOOD_OPTS = {"etcd_cert_max_validity_days": 365, "etcd_cert_validity_days": 365,
             "etcd_cert_renew_days": 30, "etcd_ca_validity_days": 3650,
             "etcd_cipher_suites": list(_etcd.DEFAULT_CIPHER_SUITES), "etcd_tls_min_version": "VersionTLS12"}


@pytest.mark.parametrize("change,fragment", [
    ({}, None),
    ({"etcd_cert_max_validity_days": 2000}, "etcd_cert_max_validity_days: 2000 is out of range"),
    ({"etcd_cert_validity_days": 400}, "longer than etcd_cert_max_validity_days"),
    ({"etcd_cert_renew_days": 365}, "etcd_cert_renew_days"),
    ({"etcd_cert_renew_days": "30"}, "expected an integer"),
    ({"etcd_tls_min_version": "VersionTLS11"}, "etcd_tls_min_version"),
    ({"etcd_cipher_suites": ["TLS_RSA_WITH_RC4_128_SHA"]}, "etcd_cipher_suites"),
])
def test_validate_options(change, fragment):
    errors = _etcd.validate_options(dict(GOOD_OPTS, **change))
    if fragment is None:
        assert errors == []
    else:
        assert len(errors) == 1 and fragment in errors[0]


def _node(name, cas, etcd="etcd", key=True):
    return {"name": name, "etcd_ca_cert": cas[etcd][0] if etcd else None,
            "etcd_ca_key": cas[etcd][1] if (etcd and key) else None,
            "cluster_ca_cert": cas["cluster"][0], "front_proxy_ca_cert": cas["fp"][0]}


def test_choose_ca_keeps_shared_dedicated_ca(cas):
    out = _etcd.choose_ca([_node("cp1", cas), _node("cp2", cas, key=False)])
    assert not out["create"] and out["source"] == "cp1"
    assert _pki.fingerprint(out["cert"]) == _pki.fingerprint(cas["etcd"][0])
    assert out["findings"] == []


def test_choose_ca_refuses_cluster_ca(cas):
    out = _etcd.choose_ca([_node("cp1", cas, etcd="cluster")])
    assert out["create"]
    assert "not a unique CA" in out["findings"][0]


def test_choose_ca_refuses_expired_and_keyless(cas):
    expired = _ca(days=10, now=NOW - datetime.timedelta(days=20))
    c = dict(cas, old=expired)
    out = _etcd.choose_ca([_node("cp1", c, etcd="old"), _node("cp2", c, key=False)])
    assert out["create"]
    assert "expired" in out["findings"][0] and "private key is on no node" in out["findings"][1]


def test_choose_ca_prefers_controller_then_newest(cas):
    out = _etcd.choose_ca([_node("cp1", cas)], controller={"cert": cas["etcd2"][0], "key": cas["etcd2"][1]})
    assert out["source"] == "controller"
    assert any("another etcd CA" in f for f in out["findings"])
    later = _ca(now=NOW + datetime.timedelta(minutes=1))
    c = dict(cas, new=later)
    out = _etcd.choose_ca([_node("cp1", c), _node("cp2", c, etcd="new")])
    assert out["source"] == "cp2"


def _states(**kw):
    return {k: {"trust": v[0], "leaves_ok": v[1]} for k, v in kw.items()}


@pytest.mark.parametrize("this,states,expected", [
    # single member: one step
    ("a", _states(a=(["old"], False)), ("finalize", "ca", True)),
    # two members, nobody trusts the new CA yet: trust first, keep old certificates
    ("a", _states(a=(["old"], False), b=(["old"], False)), ("trust", "bundle", False)),
    # the other member trusts both: trust + re-issue in one restart
    ("b", _states(a=(["new", "old"], False), b=(["old"], False)), ("reissue", "bundle", True)),
    # others present new certificates: re-issue and drop the old CA
    ("a", _states(a=(["new", "old"], False), b=(["new", "old"], True)), ("finalize", "ca", True)),
    ("b", _states(a=(["new"], True), b=(["new", "old"], True)), ("finalize", "ca", False)),
    ("a", _states(a=(["new"], True), b=(["new"], True)), ("done", "ca", False)),
])
def test_rotation_step(this, states, expected):
    step = _etcd.rotation_step(this, states, "new")
    assert (step["phase"], step["trust"], step["reissue"]) == expected


def test_rotation_converges_and_never_breaks_peers():
    """Simulate members applying steps one at a time; after every step each pair must
    accept each other's certificates (trust contains the issuer of the peer's leaves)."""
    state = {n: {"trust": ["old"], "issuer": "old"} for n in ("a", "b", "c")}
    for dummy in range(5):
        for name in sorted(state):
            view = {n: {"trust": s["trust"], "leaves_ok": s["issuer"] == "new"} for n, s in state.items()}
            step = _etcd.rotation_step(name, view, "new")
            me = state[name]
            if step["reissue"]:
                me["issuer"] = "new"
            me["trust"] = ["new"] if step["trust"] == "ca" else ["new"] + [t for t in me["trust"] if t != "new"]
            for x in state.values():
                for y in state.values():
                    assert y["issuer"] in x["trust"]
    assert all(s == {"trust": ["new"], "issuer": "new"} for s in state.values())


def test_trust_fingerprints_and_bundle(cas):
    b = _etcd.trust_bundle(cas["etcd2"][0], [cas["etcd"][0], cas["etcd2"][0]])
    fps = _etcd.trust_fingerprints(b, cas["etcd"][0])
    assert fps == [_pki.fingerprint(cas["etcd"][0])]
    assert len(_pki.load_certs(b)) == 2
    assert _etcd.trust_fingerprints(b, b)[0] == _pki.fingerprint(cas["etcd2"][0])


def test_leaf_reasons(cas):
    ca_pem, ca_key = cas["etcd"]
    profile = _pki.kubeadm_profiles("cp1", ["10.0.0.10"])["etcd/server"]
    key = _pki.generate_private_key()
    kp = _pki.key_to_pem(key)
    good = _pki.cert_to_pem(_pki.issue_leaf(ca_pem, ca_key, profile, key))
    assert _etcd.leaf_reasons(good, kp, ca_pem, profile, 30, 365) == []
    soon = _pki.cert_to_pem(_pki.issue_leaf(ca_pem, ca_key, profile, key, days=10))
    assert _etcd.leaf_reasons(soon, kp, ca_pem, profile, 30, 365) == ["expires in 9 days (< 30)"]
    long = _pki.cert_to_pem(_pki.issue_leaf(ca_pem, ca_key, profile, key, days=3650))
    assert _etcd.leaf_reasons(long, kp, ca_pem, profile, 30, 365)[0].startswith("valid for 3650")
    other = _pki.key_to_pem(_pki.generate_private_key())
    assert _etcd.leaf_reasons(good, other, ca_pem, profile, 30, 365) == ["its key does not match"]
    assert _etcd.leaf_reasons(good, kp, cas["etcd2"][0], profile, 30, 365) == [
        "signature does not verify with the CA key"]
    assert "issuer" in _etcd.leaf_reasons(good, kp, cas["cluster"][0], profile, 30, 365)[0]
    assert _etcd.leaf_reasons(None, None, ca_pem, profile, 30, 365) == ["missing"]


@pytest.mark.parametrize("version,absent", [((3, 5, 21), []), ((3, 6, 4), ["experimental-initial-corrupt-check",
                                                                           "experimental-watch-progress-notify-interval"])])
def test_experimental_flags_never_carried_into_36(version, absent):
    # kubeadm v1.33.3's etcd manifest carries both experimental flags (reference tree)
    current = {"experimental-initial-corrupt-check": "true", "experimental-watch-progress-notify-interval": "5s"}
    out = _etcd.etcd_flags(version, "/etc/kubernetes/pki", "/etc/kubernetes/pki/etcd/ca.crt",
                           _etcd.DEFAULT_CIPHER_SUITES, "VersionTLS12", current_flags=current)
    assert out["absent_flags"] == absent
    if absent:
        assert out["flags"]["feature-gates"] == "InitialCorruptCheck=true"
        assert out["flags"]["watch-progress-notify-interval"] == "5s"
        assert not [f for f in out["flags"] if f.startswith("experimental-")]
    else:
        assert "feature-gates" not in out["flags"]


def test_unknown_experimental_flag_refused_on_36():
    with pytest.raises(_etcd.EtcdConfigError, match="experimental-foo.*must not be written from etcd 3.6.0"):
        _etcd.etcd_flags((3, 6, 0), "/p", "/p/etcd/ca.crt", None, None, current_flags={"experimental-foo": "1"})
