"""EncryptionConfiguration as data: validation, redaction, etcd value classification."""
import base64

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _encryption as enc

K32 = base64.b64encode(b"\x01" * 32).decode()
K16 = base64.b64encode(b"\x02" * 16).decode()
K24 = base64.b64encode(b"\x03" * 24).decode()


def entry(ptype, *keys):
    return {"type": ptype, "keys": [{"name": n, "secret": s} for n, s in keys]}


@pytest.mark.parametrize("entries", [
    [entry("secretbox", ("key1", K32)), {"type": "identity"}],
    [entry("aescbc", ("a", K16), ("b", K24), ("c", K32))],
    [entry("aesgcm", ("k", K16)), {"type": "identity"}],
    [{"type": "kms", "config": {"apiVersion": "v2", "name": "vault", "endpoint": "unix:///kms.sock"}},
     {"type": "identity"}],
    [{"type": "identity"}],
])
def test_valid(entries):
    enc.validate_entries(["secrets"], entries, "encryption_keys", kubernetes_minor=28)


@pytest.mark.parametrize("entries, words", [
    ([entry("secretbox", ("key1", K16))], ["16 bytes", "secretbox needs 32", "encryption_keys"]),
    ([entry("aescbc", ("key1", base64.b64encode(b"x" * 20).decode()))], ["20 bytes", "16 or 24 or 32"]),
    ([entry("aescbc", ("key1", "not base64!"))], ["not valid base64"]),
    ([entry("aescbc", ("key1", ""))], ["empty"]),
    ([entry("secretbox", ("key1", K32), ("key1", K32))], ["used twice"]),
    ([entry("secretbox", ("key1", K32)), entry("aescbc", ("key1", K32))], ["used twice"]),
    ([{"type": "rot13", "keys": []}], ["unknown provider", "rot13"]),
    ([entry("secretbox")], ["at least one key"]),
    ([entry("secretbox", ("bad name!", K32))], ["key name"]),
    ([], ["at least one provider"]),
])
def test_invalid(entries, words):
    # (kms apiVersion per Kubernetes version: tests/unit/plugins/module_utils/test_versions_rows.py)
    with pytest.raises(enc.EncryptionConfigError) as err:
        enc.validate_entries(["secrets"], entries, "encryption_keys", kubernetes_minor=24)
    for word in words:
        assert word in str(err.value)
    for secret in (K32, K16):
        assert secret not in str(err.value)


def test_build_parse_roundtrip_and_summary_has_no_key_material():
    doc = enc.build_config(["secrets", "configmaps"],
                           [entry("secretbox", ("key2", K32), ("key1", K32)), {"type": "identity"}])
    text = enc.dump(doc)
    again = enc.parse_config(text)
    assert again == doc
    assert list(again) == ["apiVersion", "kind", "resources"]
    assert enc.summarize(doc) == [{"resources": ["secrets", "configmaps"],
                                   "providers": ["secretbox:key2,key1", "identity"]}]
    summary = enc.summary_text(doc)
    assert "1. secretbox:key2,key1" in summary and "2. identity" in summary
    assert K32 not in summary
    assert enc.writer(doc) == ("secretbox", "key2")
    assert enc.fingerprint(doc) == enc.fingerprint(again)
    assert K32 not in enc.fingerprint(doc)


@pytest.mark.parametrize("text, word", [
    ("kind: Pod\n", "not an EncryptionConfiguration"),
    ("kind: EncryptionConfiguration\napiVersion: v9\nresources: [x]\n", "apiVersion"),
    ("kind: EncryptionConfiguration\napiVersion: apiserver.config.k8s.io/v1\nresources: []\n", "empty"),
    (": : :", "YAML"),
])
def test_parse_errors(text, word):
    with pytest.raises(enc.EncryptionConfigError) as err:
        enc.parse_config(text, "/etc/kubernetes/enc/encryption-config.yaml")
    assert word in str(err.value)


def test_generate_secret_is_random_and_right_length():
    keys = {enc.generate_secret("secretbox") for dummy in range(20)}
    assert len(keys) == 20
    for k in keys:
        assert len(base64.b64decode(k)) == 32
    assert len(base64.b64decode(enc.generate_secret("aescbc", 16))) == 16


@pytest.mark.parametrize("used, name", [([], "key1"), (["key1"], "key2"), (["key9", "key10", "x"], "key11"),
                                        (["key"], "key1")])
def test_next_key_name(used, name):
    assert enc.next_key_name(used) == name


@pytest.mark.parametrize("value, expected", [
    (b"k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Secret", ("plaintext", "identity", None)),
    (b"k8s:enc:aescbc:v1:key1:\x00\x01\x02", ("old", "aescbc", "key1")),
    (b"k8s:enc:secretbox:v1:key2:\xff\xfe", ("current", "secretbox", "key2")),
    (b"k8s:enc:secretbox:v1:key1:\xff", ("old", "secretbox", "key1")),
    (b"k8s:enc:kms:v2:vault:\x00", ("old", "kms", "vault")),
    (b"", ("plaintext", "identity", None)),
])
def test_classify(value, expected):
    assert enc.classify_value(value, ("secretbox", "key2")) == expected


def test_census_counts():
    values = [b"k8s\x00a", b"k8s:enc:aescbc:v1:key1:x", b"k8s:enc:secretbox:v1:key2:y",
              b"k8s:enc:secretbox:v1:key2:z"]
    result = enc.census(values, ("secretbox", "key2"))
    assert result == {"total": 4, "current": 2, "old": 1, "plaintext": 1,
                      "by_key": {"aescbc:key1": 1, "identity": 1, "secretbox:key2": 2}}


@pytest.mark.parametrize("prefix, end", [(b"/registry/secrets/", b"/registry/secrets0"), (b"a\xff", b"b"),
                                         (b"\xff", b"\x00")])
def test_prefix_range_end(prefix, end):
    assert enc.prefix_range_end(prefix) == end


def test_range_pages_walks_every_key_once():
    store = {("/registry/secrets/ns/s%03d" % i).encode(): b"k8s\x00%d" % i for i in range(23)}
    store[b"/registry/secrets0"] = b"outside"
    store[b"/registry/secretsZ"] = b"outside"
    calls = []

    def fetch(req):
        calls.append(req)
        start, end = base64.b64decode(req["key"]), base64.b64decode(req["range_end"])
        keys = sorted(k for k in store if start <= k < end)
        page = keys[:req["limit"]]
        return {"kvs": [{"key": base64.b64encode(k).decode(), "value": base64.b64encode(store[k]).decode()}
                        for k in page], "more": len(keys) > len(page), "count": str(len(keys))}

    seen = [k for page in enc.range_pages(fetch, b"/registry/secrets/", 5) for k, _v in page]
    assert len(seen) == 23 and len(set(seen)) == 23
    assert all(k.startswith(b"/registry/secrets/") for k in seen)
    assert len(calls) == 5
