"""The static_pod module run for real (subprocess, JSON args) on copies of kubeadm 1.28.7's manifests."""
import hashlib
import os
import shutil
import stat

import pytest
import yaml

from .modrun import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "manifests")

AUDIT = {"name": "audit-policy", "hostPath": "/etc/kubernetes/audit/policy.yaml", "type": "File",
         "mountPath": "/etc/kubernetes/audit/policy.yaml", "readOnly": True}


def _node(tmp_path, component):
    """A temp manifests dir holding the real kubeadm manifest of ``component``, 0600."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    path = manifests / (component + ".yaml")
    shutil.copy(os.path.join(FIXTURES, component + ".yaml"), path)
    os.chmod(path, 0o600)
    return {"path": str(path), "backup_dir": str(tmp_path / "backups"), "tmp": tmp_path}


@pytest.fixture
def node(tmp_path):
    return _node(tmp_path, "kube-apiserver")


def args(node, **kw):
    base = {"path": node["path"], "backup_dir": node["backup_dir"], "kubernetes_version": "1.28.7"}
    base.update(kw)
    return base


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_check_apply_idempotent(node):
    original = read(node["path"])
    wanted = dict(flags={"profiling": False, "audit-policy-file": AUDIT["hostPath"],
                         "enable-admission-plugins": ["NodeRestriction", "EventRateLimit"]},
                  volumes=[AUDIT], annotations={"k8s-hardening.io/config-checksum": "abc"})

    rc, res = run_module("static_pod", args(node, **wanted), node["tmp"], check_mode=True)
    assert rc == 0 and res["changed"] is True
    assert read(node["path"]) == original, "check mode wrote the manifest"
    assert not os.path.exists(node["backup_dir"])
    assert "set --profiling=false (was unset)" in res["changes"]
    assert res["diff"]["after"].count("--profiling=false") == 1

    rc, res = run_module("static_pod", args(node, **wanted), node["tmp"])
    assert rc == 0 and res["changed"] and res["content_changed"]
    assert res["changes"] == [
        "set --profiling=false (was unset)",
        "set --audit-policy-file=/etc/kubernetes/audit/policy.yaml (was unset)",
        "--enable-admission-plugins: NodeRestriction -> NodeRestriction,EventRateLimit",
        "volume audit-policy added (/etc/kubernetes/audit/policy.yaml -> /etc/kubernetes/audit/policy.yaml, read-only)",
        "annotation k8s-hardening.io/config-checksum added (abc)",
    ]
    now = read(node["path"])
    assert res["manifest_sha256"] == hashlib.sha256(now).hexdigest()
    assert res["previous_sha256"] == hashlib.sha256(original).hexdigest()
    assert res["flags"]["profiling"] == "false"
    st = os.stat(node["path"])
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    # backup: outside the manifests dir, 0600, byte-identical to the previous manifest
    backup = res["backup_file"]
    assert os.path.dirname(backup) == node["backup_dir"]
    assert os.path.basename(backup).startswith("kube-apiserver.") and backup.endswith(".yaml")
    assert read(backup) == original
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert os.listdir(os.path.dirname(node["path"])) == ["kube-apiserver.yaml"]
    doc = yaml.safe_load(now)
    assert doc["metadata"]["annotations"]["k8s-hardening.io/config-checksum"] == "abc"

    for check in (True, False):
        mtime = os.stat(node["path"]).st_mtime_ns
        rc, res = run_module("static_pod", args(node, **wanted), node["tmp"], check_mode=check)
        assert rc == 0 and res["changed"] is False and res["changes"] == []
        assert os.stat(node["path"]).st_mtime_ns == mtime, "an unchanged manifest was rewritten"
    assert len(os.listdir(node["backup_dir"])) == 1


def test_only_mode_fixed_is_changed_without_content(node):
    os.chmod(node["path"], 0o644)
    original = read(node["path"])
    rc, res = run_module("static_pod", args(node, flags={"secure-port": 6443}), node["tmp"])
    assert rc == 0 and res["changed"] is True and res["content_changed"] is False
    assert read(node["path"]) == original
    assert stat.S_IMODE(os.stat(node["path"]).st_mode) == 0o600


def test_tls_and_list_remove(node):
    with open(node["path"]) as handle:
        text = handle.read()
    text = text.replace("--enable-admission-plugins=NodeRestriction",
                        "--enable-admission-plugins=AlwaysAdmit,NodeRestriction")
    text = text.replace("    - --tls-cert-file", "    - --tls-min-version=VersionTLS10\n    - --tls-cert-file")
    with open(node["path"], "w") as handle:
        handle.write(text)
    rc, res = run_module("static_pod", args(node, flags={"tls-min-version": "VersionTLS12"},
                                            list_remove={"enable-admission-plugins": ["AlwaysAdmit"]}),
                         node["tmp"])
    assert rc == 0, res
    assert res["changes"] == ["--tls-min-version: VersionTLS10 -> VersionTLS12",
                              "--enable-admission-plugins: AlwaysAdmit,NodeRestriction -> NodeRestriction"]


@pytest.mark.parametrize("kw,fragment", [
    ({"flags": {"authentication-config": "/etc/kubernetes/authn.yaml"}},
     "--authentication-config of kube-apiserver needs Kubernetes 1.30 or later; this node runs 1.28"),
    ({"flags": {"tls-cipher-suites": ["TLS_RSA_WITH_AES_128_GCM_SHA256"]}}, "insecure list"),
    ({"flags": {"bogus-flag": "1"}}, "--bogus-flag is not a kube-apiserver flag"),
    ({"flags": {"authorization-config": "/a"}, "kubernetes_version": "1.30.0"},
     "--authorization-mode and --authorization-config cannot both be set"),
    ({"volumes": [dict(AUDIT, name="k8s-certs")]}, "volume name clash: k8s-certs"),
    ({"volumes": [dict(AUDIT, mountPath="/etc/ssl/certs")]}, "is already used by volume ca-certs"),
])
def test_refusals_leave_file_byte_identical(node, kw, fragment):
    original = read(node["path"])
    rc, res = run_module("static_pod", args(node, **kw), node["tmp"])
    assert rc != 0 and res.get("failed")
    assert fragment in res["msg"] and "nothing was changed" in res["msg"]
    assert read(node["path"]) == original
    assert not os.path.exists(node["backup_dir"])


@pytest.mark.parametrize("mutate,fragment", [
    (lambda t: t.replace("    - --secure-port=6443", "    - --secure-port=6443\n    - --secure-port=6444"),
     "--secure-port is given twice"),
    (lambda t: t.replace("kind: Pod", "kind: Deployment"), "not a v1 Pod"),
])
def test_bad_manifest_refused(node, mutate, fragment):
    with open(node["path"]) as handle:
        text = mutate(handle.read())
    with open(node["path"], "w") as handle:
        handle.write(text)
    original = read(node["path"])
    rc, res = run_module("static_pod", args(node, flags={"profiling": False}), node["tmp"])
    assert rc != 0 and fragment in res["msg"]
    assert read(node["path"]) == original


def test_backup_dir_inside_manifests_refused(node):
    original = read(node["path"])
    rc, res = run_module("static_pod", args(node, flags={"profiling": False},
                                            backup_dir=os.path.join(os.path.dirname(node["path"]), "bak")),
                         node["tmp"])
    assert rc != 0 and "inside the manifests directory" in res["msg"]
    assert read(node["path"]) == original


def test_anonymous_conflict_reads_authn_config(node, tmp_path):
    authn = tmp_path / "authn.yaml"
    authn.write_text("apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\n"
                     "anonymous:\n  enabled: true\n  conditions:\n  - path: /readyz\n")
    rc, res = run_module("static_pod", args(node, kubernetes_version="1.32.1",
                                            flags={"authentication-config": str(authn),
                                                   "anonymous-auth": False}), node["tmp"])
    assert rc != 0 and "--anonymous-auth conflicts with --authentication-config" in res["msg"]
    rc, res = run_module("static_pod", args(node, kubernetes_version="1.32.1",
                                            flags={"authentication-config": str(authn)}), node["tmp"])
    assert rc == 0 and res["changed"]


@pytest.mark.parametrize("replace,expected", [
    (False, "--enable-admission-plugins=NodeRestriction,EventRateLimit"),
    ("yes", "--enable-admission-plugins=EventRateLimit"),
    (["enable-admission-plugins"], "--enable-admission-plugins=EventRateLimit"),
    ("disable-admission-plugins", "--enable-admission-plugins=NodeRestriction,EventRateLimit"),
])
def test_replace_lists(node, replace, expected):
    rc, res = run_module("static_pod", args(node, flags={"enable-admission-plugins": ["EventRateLimit"]},
                                            replace_lists=replace), node["tmp"])
    assert rc == 0, res
    assert expected in yaml.safe_load(read(node["path"]))["spec"]["containers"][0]["command"]


@pytest.fixture
def etcd_node(tmp_path):
    return _node(tmp_path, "etcd")


def test_security_context_check_apply_idempotent(etcd_node):
    node = etcd_node
    original = read(node["path"])
    # "1001" as a string: what a templated dict value becomes in Ansible
    wanted = dict(component="etcd", security_context={"runAsUser": "1001", "runAsGroup": 1001})

    rc, res = run_module("static_pod", args(node, **wanted), node["tmp"], check_mode=True)
    assert rc == 0 and res["changed"] is True, res
    assert res["changes"] == ["securityContext.runAsUser: unset -> 1001",
                              "securityContext.runAsGroup: unset -> 1001"]
    assert read(node["path"]) == original, "check mode wrote the manifest"
    assert not os.path.exists(node["backup_dir"])

    rc, res = run_module("static_pod", args(node, **wanted), node["tmp"])
    assert rc == 0 and res["changed"] and res["content_changed"], res
    assert read(res["backup_file"]) == original
    doc = yaml.safe_load(read(node["path"]))
    assert doc["spec"]["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"},
                                              "runAsUser": 1001, "runAsGroup": 1001}
    assert doc["spec"]["containers"] == yaml.safe_load(original)["spec"]["containers"]

    for check in (True, False):
        mtime = os.stat(node["path"]).st_mtime_ns
        rc, res = run_module("static_pod", args(node, **wanted), node["tmp"], check_mode=check)
        assert rc == 0 and res["changed"] is False and res["changes"] == [], res
        assert os.stat(node["path"]).st_mtime_ns == mtime, "an unchanged manifest was rewritten"
    assert len(os.listdir(node["backup_dir"])) == 1


def test_security_context_bad_value_refused(etcd_node):
    original = read(etcd_node["path"])
    rc, res = run_module("static_pod", args(etcd_node, security_context={"runAsUser": "etcd"}), etcd_node["tmp"])
    assert rc != 0 and "securityContext.runAsUser must be a non-negative integer" in res["msg"]
    assert "nothing was changed" in res["msg"]
    assert read(etcd_node["path"]) == original


def test_backups_are_pruned_to_backup_keep(node):
    made = []
    for n in range(4):
        rc, res = run_module("static_pod", args(node, flags={"request-timeout": "%ds" % (60 + n)}, backup_keep=2),
                             node["tmp"])
        assert rc == 0 and res["content_changed"], res
        made.append(res["backup_file"])
    assert sorted(os.listdir(node["backup_dir"])) == sorted(os.path.basename(b) for b in made[-2:])
    assert res["backups_removed"] == [made[-3]]
    # the newest backup is the manifest as it was before the last change
    assert b"--request-timeout=62s" in read(made[-1])


def test_each_warning_is_returned_once(node):
    """A Kubernetes version outside the flag table warns; the warning comes back once, not twice."""
    rc, res = run_module("static_pod", args(node, kubernetes_version="1.99.0", flags={"profiling": "false"}),
                         node["tmp"], check_mode=True)
    assert rc == 0 and res["changed"], res
    outside = [w for w in res.get("warnings", []) if "1.99" in w]
    assert len(outside) == 1, res.get("warnings")
