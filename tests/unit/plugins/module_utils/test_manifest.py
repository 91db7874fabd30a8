"""Unit tests for plugins/module_utils/_manifest.py on kubeadm v1.28.7's real manifests."""
import copy
import re
import os

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _manifest as m

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "manifests")


def read(name):
    with open(os.path.join(FIXTURES, name + ".yaml")) as handle:
        return handle.read()


def doc(name="kube-apiserver"):
    return m.load(read(name))


@pytest.mark.parametrize("name,binary,some_flag,value", [
    ("kube-apiserver", "kube-apiserver", "authorization-mode", "Node,RBAC"),
    ("kube-controller-manager", "kube-controller-manager", "use-service-account-credentials", "true"),
    ("kube-scheduler", "kube-scheduler", "bind-address", "127.0.0.1"),
    ("etcd", "etcd", "client-cert-auth", "true"),
])
def test_load_real_manifests(name, binary, some_flag, value):
    d = doc(name)
    assert m.component_binary(d) == binary
    assert m.get_flags(d)[some_flag] == value


def test_dump_round_trips_kubeadm_text_byte_identical():
    # kubeadm writes with the same serializer settings, so a no-op stays identical
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        assert m.dump(m.load(read(name))) == read(name)


def test_get_flags_order_and_valueless():
    d = doc()
    d["spec"]["containers"][0]["command"].append("--v")
    flags = m.get_flags(d)
    assert list(flags)[:3] == ["advertise-address", "allow-privileged", "authorization-mode"]
    assert flags["v"] is None


@pytest.mark.parametrize("text,message", [
    ("", "not a YAML mapping"),
    ("- a\n- b\n", "not a YAML mapping"),
    ("a: [", "not valid YAML"),
    ("apiVersion: v1\nkind: Service\n", "not a v1 Pod"),
    ("apiVersion: apps/v1\nkind: Pod\n", "not a v1 Pod"),
    ("apiVersion: v1\nkind: Pod\nspec: {}\n", "exactly one container"),
    ("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, command: [x]}, {name: b, command: [y]}]\n",
     "exactly one container"),
    ("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a}]\n", "no command"),
    ("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, command: []}]\n", "no command"),
])
def test_load_refuses(text, message):
    with pytest.raises(m.ManifestError, match=message):
        m.load(text)


def test_flag_given_twice():
    d = doc()
    d["spec"]["containers"][0]["command"].append("--profiling=true")
    d["spec"]["containers"][0]["command"].append("--profiling=false")
    with pytest.raises(m.ManifestError, match="--profiling is given twice"):
        m.get_flags(d)


def test_volumes_joined_by_name():
    assert m.volumes(doc("etcd")) == [
        {"name": "etcd-certs", "hostPath": "/etc/kubernetes/pki/etcd", "type": "DirectoryOrCreate",
         "mountPath": "/etc/kubernetes/pki/etcd", "readOnly": False},
        {"name": "etcd-data", "hostPath": "/var/lib/etcd", "type": "DirectoryOrCreate",
         "mountPath": "/var/lib/etcd", "readOnly": False},
    ]
    assert [v["name"] for v in m.volumes(doc())] == ["ca-certs", "k8s-certs"]
    assert all(v["readOnly"] for v in m.volumes(doc()))


@pytest.mark.parametrize("value,expected", [
    (True, "true"), (False, "false"), (5, "5"), ("x", "x"), (None, None),
    (["a", "b"], "a,b"), ({"A": True, "B": 1}, "A=true,B=1"),
])
def test_flag_value_str(value, expected):
    assert m.flag_value_str(value) == expected


@pytest.mark.parametrize("name,value,current,replace,expected", [
    ("enable-admission-plugins", ["EventRateLimit"], "NodeRestriction,PodSecurity", False,
     "NodeRestriction,PodSecurity,EventRateLimit"),
    ("enable-admission-plugins", ["NodeRestriction"], "NodeRestriction", False, "NodeRestriction"),
    ("enable-admission-plugins", ["EventRateLimit"], "NodeRestriction", True, "EventRateLimit"),
    ("enable-admission-plugins", ["EventRateLimit"], "NodeRestriction", ["enable-admission-plugins"],
     "EventRateLimit"),
    ("enable-admission-plugins", ["A"], None, False, "A"),
    ("tls-cipher-suites", ["X", "Y"], "Z", False, "X,Y"),
    ("feature-gates", {"RotateKubeletServerCertificate": True}, "A=false", False,
     "A=false,RotateKubeletServerCertificate=true"),
    ("feature-gates", {"A": True}, "A=false,B=true", False, "A=true,B=true"),
    ("profiling", False, "true", False, "false"),
])
def test_desired_value(name, value, current, replace, expected):
    assert m.desired_value(name, value, current, replace) == expected


def test_apply_flags_changes_and_sorted_insert():
    d = doc()
    d["spec"]["containers"][0]["command"].append("--tls-min-version=VersionTLS10")
    changes = m.apply_flags(d, flags={"profiling": False, "tls-min-version": "VersionTLS12",
                                      "audit-log-maxage": 30})
    assert changes == [
        "set --profiling=false (was unset)",
        "--tls-min-version: VersionTLS10 -> VersionTLS12",
        "set --audit-log-maxage=30 (was unset)",
    ]
    command = d["spec"]["containers"][0]["command"]
    # kubeadm sorts flags: new ones land in sorted position
    assert command.index("--audit-log-maxage=30") == command.index("--allow-privileged=true") + 1
    assert command.index("--profiling=false") + 1 == command.index(
        "--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt")
    assert command[0] == "kube-apiserver"


def test_apply_flags_unchanged_when_same():
    d = doc()
    before = copy.deepcopy(d)
    assert m.apply_flags(d, flags={"authorization-mode": "Node,RBAC",
                                   "enable-admission-plugins": ["NodeRestriction"]}) == []
    assert d == before


def test_apply_flags_keeps_unmanaged_flag_order():
    d = doc()
    before = list(m.get_flags(d))
    m.apply_flags(d, flags={"secure-port": "6443", "allow-privileged": "false"})
    assert list(m.get_flags(d)) == before


def test_list_remove_and_absent():
    d = doc()
    d["spec"]["containers"][0]["command"][5] = "--enable-admission-plugins=AlwaysAdmit,NodeRestriction"
    d["spec"]["containers"][0]["command"].append("--insecure-port=0")
    changes = m.apply_flags(d, flags={"enable-admission-plugins": ["EventRateLimit"]},
                            absent_flags=["insecure-port", "not-there"],
                            list_remove={"enable-admission-plugins": ["AlwaysAdmit"]})
    assert changes == [
        "--enable-admission-plugins: AlwaysAdmit,NodeRestriction -> AlwaysAdmit,NodeRestriction,EventRateLimit",
        "--enable-admission-plugins: AlwaysAdmit,NodeRestriction,EventRateLimit -> NodeRestriction,EventRateLimit",
        "removed --insecure-port=0",
    ]
    assert "insecure-port" not in m.get_flags(d)


def test_list_remove_last_item_removes_flag():
    d = doc()
    d["spec"]["containers"][0]["command"].append("--disable-admission-plugins=AlwaysAdmit")
    changes = m.apply_flags(d, list_remove={"disable-admission-plugins": "AlwaysAdmit"})
    assert changes == ["removed --disable-admission-plugins=AlwaysAdmit"]


def test_set_and_absent_same_flag_refused():
    with pytest.raises(m.ManifestError, match="both set and listed as absent"):
        m.apply_flags(doc(), flags={"profiling": "false"}, absent_flags=["profiling"])


AUDIT = {"name": "audit-policy", "hostPath": "/etc/kubernetes/audit/policy.yaml", "type": "File",
         "mountPath": "/etc/kubernetes/audit/policy.yaml", "readOnly": True}


def test_apply_volumes_adds_volume_and_mount():
    d = doc()
    assert m.apply_volumes(d, [AUDIT]) == [
        "volume audit-policy added (/etc/kubernetes/audit/policy.yaml -> /etc/kubernetes/audit/policy.yaml, read-only)"]
    assert m.volumes(d)[-1] == AUDIT
    assert m.apply_volumes(d, [AUDIT]) == []


def test_apply_volumes_readonly_change():
    d = doc()
    m.apply_volumes(d, [AUDIT])
    changed = dict(AUDIT, readOnly=False)
    assert m.apply_volumes(d, [changed]) == ["volume audit-policy: readOnly True -> False"]
    assert m.volumes(d)[-1]["readOnly"] is False


@pytest.mark.parametrize("vol,message", [
    (dict(AUDIT, name="k8s-certs"), "k8s-certs already has hostPath /etc/kubernetes/pki"),
    ({"name": "k8s-certs", "hostPath": "/etc/kubernetes/pki", "mountPath": "/pki"}, "already has mountPath"),
    (dict(AUDIT, mountPath="/etc/ssl/certs"), "mountPath /etc/ssl/certs of volume audit-policy is already used by volume ca-certs"),
    ({"name": "x", "hostPath": "/x"}, "lacks mountPath"),
])
def test_apply_volumes_clash(vol, message):
    d = doc()
    before = copy.deepcopy(d)
    with pytest.raises(m.ManifestError, match=message):
        m.apply_volumes(d, [vol])
    assert d == before


def test_apply_annotations():
    d = doc()
    assert m.apply_annotations(d, {m.CHECKSUM_ANNOTATION: "abc"}) == [
        "annotation k8s-hardening.io/config-checksum added (abc)"]
    assert m.apply_annotations(d, {m.CHECKSUM_ANNOTATION: "def"}) == [
        "annotation k8s-hardening.io/config-checksum: abc -> def"]
    assert m.apply_annotations(d, {m.CHECKSUM_ANNOTATION: "def"}) == []
    # kubeadm's own annotation kept, first
    assert list(d["metadata"]["annotations"])[0].startswith("kubeadm.kubernetes.io/")


def test_apply_does_not_modify_input_and_is_atomic():
    d = doc()
    before = copy.deepcopy(d)
    new, changes = m.apply(d, flags={"profiling": "false"}, volumes_wanted=[AUDIT],
                           annotations={"a": "b"})
    assert d == before
    assert len(changes) == 3
    assert m.get_flags(new)["profiling"] == "false"
    with pytest.raises(m.ManifestError):
        m.apply(d, flags={"profiling": "false"}, volumes_wanted=[dict(AUDIT, mountPath="/etc/ssl/certs")])
    assert d == before


def test_apply_noop_returns_same_doc():
    d = doc()
    new, changes = m.apply(d, flags={"secure-port": 6443})
    assert changes == [] and new is d


def test_checksum_of_contents_order_independent_and_sensitive():
    a = m.checksum_of_contents([("/a", b"1"), ("/b", b"2")])
    assert a == m.checksum_of_contents([("/b", b"2"), ("/a", b"1")])
    assert a != m.checksum_of_contents([("/a", b"1"), ("/b", b"3")])
    assert a != m.checksum_of_contents([("/a", b"2"), ("/b", b"1")])
    assert len(a) == 64


def test_sha256_hex():
    assert m.sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def test_merge_contributions_combines_sources():
    merged = m.merge_contributions([
        {"source": "audit", "component": "kube-apiserver", "flags": {"audit-log-maxage": 30},
         "volumes": [AUDIT], "checksum_files": ["/p"]},
        {"source": "admission", "component": "kube-apiserver",
         "flags": {"enable-admission-plugins": ["NodeRestriction", "EventRateLimit"], "--profiling": "false"},
         "list_remove": {"enable-admission-plugins": ["AlwaysAdmit"]}, "checksum_files": ["/p", "/q"]},
        {"source": "tls", "component": "kube-apiserver",
         "flags": {"enable-admission-plugins": ["EventRateLimit", "AlwaysPullImages"], "audit-log-maxage": "30"}},
        {"source": "cm", "component": "kube-controller-manager", "flags": {"feature-gates": {"A": True}}},
        {"source": "cm2", "component": "kube-controller-manager", "flags": {"feature-gates": {"B": False}}},
    ], COMPONENTS)
    api = merged["kube-apiserver"]
    assert api["flags"] == {"audit-log-maxage": 30, "enable-admission-plugins":
                            ["NodeRestriction", "EventRateLimit", "AlwaysPullImages"], "profiling": "false"}
    assert api["sources"] == ["audit", "admission", "tls"]
    assert api["checksum_files"] == ["/p", "/q"]
    assert api["list_remove"] == {"enable-admission-plugins": ["AlwaysAdmit"]}
    assert merged["kube-controller-manager"]["flags"] == {"feature-gates": {"A": True, "B": False}}
    assert list(merged) == ["kube-apiserver", "kube-controller-manager"]


@pytest.mark.parametrize("contribs,message", [
    ([{"source": "a", "component": "kube-apiserver", "flags": {"profiling": "false"}},
      {"source": "b", "component": "kube-apiserver", "flags": {"profiling": "true"}}],
     "conflict on flag profiling of kube-apiserver: a wants 'false', b wants 'true'"),
    ([{"source": "a", "component": "kube-apiserver", "flags": {"profiling": "false"}},
      {"source": "b", "component": "kube-apiserver", "absent_flags": ["profiling"]}],
     "a sets it, b wants it absent"),
    ([{"source": "a", "component": "kube-apiserver", "absent_flags": ["--profiling"]},
      {"source": "b", "component": "kube-apiserver", "flags": {"profiling": "true"}}],
     "a wants it absent, b sets it"),
    ([{"source": "a", "component": "kube-apiserver", "volumes": [AUDIT]},
      {"source": "b", "component": "kube-apiserver", "volumes": [dict(AUDIT, readOnly=False)]}],
     "conflict on volume audit-policy"),
    ([{"source": "a", "component": "kube-scheduler", "flags": {"feature-gates": {"X": True}}},
      {"source": "b", "component": "kube-scheduler", "flags": {"feature-gates": {"X": False}}}],
     "feature-gates X of kube-scheduler: a wants 'true', b wants 'false'"),
    ([{"source": "a", "component": "kube-apiserver", "flags": {"enable-admission-plugins": ["AlwaysAdmit"]}},
      {"source": "b", "component": "kube-apiserver", "list_remove": {"enable-admission-plugins": ["AlwaysAdmit"]}}],
     "AlwaysAdmit both added and removed"),
    ([{"source": "a", "component": "kubelet"}], "component 'kubelet' is not one of"),
    ([{"source": "a", "component": "etcd", "flag": {}}], "a: unknown key"),
    (["x"], "not a dict"),
])
def test_merge_contributions_conflicts(contribs, message):
    with pytest.raises(m.ManifestError, match=re.escape(message)):
        m.merge_contributions(contribs, COMPONENTS)


@pytest.mark.parametrize("name,expected", [
    ("kube-apiserver", {"scheme": "HTTPS", "host": "10.0.0.10", "port": 6443, "path": "/readyz",
                        "client_auth": True, "probe": "readinessProbe"}),
    ("kube-controller-manager", {"scheme": "HTTPS", "host": "127.0.0.1", "port": 10257, "path": "/healthz",
                                 "client_auth": False, "probe": "startupProbe"}),
    ("kube-scheduler", {"scheme": "HTTPS", "host": "127.0.0.1", "port": 10259, "path": "/healthz",
                        "client_auth": False, "probe": "startupProbe"}),
    ("etcd", {"scheme": "HTTP", "host": "127.0.0.1", "port": 2381,
              "path": "/health?serializable=false", "client_auth": False, "probe": "startupProbe"}),
])
def test_probe_target_from_kubeadm_manifests(name, expected):
    assert m.probe_target(doc(name)) == expected


def test_probe_target_named_port_and_none():
    d = doc("kube-scheduler")
    c = d["spec"]["containers"][0]
    c["startupProbe"]["httpGet"]["port"] = "https"
    c["ports"] = [{"name": "https", "containerPort": 10259}]
    assert m.probe_target(d)["port"] == 10259
    for key in ("startupProbe", "livenessProbe", "readinessProbe"):
        c.pop(key, None)
    assert m.probe_target(d) is None


@pytest.mark.parametrize("arg,expected", [
    ("--profiling=false", ("profiling", "false")),
    ("--v", ("v", None)),
    ("-v=2", ("v", "2")),
    ("--feature-gates=A=true,B=false", ("feature-gates", "A=true,B=false")),
    ("--empty=", ("empty", "")),
    ("kube-apiserver", (None, None)),
    ("-", (None, None)),
    ("--", (None, None)),
])
def test_parse_flag(arg, expected):
    assert m.parse_flag(arg) == expected


@pytest.mark.parametrize("name,value,expected", [
    ("v", None, "--v"), ("profiling", "false", "--profiling=false"), ("empty", "", "--empty="),
])
def test_format_flag_inverts_parse_flag(name, value, expected):
    assert m.format_flag(name, value) == expected
    assert m.parse_flag(expected) == (name, value)


@pytest.mark.parametrize("value,as_list,as_map", [
    (None, [], {}),
    ("", [], {}),
    ("A, B,,C", ["A", "B", "C"], {"A": None, "B": None, "C": None}),
    ("A=true,B=false", ["A=true", "B=false"], {"A": "true", "B": "false"}),
])
def test_split_list_and_map(value, as_list, as_map):
    assert m.split_list(value) == as_list
    assert m.split_map(value) == as_map


def test_checksum_of_digests_matches_contents():
    assert m.checksum_of_digests([("/a", m.sha256_hex(b"x"))]) == m.checksum_of_contents([("/a", b"x")])
    assert m.checksum_of_digests([("/a", m.sha256_hex(b"x").upper())]) == m.checksum_of_contents([("/a", b"x")])


def test_flags_from_command_skips_binary_and_positional():
    assert m.flags_from_command(["etcd", "--name=a", "positional", "--x"]) == {"name": "a", "x": None}


# --------------------------------------------------------------------------
# pod securityContext (etcd_run_as_user, CIS 1.1.12)

RUN_AS = {"runAsUser": 1001, "runAsGroup": 1002}


@pytest.mark.parametrize("wanted,changes,expected", [
    (RUN_AS, ["securityContext.runAsUser: unset -> 1001", "securityContext.runAsGroup: unset -> 1002"],
     {"seccompProfile": {"type": "RuntimeDefault"}, "runAsUser": 1001, "runAsGroup": 1002}),
    # digit strings (what a templated dict value becomes) are written as integers
    ({"runAsUser": "1001", "runAsNonRoot": "true"},
     ["securityContext.runAsUser: unset -> 1001", "securityContext.runAsNonRoot: unset -> true"],
     {"seccompProfile": {"type": "RuntimeDefault"}, "runAsUser": 1001, "runAsNonRoot": True}),
    # nested dicts merge by key: the profile's type changes, nothing else is dropped
    ({"seccompProfile": {"type": "Localhost", "localhostProfile": "etcd.json"}},
     ["securityContext.seccompProfile.type: RuntimeDefault -> Localhost",
      "securityContext.seccompProfile.localhostProfile: unset -> etcd.json"],
     {"seccompProfile": {"type": "Localhost", "localhostProfile": "etcd.json"}}),
])
def test_apply_security_context_on_kubeadm_etcd(wanted, changes, expected):
    d = doc("etcd")
    before = copy.deepcopy(d)
    new, got = m.apply(d, security_context=wanted)
    assert got == changes
    assert new["spec"]["securityContext"] == expected
    assert d == before, "apply modified its input"
    # everything else kubeadm wrote is untouched
    assert {k: v for k, v in new["spec"].items() if k != "securityContext"} == \
        {k: v for k, v in before["spec"].items() if k != "securityContext"}
    # idempotent: applying again to the result changes nothing and returns the same doc
    again, none = m.apply(new, security_context=wanted)
    assert none == [] and again is new
    # and it survives a dump/load round trip the same way
    reloaded = m.load(m.dump(new))
    assert m.apply(reloaded, security_context=wanted)[1] == []


@pytest.mark.parametrize("wanted", [None, {}, {"seccompProfile": {"type": "RuntimeDefault"}}])
def test_apply_security_context_noop_returns_same_doc(wanted):
    d = doc("etcd")
    new, changes = m.apply(d, security_context=wanted)
    assert changes == [] and new is d


def test_apply_security_context_creates_it_when_absent():
    d = doc("kube-scheduler")
    d["spec"].pop("securityContext", None)
    new, changes = m.apply(d, security_context={"runAsUser": 2000})
    assert changes == ["securityContext.runAsUser: unset -> 2000"]
    assert new["spec"]["securityContext"] == {"runAsUser": 2000}


def test_apply_security_context_string_in_manifest_is_a_change():
    d = doc("etcd")
    d["spec"]["securityContext"]["runAsUser"] = "1001"
    new, changes = m.apply(d, security_context={"runAsUser": 1001})
    assert changes == ["securityContext.runAsUser: '1001' -> 1001"]
    assert new["spec"]["securityContext"]["runAsUser"] == 1001


@pytest.mark.parametrize("wanted,message", [
    ({"runAsUser": "etcd"}, "securityContext.runAsUser must be a non-negative integer"),
    ({"runAsGroup": -1}, "securityContext.runAsGroup must be a non-negative integer"),
    ({"runAsUser": True}, "securityContext.runAsUser must be a non-negative integer"),
    ({"runAsNonRoot": "maybe"}, "securityContext.runAsNonRoot must be a boolean"),
    ({"seLinuxOptions": None}, "securityContext.seLinuxOptions has no value"),
    ({"seccompProfile": {"type": "Localhost"}, "runAsUser": "x"}, "runAsUser must be"),
    ({"seccompProfile": {"type": {"x": 1}}}, None),  # nested dict under a leaf in the manifest
    (["runAsUser"], "security_context must be a dict"),
])
def test_apply_security_context_refused_doc_untouched(wanted, message):
    d = doc("etcd")
    before = copy.deepcopy(d)
    if message is None:
        d["spec"]["securityContext"]["seccompProfile"]["type"] = "RuntimeDefault"
        with pytest.raises(m.ManifestError, match="securityContext.seccompProfile.type is not a mapping"):
            m.apply(d, security_context=wanted)
    else:
        with pytest.raises(m.ManifestError, match=re.escape(message)):
            m.apply(d, security_context=wanted)
    assert d == before


def test_merge_contributions_security_context():
    merged = m.merge_contributions([
        {"source": "etcd", "component": "etcd", "flags": {"cipher-suites": ["A"]},
         "security_context": {"runAsUser": "1001", "runAsGroup": 1001}},
        {"source": "seccomp", "component": "etcd", "security_context": {"seccompProfile": {"type": "RuntimeDefault"}}},
        {"source": "again", "component": "etcd", "security_context": {"runAsUser": 1001}},
        {"source": "api", "component": "kube-apiserver", "flags": {"profiling": False}},
    ], COMPONENTS)
    assert merged["etcd"]["security_context"] == {"runAsUser": 1001, "runAsGroup": 1001,
                                                  "seccompProfile": {"type": "RuntimeDefault"}}
    assert merged["etcd"]["sources"] == ["etcd", "seccomp", "again"]
    assert merged["kube-apiserver"]["security_context"] == {}
    # the merged value is what apply takes
    new, changes = m.apply(doc("etcd"), security_context=merged["etcd"]["security_context"])
    assert changes == ["securityContext.runAsUser: unset -> 1001", "securityContext.runAsGroup: unset -> 1001"]


@pytest.mark.parametrize("contribs,message", [
    ([{"source": "etcd", "component": "etcd", "security_context": {"runAsUser": 1001}},
      {"source": "other", "component": "etcd", "security_context": {"runAsUser": "1002"}}],
     "conflict on securityContext runAsUser of etcd: etcd wants 1001, other wants 1002"),
    ([{"source": "a", "component": "etcd", "security_context": {"seccompProfile": {"type": "RuntimeDefault"}}},
      {"source": "b", "component": "etcd", "security_context": {"seccompProfile": {"type": "Unconfined"}}}],
     "conflict on securityContext seccompProfile.type of etcd: a wants 'RuntimeDefault', b wants 'Unconfined'"),
    ([{"source": "a", "component": "etcd", "security_context": {"seccompProfile": {"type": "RuntimeDefault"}}},
      {"source": "b", "component": "etcd", "security_context": {"seccompProfile": "x"}}],
     "conflict on securityContext seccompProfile of etcd: a sets seccompProfile.type, b sets seccompProfile"),
    ([{"source": "a", "component": "etcd", "security_context": {"runAsUser": "root"}}],
     "a: securityContext.runAsUser must be a non-negative integer"),
    ([{"source": "a", "component": "etcd", "security_context": "1001"}], "a: security_context must be a dict"),
])
def test_merge_contributions_security_context_conflicts(contribs, message):
    with pytest.raises(m.ManifestError, match=re.escape(message)):
        m.merge_contributions(contribs, COMPONENTS)


def test_merge_contributions_security_context_per_component():
    merged = m.merge_contributions([
        {"source": "a", "component": "etcd", "security_context": {"runAsUser": 1001}},
        {"source": "b", "component": "kube-scheduler", "security_context": {"runAsUser": 2000}},
    ], COMPONENTS)
    assert merged["etcd"]["security_context"] == {"runAsUser": 1001}
    assert merged["kube-scheduler"]["security_context"] == {"runAsUser": 2000}


@pytest.mark.parametrize("path,key", [
    ("/etc/kubernetes/audit/policy.yaml", "checksum.k8s-hardening.io/etc_kubernetes_audit_policy.yaml"),
    ("/etc/kubernetes/enc/encryption-config.yaml", "checksum.k8s-hardening.io/etc_kubernetes_enc_encryption-config.yaml"),
])
def test_checksum_annotation_key(path, key):
    assert m.checksum_annotation_key(path) == key


def test_checksum_annotation_key_long_paths_stay_valid_and_unique():
    a = m.checksum_annotation_key("/" + "x" * 80 + "/a.yaml")
    b = m.checksum_annotation_key("/" + "x" * 80 + "/b.yaml")
    for key in (a, b):
        name = key.split("/", 1)[1]
        assert len(name) <= 63 and name[0].isalnum() and name[-1].isalnum()
    assert a != b


def test_checksum_annotations_are_per_file():
    out = m.checksum_annotations([("/etc/a.yaml", "AB" * 32), ("/etc/b.yaml", "cd" * 32)])
    assert out == {"checksum.k8s-hardening.io/etc_a.yaml": "ab" * 32, "checksum.k8s-hardening.io/etc_b.yaml": "cd" * 32}
