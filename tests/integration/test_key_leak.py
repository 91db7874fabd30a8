"""No key material in any log: every module that handles keys, run directly as an ad-hoc call would
(``ansible localhost -m k8s_hardening.kubeadm.<module> -a '<json>' -vvv``), successful and failing calls
(a failure echoes ``invocation``), with the node's syslog captured.

The syslog is real: there is no journald on this host, so each run happens in a private mount namespace
where /dev/log is a datagram socket this test listens on (tests/integration/syslog_capture.sh); the
modules log through Python's syslog module (glibc syslog(3)), as on a node without journald. The capture
must hold the module's "Invoked with" line, else the test fails: a capture that saw nothing proves nothing.

The key bytes are searched in several encodings: raw, base64, URL-safe base64, hex, the base64 body lines
of PEM keys and the base64 of the whole PEM file (what slurp returns).
"""
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _etcd, _pki

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
CAPTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "syslog_capture.sh")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="the syslog capture needs root and unshare (a private mount namespace)")


def _collections():
    here = ROOT
    parent = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    if os.path.basename(parent) == "ansible_collections":   # ansible-test's layout
        return os.path.dirname(parent)
    return os.path.join(ROOT, ".cache", "collections")


def _in_base64(data):
    """Slices of the base64 of any text that holds ``data``, whatever its offset (3 alignments)."""
    return [base64.b64encode(b"\0" * pad + data)[8:72] for pad in range(3)]


def encodings(secret):
    """Ways ``secret`` (bytes, or PEM text) could show up in output or a log line."""
    raw = secret if isinstance(secret, bytes) else secret.encode()
    found = [raw, base64.b64encode(raw).rstrip(b"="), base64.urlsafe_b64encode(raw).rstrip(b"="),
             raw.hex().encode(), raw.hex().upper().encode()]
    found += _in_base64(raw) + _in_base64(base64.b64encode(raw))   # slurped file; kubeconfig *-data in it
    if b"PRIVATE KEY-----" in raw:
        body = [line for line in raw.splitlines() if line and not line.startswith(b"-----")]
        found += [line for line in body if len(line) >= 40]
        der = base64.b64decode(b"".join(body))
        found += [der.hex().encode()] + _in_base64(der)
    return [f for f in found if len(f) >= 16]


class AdHoc:
    def __init__(self, tmp):
        self.tmp = tmp
        self.runs = 0

    def __call__(self, module, args, expect_failed=False, logged=True):
        """``logged``: the module gets as far as logging its invocation (not when the argument spec fails)."""
        self.runs += 1
        capture = str(self.tmp / ("syslog-%d.log" % self.runs))
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=_collections(), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json",
                   ANSIBLE_LOCAL_TEMP=str(self.tmp / "local"), ANSIBLE_REMOTE_TEMP=str(self.tmp / "remote"),
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_LOCALHOST_WARNING="0",
                   PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        cmd = ["unshare", "--mount", "--propagation", "private", "bash", CAPTURE, capture,
               os.path.join(BIN, "ansible"), "localhost", "-vvv", "-m", "k8s_hardening.kubeadm." + module,
               "-a", json.dumps(args)]
        proc = subprocess.run(cmd, capture_output=True, env=env, cwd=str(self.tmp), check=False)
        output = proc.stdout + proc.stderr
        with open(capture, "rb") as fh:
            syslog = fh.read()
        assert not logged or (b"Invoked with" in syslog and module.encode() in syslog), \
            "the syslog capture saw no invocation of %s:\n%s\n%s" % (module, syslog[:2000], output[-3000:])
        failed = proc.returncode != 0
        assert failed == expect_failed, "%s: rc %d\n%s" % (module, proc.returncode, output.decode()[-4000:])
        if expect_failed:
            assert b'"invocation"' in output, "the failure did not echo invocation:\n%s" % output.decode()[-3000:]
        return output, syslog


def assert_no_key(where, blobs, keys):
    for label, blob in blobs.items():
        for name, secret in keys.items():
            for enc in encodings(secret):
                assert enc not in blob, "%s: key %s found in %s as %r" % (where, name, label, enc[:24])


@pytest.fixture
def adhoc(tmp_path):
    return AdHoc(tmp_path)


def _enc_doc(*named):
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
            "resources": [{"resources": ["secrets"], "providers": [
                {"secretbox": {"keys": [{"name": n, "secret": s} for n, s in named]}}, {"identity": {}}]}]}


def test_encryption_config(adhoc, tmp_path):
    k1, k2, k3 = (secrets.token_bytes(32) for dummy in range(3))
    b1, b2, b3 = (base64.b64encode(k).decode() for k in (k1, k2, k3))
    keys = {"key1": k1, "key2": k2, "key3": k3}
    path = str(tmp_path / "enc" / "encryption-config.yaml")
    base = {"path": path, "backup_dir": str(tmp_path / "backup"), "kubernetes_minor": 33}
    info = {"path": path, "state_path": str(tmp_path / "enc" / "state.json")}
    calls = [
        (dict(base, state="present", config=_enc_doc(("key1", b1))), False),
        (dict(base, state="present", config=_enc_doc(("key2", b2), ("key1", b1))), False),   # rotation, backup
        ("info", False),
        (dict(base, state="present", nodes={"cp1": open(path).read() if os.path.exists(path) else ""},
              keys=[{"name": "key3", "secret": b3}]), False),
        # failures that echo invocation: a key of a bad length next to good ones, and a bad node file
        (dict(base, state="present", config=_enc_doc(("key1", b1), ("bad", base64.b64encode(k3[:7]).decode()))),
         True),
        (dict(base, state="plan", nodes={"cp1": "kind: [" + b2, "cp2": yaml.safe_dump(_enc_doc(("key2", b2)))},
              keys=[{"name": "key3", "secret": b3}]), True),
    ]
    for n, (args, fails) in enumerate(calls):
        if isinstance(args, dict) and "nodes" in args and "cp1" in args["nodes"] and n == 3:
            args["nodes"]["cp1"] = open(path).read()
        if args == "info":
            out, log = adhoc("encryption_config_info", info)
        else:
            out, log = adhoc("encryption_config", args, expect_failed=fails)
        assert_no_key("encryption_config call %d" % n, {"output": out, "syslog": log}, keys)
    # the results stay usable: names are not masked away
    out, dummy = adhoc("encryption_config_info", info)
    assert b"secretbox:key3" in out or b"secretbox:key2" in out, out.decode()[-2000:]


def _etcd_node():
    """A member on a dedicated etcd CA whose leaves are all valid: the plan keeps everything."""
    cluster_key = _pki.generate_private_key("ecdsa", 256)
    cluster = _pki.cert_to_pem(_pki.issue_ca("kubernetes", cluster_key, 3650))
    fp_key = _pki.generate_private_key("ecdsa", 256)
    front = _pki.cert_to_pem(_pki.issue_ca("front-proxy-ca", fp_key, 3650))
    ca_key = _pki.generate_private_key("ecdsa", 256)
    ca_pem = _pki.cert_to_pem(_pki.issue_ca("etcd-ca", ca_key, 3650))
    ca_key_pem = _pki.key_to_pem(ca_key)
    profiles = _pki.kubeadm_profiles("cp1", ["127.0.0.1"])
    leaves, keys = {}, {}
    for name in _etcd.ETCD_LEAVES:
        k = _pki.generate_private_key("ecdsa", 256)
        leaves[name] = _pki.cert_to_pem(_pki.issue_leaf(ca_pem, ca_key_pem, profiles[name], k, 300))
        keys[name] = _pki.key_to_pem(k)
    node = {"name": "cp1", "etcd_ca_cert": ca_pem, "etcd_ca_key": ca_key_pem, "cluster_ca_cert": cluster,
            "front_proxy_ca_cert": front, "trusted_ca": ca_pem, "peer_trusted_ca": ca_pem,
            "leaves": leaves, "keys": keys}
    secret = dict(("node:" + n, k) for n, k in keys.items())
    secret.update({"etcd-ca": ca_key_pem, "cluster-ca": _pki.key_to_pem(cluster_key),
                   "front-proxy-ca": _pki.key_to_pem(fp_key)})
    return node, secret


OPTIONS = {"etcd_cert_renew_days": 30, "etcd_cert_max_validity_days": 365, "etcd_cert_validity_days": 365,
           "etcd_ca_validity_days": 3650, "etcd_cipher_suites": list(_etcd.DEFAULT_CIPHER_SUITES),
           "etcd_tls_min_version": "VersionTLS12", "etcd_version": "3.5.10",
           "current_flags": {}, "etcd_key_type": "ecdsa", "etcd_key_size": 256}


def _slurped(node):
    out = []
    for field in ("etcd_ca_cert", "etcd_ca_key", "cluster_ca_cert", "front_proxy_ca_cert", "trusted_ca"):
        out.append({"item": {"node": "cp1", "field": field, "path": "/pki/" + field},
                    "content": base64.b64encode(node[field].encode()).decode(), "encoding": "base64"})
    for name in _etcd.ETCD_LEAVES:
        for kind, src in (("leaf", node["leaves"]), ("key", node["keys"])):
            out.append({"item": {"node": "cp1", "field": "%s:%s" % (kind, name), "path": "/pki/%s.%s" % (name, kind)},
                        "content": base64.b64encode(src[name].encode()).decode(), "encoding": "base64"})
    return out


def test_etcd_pki(adhoc):
    node, keys = _etcd_node()
    base = {"node": "cp1", "node_ips": ["127.0.0.1"], "options": OPTIONS}
    out, log = adhoc("etcd_pki", dict(base, nodes=[node]))
    assert b'"action": "keep"' in out, "the member should keep its certificates:\n%s" % out.decode()[-3000:]
    assert_no_key("etcd_pki nodes", {"output": out, "syslog": log}, keys)
    out, log = adhoc("etcd_pki", dict(base, slurped=_slurped(node)))
    assert b"--client-cert-auth" in out or b"client-cert-auth" in out, out.decode()[-2000:]
    assert_no_key("etcd_pki slurped", {"output": out, "syslog": log}, keys)
    # failing: a validity etcd refuses (module fails after reading), and a bad type (argument spec fails)
    out, log = adhoc("etcd_pki", dict(base, slurped=_slurped(node), options=dict(OPTIONS, etcd_cert_validity_days=0)),
                     expect_failed=True)
    assert_no_key("etcd_pki failing", {"output": out, "syslog": log}, keys)
    out, log = adhoc("etcd_pki", dict(base, nodes=[node], validate_only="maybe"), expect_failed=True,
                     logged=False)
    assert_no_key("etcd_pki argument spec failure", {"output": out, "syslog": log}, keys)


def test_k8s_certificates(adhoc):
    node, keys = _etcd_node()
    client_key = node["keys"]["apiserver-etcd-client"]
    kubeconfig = yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": [{"name": "admin", "user": {
        "client-certificate-data": base64.b64encode(node["leaves"]["apiserver-etcd-client"].encode()).decode(),
        "client-key-data": base64.b64encode(client_key.encode()).decode()}}]})
    bundle = node["leaves"]["etcd/server"] + node["keys"]["etcd/server"]   # like kubelet-client-current.pem
    slurped = [{"item": "/etc/kubernetes/admin.conf", "content": base64.b64encode(kubeconfig.encode()).decode()},
               {"item": "/var/lib/kubelet/pki/kubelet-client-current.pem",
                "content": base64.b64encode(bundle.encode()).decode()},
               {"item": "/etc/kubernetes/pki/etcd/ca.crt", "content": base64.b64encode(node["etcd_ca_cert"].encode()).decode()}]
    out, log = adhoc("k8s_certificates", {"slurped": slurped, "ca_names": {"etcd-ca": "/etc/kubernetes/pki/etcd/ca.crt"}})
    assert b"kubelet-client-current.pem" in out and b"etcd-ca" in out, out.decode()[-2000:]
    assert_no_key("k8s_certificates", {"output": out, "syslog": log}, keys)
    out, log = adhoc("k8s_certificates", {"slurped": slurped, "threshold_days": "soon"}, expect_failed=True,
                     logged=False)
    assert_no_key("k8s_certificates failing", {"output": out, "syslog": log}, keys)


def test_read_files_without_content(adhoc, tmp_path):
    """read_files returns file content like slurp (register it with no_log); with content=false, no key."""
    node, keys = _etcd_node()
    key_file = tmp_path / "server.key"
    key_file.write_text(node["keys"]["etcd/server"])
    out, log = adhoc("read_files", {"items": [str(key_file)], "content": False})
    assert b"checksum" in out
    assert_no_key("read_files", {"output": out, "syslog": log}, keys)


def test_the_search_finds_a_key_that_is_there():
    """The search itself: a key pasted into a log in any of the encodings is found."""
    node, keys = _etcd_node()
    pem = keys["etcd-ca"]
    for blob in (pem.encode(), json.dumps(pem).encode(), base64.b64encode(pem.encode()),
                 base64.b64encode(b"a: b\n" + pem.encode()), base64.b64encode(b"key-data: " + base64.b64encode(pem.encode()))):
        with pytest.raises(AssertionError):
            assert_no_key("self-test", {"log": blob}, {"etcd-ca": pem})
    raw = secrets.token_bytes(32)
    with pytest.raises(AssertionError):
        assert_no_key("self-test", {"log": b"secret: " + base64.b64encode(raw)}, {"k": raw})
