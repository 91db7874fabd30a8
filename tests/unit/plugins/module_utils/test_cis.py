"""Tests for the CIS control table (_cis.py): kube-bench semantics, remedies, violations, evaluation."""
import os

import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _cis as cis
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import apply, get_flags, load

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def _manifest_flags(component):
    with open(os.path.join(FIXTURES, "manifests", component + ".yaml")) as handle:
        return get_flags(load(handle.read()))


def _kubelet_config():
    with open(os.path.join(FIXTURES, "kubelet", "config.yaml")) as handle:
        return yaml.safe_load(handle)


def kubeadm_node(roles=("control_plane",)):
    """An observation of a freshly installed kubeadm v1.28.7 control-plane node (reference FILES.txt modes)."""
    comps = {}
    for comp in cis.COMPONENTS:
        comps[comp] = {"present": True, "flags": _manifest_flags(comp), "env": {}}

    def stat(path, mode="600", owner="root", group="root"):
        return {"path": path, "exists": True, "mode": mode, "owner": owner, "group": group}

    files = {}
    for cid, spec in cis.file_targets().items():
        entries = [stat(p) for p in spec["paths"]]
        for d in spec["dirs"]:
            if d["dir"] == "/etc/kubernetes/pki":
                if d["pattern"] == "*.crt":
                    entries += [stat("/etc/kubernetes/pki/ca.crt", "644"), stat("/etc/kubernetes/pki/etcd/ca.crt", "644")]
                elif d["pattern"] == "*.key":
                    entries += [stat("/etc/kubernetes/pki/ca.key"), stat("/etc/kubernetes/pki/etcd/ca.key")]
                else:
                    entries += [stat("/etc/kubernetes/pki", "755"), stat("/etc/kubernetes/pki/ca.crt", "644")]
        files[cid] = entries
    # kubeadm: etcd data dir 700 root:root; super-admin.conf absent on 1.28; no proxy.conf; no CNI files yet
    for entry in files["1.1.11"] + files["1.1.12"]:
        entry["mode"] = "700"
    for cid in ("1.1.13", "1.1.14"):
        files[cid] = [e for e in files[cid] if "super-admin" not in e["path"]] + [
            {"path": "/etc/kubernetes/super-admin.conf", "exists": False}]
    for cid in ("4.1.3", "4.1.4", "1.1.9", "1.1.10"):
        files[cid] = [{"path": e["path"], "exists": False} for e in files[cid]]
    for cid in ("4.1.7",):
        files[cid] = [stat("/etc/kubernetes/pki/ca.crt", "644")]
    for cid in ("4.1.9",):
        files[cid] = [stat("/var/lib/kubelet/config.yaml", "644")]
    return {
        "node_roles": list(roles),
        "components": comps,
        "kubelet": {"flags": {"container-runtime-endpoint": "unix:///var/run/containerd/containerd.sock",
                              "hostname-override": "cp1", "config": "/var/lib/kubelet/config.yaml"},
                    "config": _kubelet_config()},
        "files": files,
        "ca_fingerprints": {"cluster_ca": "AA", "front_proxy_ca": "BB", "etcd_ca": "CC"},
        "encryption": {},
        "systemd": {"kubelet": {}},
    }


def status_of(node, cid, waivers=None, benchmark="cis-1.12"):
    return cis.evaluate(cis.get_control(cid, benchmark), node, waivers=waivers, benchmark=benchmark)


# ---------------------------------------------------------------- the table

EXPECTED_IDS = (
    ["1.1.%d" % i for i in range(1, 22)] + ["1.2.%d" % i for i in range(1, 31)] + ["1.3.%d" % i for i in range(1, 8)]
    + ["1.4.1", "1.4.2"] + ["2.%d" % i for i in range(1, 8)] + ["3.2.1"] + ["4.1.%d" % i for i in range(1, 11)]
    + ["4.2.%d" % i for i in range(1, 16)] + ["4.3.1"])


def test_table_has_every_control_once():
    ids = [c["id"] for c in cis.CONTROLS if not c["id"].startswith("5.")]   # section 5: test_cis_section5.py
    assert sorted(ids) == sorted(EXPECTED_IDS)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("cid", EXPECTED_IDS)
def test_control_shape(cid):
    ctl = cis.get_control(cid, "cis-1.11")
    assert ctl is not None
    assert ctl["title"].startswith(("Ensure", "If ", "Verify"))
    assert ctl["target"]["type"] in cis.TARGET_TYPES
    assert ctl["enforced_by"] in (None, "control_plane", "kubelet", "etcd", "encryption")
    assert ctl["action"] in ("enforce", "audit", "manual", "opt_in", "not_applicable")
    assert isinstance(ctl["scored"], bool) and isinstance(ctl["automated"], bool)
    if ctl["remedy"]:
        assert ctl["enforced_by"], "a remedy needs the role that writes it"
    if ctl["test"]:
        for item in ctl["test"]["items"]:
            if "op" in item:
                cis.compare(item["op"], item["value"], "x")  # op is known


@pytest.mark.parametrize("cid,present", [
    ("1.2.30", {"cis-1.10": False, "cis-1.11": True, "cis-1.12": True}),
    ("4.2.14", {"cis-1.10": False, "cis-1.11": True, "cis-1.12": True}),
    ("4.2.15", {"cis-1.10": False, "cis-1.11": True, "cis-1.12": False}),
    ("1.2.15", {"cis-1.10": True, "cis-1.11": True, "cis-1.12": True}),
])
def test_benchmark_membership(cid, present):
    for bench, expected in present.items():
        assert (cis.get_control(cid, bench) is not None) is expected
        assert (cid in [c["id"] for c in cis.controls(bench)]) is expected


@pytest.mark.parametrize("cid", ["1.1.20", "4.1.7"])
def test_benchmark_mode_difference(cid):
    node = kubeadm_node()
    # a 0644 certificate: passes 644 (cis-1.11/1.12), fails 600 (cis-1.10)
    assert status_of(node, cid, benchmark="cis-1.12")["status"] == "pass"
    assert status_of(node, cid, benchmark="cis-1.11")["status"] == "pass"
    old = status_of(node, cid, benchmark="cis-1.10")
    assert old["letter"] == "fail" and old["status"] == "fail"
    assert cis.get_control(cid, "cis-1.10")["remedy"]["mode"] == "0600"
    assert cis.get_control(cid, "cis-1.12")["remedy"]["mode"] == "0644"


def test_unknown_benchmark_and_id():
    with pytest.raises(cis.CISError, match="k8s_hardening_cis_benchmark"):
        cis.controls("cis-9.9")
    with pytest.raises(cis.CISError, match="unknown CIS control"):
        cis.get_control("9.9.9")


# ---------------------------------------------------------------- kube-bench ops

@pytest.mark.parametrize("op,expected,actual,result", [
    ("eq", "false", "false", True), ("eq", "false", "False", True), ("eq", "false", "true", False),
    ("eq", "127.0.0.1", "127.0.0.1", True), ("eq", "0", "0s", False),
    ("noteq", "0", "0s", True), ("noteq", "0", "0", False), ("noteq", "false", "FALSE", False),
    ("gte", "30", "30", True), ("gte", "30", "29", False), ("gte", "30", "abc", False),
    ("gt", "0", "1", True), ("gt", "0", "-1", False), ("lt", "5", "4", True), ("lte", "5", "6", False),
    ("has", "RBAC", "Node,RBAC", True), ("has", "EventRateLimit", "NodeRestriction", False),
    ("nothave", "AlwaysAllow", "Node,RBAC", True), ("nothave", "AlwaysAllow", "AlwaysAllow", False),
    ("valid_elements", "A,B", "A", True), ("valid_elements", "A,B", "A,C", False), ("valid_elements", "A", "", False),
    ("bitmask", "600", "600", True), ("bitmask", "600", "400", True), ("bitmask", "600", "640", False),
    ("bitmask", "644", "600", True), ("bitmask", "700", "755", False), ("bitmask", "600", "rw", False),
    ("regex", "^1\\.", "1.2", True),
    ("eq", "x", None, False),
])
def test_compare(op, expected, actual, result):
    assert cis.compare(op, expected, actual) is result


def test_compare_unknown_op():
    with pytest.raises(cis.CISError):
        cis.compare("between", "1", "2")


def test_kubelet_flag_overrides_config():
    node = kubeadm_node()
    assert status_of(node, "4.2.1")["status"] == "pass"        # config: anonymous.enabled false
    node["kubelet"]["flags"]["anonymous-auth"] = "true"          # the flag wins, like the kubelet and kube-bench
    res = status_of(node, "4.2.1")
    assert res["status"] == "fail" and "true" in res["observed"]


def test_valueless_flag_counts_as_true():
    assert cis.run_item({"flag": "profiling", "set": True, "op": "eq", "value": "false"},
                        {"flags": {"profiling": None}}) == (False, "true")


def test_etcd_env_is_read_when_flag_absent():
    node = kubeadm_node()
    flags = node["components"]["etcd"]["flags"]
    del flags["client-cert-auth"]
    assert status_of(node, "2.2")["status"] == "fail"
    node["components"]["etcd"]["env"] = {"ETCD_CLIENT_CERT_AUTH": "true"}
    assert status_of(node, "2.2")["status"] == "pass"


# ---------------------------------------------------------------- every control on kubeadm, pass and fail

# Expected result for a fresh kubeadm v1.28.7 control-plane node (reference §2.2 "would likely fail").
KUBEADM_FAILS = {"1.1.12", "1.2.1", "1.2.3", "1.2.5", "1.2.9", "1.2.15", "1.2.16", "1.2.17", "1.2.18", "1.2.19", "1.2.30", "1.3.2", "1.4.1",
                 "4.1.9",
                 # unscored but enforced by the collection: a fail, not a WARN
                 "1.2.27", "1.2.28", "1.2.29", "1.3.1", "2.7", "3.2.1", "4.2.12", "4.2.13", "4.2.14"}
KUBEADM_MANUAL = {"1.2.11", "1.2.20", "4.2.7", "4.2.9", "4.3.1"}
KUBEADM_NA = {"1.1.9", "1.1.10", "4.1.3", "4.1.4"}
KUBEADM_NA |= set(c["id"] for c in cis.CONTROLS if c["target"]["type"] == "cluster")   # section 5: the cluster row


@pytest.mark.parametrize("ctl", cis.controls("cis-1.12"), ids=lambda c: c["id"])
def test_kubeadm_defaults(ctl):
    node = kubeadm_node()
    node["encryption"] = {"letter_provider": None, "secrets_provider": None}
    node["ca_fingerprints"]["etcd_ca"] = node["ca_fingerprints"]["cluster_ca"] if ctl["id"] == "2.7" else "CC"
    res = cis.evaluate(ctl, node)
    cid = ctl["id"]
    if cid in KUBEADM_FAILS:
        expected = "fail"
    elif cid in KUBEADM_MANUAL:
        expected = "manual"
    elif cid in KUBEADM_NA:
        expected = "not_applicable"
    else:
        expected = "pass"
    assert res["status"] == expected, (cid, res)


# A change to the kubeadm node that makes each passing control fail (and each failing one pass is
# covered by the remedies test below): proof the evaluation looks at the data.
def _set_flag(comp, name, value):
    def f(node):
        if value is None:
            node["components"][comp]["flags"].pop(name, None)
        else:
            node["components"][comp]["flags"][name] = value
    return f


def _set_kubelet(path, value):
    def f(node):
        cur = node["kubelet"]["config"]
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return f


def _set_file(cid, **fields):
    def f(node):
        for entry in node["files"][cid]:
            entry.update(fields)
    return f


BREAKERS = {
    "1.1.1": _set_file("1.1.1", mode="644"), "1.1.2": _set_file("1.1.2", owner="kube"),
    "1.1.3": _set_file("1.1.3", mode="640"), "1.1.4": _set_file("1.1.4", group="kube"),
    "1.1.5": _set_file("1.1.5", mode="660"), "1.1.6": _set_file("1.1.6", owner="nobody"),
    "1.1.7": _set_file("1.1.7", mode="604"), "1.1.8": _set_file("1.1.8", group="etcd"),
    "1.1.11": _set_file("1.1.11", mode="750"), "1.1.13": _set_file("1.1.13", mode="640"),
    "1.1.14": _set_file("1.1.14", owner="ubuntu"), "1.1.15": _set_file("1.1.15", mode="644"),
    "1.1.16": _set_file("1.1.16", owner="kube"), "1.1.17": _set_file("1.1.17", mode="644"),
    "1.1.18": _set_file("1.1.18", group="kube"), "1.1.19": _set_file("1.1.19", group="kube-cert"),
    "1.1.20": _set_file("1.1.20", mode="664"), "1.1.21": _set_file("1.1.21", mode="640"),
    "1.2.2": _set_flag("kube-apiserver", "token-auth-file", "/etc/tokens.csv"),
    "1.2.4": _set_flag("kube-apiserver", "kubelet-client-key", None),
    "1.2.6": _set_flag("kube-apiserver", "authorization-mode", "AlwaysAllow"),
    "1.2.7": _set_flag("kube-apiserver", "authorization-mode", "RBAC"),
    "1.2.8": _set_flag("kube-apiserver", "authorization-mode", "Node"),
    "1.2.10": _set_flag("kube-apiserver", "enable-admission-plugins", "NodeRestriction,AlwaysAdmit"),
    "1.2.12": _set_flag("kube-apiserver", "disable-admission-plugins", "ServiceAccount"),
    "1.2.13": _set_flag("kube-apiserver", "disable-admission-plugins", "NamespaceLifecycle"),
    "1.2.14": _set_flag("kube-apiserver", "enable-admission-plugins", "AlwaysPullImages"),
    "1.2.21": _set_flag("kube-apiserver", "service-account-lookup", "false"),
    "1.2.22": _set_flag("kube-apiserver", "service-account-key-file", None),
    "1.2.23": _set_flag("kube-apiserver", "etcd-certfile", None),
    "1.2.24": _set_flag("kube-apiserver", "tls-private-key-file", None),
    "1.2.25": _set_flag("kube-apiserver", "client-ca-file", None),
    "1.2.26": _set_flag("kube-apiserver", "etcd-cafile", None),
    "1.3.3": _set_flag("kube-controller-manager", "use-service-account-credentials", "false"),
    "1.3.4": _set_flag("kube-controller-manager", "service-account-private-key-file", None),
    "1.3.5": _set_flag("kube-controller-manager", "root-ca-file", None),
    "1.3.6": _set_flag("kube-controller-manager", "feature-gates", "RotateKubeletServerCertificate=false"),
    "1.3.7": _set_flag("kube-controller-manager", "bind-address", "0.0.0.0"),
    "1.4.2": _set_flag("kube-scheduler", "bind-address", "0.0.0.0"),
    "2.1": _set_flag("etcd", "key-file", None), "2.2": _set_flag("etcd", "client-cert-auth", "false"),
    "2.3": _set_flag("etcd", "auto-tls", "true"), "2.4": _set_flag("etcd", "peer-cert-file", None),
    "2.5": _set_flag("etcd", "peer-client-cert-auth", None), "2.6": _set_flag("etcd", "peer-auto-tls", "true"),
    "2.7": _set_flag("etcd", "trusted-ca-file", None),
    "4.1.1": _set_file("4.1.1", mode="644"), "4.1.2": _set_file("4.1.2", owner="kube"),
    "4.1.5": _set_file("4.1.5", mode="644"), "4.1.6": _set_file("4.1.6", group="kube"),
    "4.1.7": _set_file("4.1.7", mode="666"), "4.1.8": _set_file("4.1.8", owner="kube"),
    "4.1.10": _set_file("4.1.10", owner="kube"),
    "4.2.1": _set_kubelet("authentication.anonymous.enabled", True),
    "4.2.2": _set_kubelet("authorization.mode", "AlwaysAllow"),
    "4.2.3": _set_kubelet("authentication.x509.clientCAFile", None),
    "4.2.4": _set_kubelet("readOnlyPort", 10255),
    "4.2.5": _set_kubelet("streamingConnectionIdleTimeout", 0),
    "4.2.6": _set_kubelet("makeIPTablesUtilChains", False),
    "4.2.8": _set_kubelet("eventRecordQPS", -1),
    "4.2.10": _set_kubelet("rotateCertificates", False),
    "4.2.11": _set_kubelet("featureGates.RotateKubeletServerCertificate", False),
}


@pytest.mark.parametrize("cid", sorted(BREAKERS, key=lambda x: tuple(int(p) for p in x.split("."))))
def test_breaking_a_passing_control_fails_it(cid):
    node = kubeadm_node()
    assert status_of(node, cid)["status"] == "pass"
    BREAKERS[cid](node)
    res = status_of(node, cid)
    expected = "fail" if (cis.get_control(cid)["scored"] or cis.get_control(cid)["enforced_by"]) else "manual"
    assert res["status"] == expected, res
    assert res["letter"] == "fail"
    assert res["observed"]


def test_every_pass_control_has_a_breaker():
    node = kubeadm_node()
    passing = [c["id"] for c in cis.controls("cis-1.12") if cis.evaluate(c, node)["status"] == "pass"]
    missing = [cid for cid in passing if cid not in BREAKERS]
    assert missing == [], "add a failing case for %s" % missing


# ---------------------------------------------------------------- remedies make kubeadm pass

def test_kubeadm_manifests_fail_profiling_and_remedies_fix_them():
    node = kubeadm_node()
    assert status_of(node, "1.2.15")["status"] == "fail"
    for comp in cis.COMPONENTS:
        path = os.path.join(FIXTURES, "manifests", comp + ".yaml")
        with open(path) as handle:
            doc = load(handle.read())
        contrib = cis.static_pod_contribution(comp)
        new, _changes = apply(doc, flags=contrib["flags"], absent_flags=contrib["absent_flags"],
                              list_remove=contrib["list_remove"])
        node["components"][comp]["flags"] = get_flags(new)
    node["kubelet"]["config"] = cis._deep_merge(node["kubelet"]["config"], cis.remedies("kubelet"))
    for entry in cis.remedies("file"):
        for cid in entry["ids"]:
            for stat in node["files"][cid]:
                if stat.get("exists", True):
                    if entry["mode"]:
                        stat["mode"] = entry["mode"].lstrip("0")
                    if entry["owner"]:
                        stat["owner"], stat["group"] = entry["owner"], entry["group"]
    node["encryption"] = {"letter_provider": "secretbox", "secrets_provider": "secretbox"}
    node["components"]["kube-apiserver"]["flags"]["encryption-provider-config"] = "/etc/kubernetes/enc/enc.yaml"
    results = dict((r["id"], r) for r in cis.evaluate_node(node))
    for ctl in cis.controls("cis-1.12"):
        if ctl["remedy"]:
            expected = ("pass", "not_applicable") if ctl["missing"] == "not_applicable" else ("pass",)
            assert results[ctl["id"]]["status"] in expected, (ctl["id"], results[ctl["id"]])
    assert results["1.2.15"]["status"] == "pass"
    # still failing after the table's remedies: 1.1.12 and 1.2.5 are opt-in; 1.2.1, 1.2.3 and 1.2.9 are
    # written by the control_plane role from its own variables (version-dependent / need a config file)
    failing = sorted(cid for cid, r in results.items() if r["status"] == "fail")
    assert failing == ["1.1.12", "1.2.1", "1.2.3", "1.2.5", "1.2.9"]


def test_remedy_values():
    api = cis.remedies("flag", "kube-apiserver")
    assert api["profiling"] == "false"
    assert api["service-account-extend-token-expiration"] == "false"
    assert api["audit-log-maxage"] == "30"
    assert api["enable-admission-plugins"] == ["NodeRestriction"]
    assert cis.remedies("flag", "kube-controller-manager") == {
        "terminated-pod-gc-threshold": "12500", "profiling": "false",
        "use-service-account-credentials": "true", "bind-address": "127.0.0.1"}
    assert cis.remedies("flag", "kube-scheduler") == {"profiling": "false", "bind-address": "127.0.0.1"}
    assert cis.remedies("flag", "etcd") == {"client-cert-auth": "true", "auto-tls": "false",
                                            "peer-client-cert-auth": "true", "peer-auto-tls": "false"}
    kub = cis.remedies("kubelet")
    assert kub["authentication"]["anonymous"]["enabled"] is False
    assert kub["readOnlyPort"] == 0 and kub["seccompDefault"] is True
    assert "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" in kub["tlsCipherSuites"]
    assert cis.remedies("encryption") == {}


def test_remedies_per_benchmark():
    assert "service-account-extend-token-expiration" not in cis.remedies("flag", "kube-apiserver", benchmark="cis-1.10")
    assert "seccompDefault" not in cis.remedies("kubelet", benchmark="cis-1.10")
    crt = [e for e in cis.remedies("file", benchmark="cis-1.10") if e.get("pattern") == "*.crt"]
    assert crt[0]["mode"] == "0600"


def test_file_remedies_follow_node_paths():
    entries = cis.remedies("file", paths={"pki_dir": "/srv/pki", "kubelet_dropins": ["/a.conf", "/b.conf"]})
    paths = [e["path"] for e in entries]
    assert "/srv/pki" in paths and "/a.conf" in paths and "/b.conf" in paths
    keys = [e for e in entries if e.get("pattern") == "*.key"][0]
    assert keys == {"path": "/srv/pki", "mode": "0600", "owner": None, "group": None, "ids": ["1.1.21"],
                    "recurse": True, "pattern": "*.key", "include_dir": False}
    manifest = cis.remedies("file", component="etcd")
    assert [e["path"] for e in manifest] == ["/etc/kubernetes/manifests/etcd.yaml"]


def test_remedies_flag_needs_component():
    with pytest.raises(cis.CISError, match="component"):
        cis.remedies("flag")
    with pytest.raises(cis.CISError, match="unknown CIS target type"):
        cis.remedies("flags", "etcd")
    with pytest.raises(cis.CISError, match="unknown component"):
        cis.remedies("flag", "kube-proxy")


# ---------------------------------------------------------------- waivers

def test_waiver_excludes_remedy_and_violation():
    w = {"1.2.15": "profiling needed by our APM"}
    assert "profiling" not in cis.remedies("flag", "kube-apiserver", waivers=w)
    desired = dict(cis.remedies("flag", "kube-apiserver", waivers=w), profiling="true")
    assert cis.violations(desired, "flag", "kube-apiserver", waivers=w) == []
    assert [v["id"] for v in cis.violations(desired, "flag", "kube-apiserver")] == ["1.2.15"]
    node = kubeadm_node()
    res = status_of(node, "1.2.15", waivers=w)
    assert res["status"] == "waived"
    assert "profiling needed by our APM" in res["reason"] and "would be fail" in res["reason"]


def test_waiver_on_not_applicable_stays_not_applicable():
    node = kubeadm_node(roles=("worker",))
    assert status_of(node, "1.2.15", waivers={"1.2.15": "x"})["status"] == "not_applicable"


@pytest.mark.parametrize("waivers,match", [
    (["1.2.15"], "must be a dict"),
    ({"9.9": "x"}, "unknown CIS control id"),
    ({"1.2.15": ""}, "non-empty"),
    ({"1.2.15": None}, "non-empty"),
])
def test_bad_waivers(waivers, match):
    with pytest.raises(cis.CISError, match=match) as err:
        cis.check_waivers(waivers)
    assert "k8s_hardening_waivers" in str(err.value)


# ---------------------------------------------------------------- violations

def test_violations_flag():
    desired = cis.remedies("flag", "kube-apiserver")
    assert cis.violations(desired, "flag", "kube-apiserver") == []
    desired["profiling"] = "true"
    desired["audit-log-maxage"] = "7"
    found = cis.violations(desired, "flag", "kube-apiserver")
    assert [v["id"] for v in found] == ["1.2.15", "1.2.17"]
    assert found[1]["observed"] == {"--audit-log-maxage": "7"}
    assert "k8s_hardening_waivers" in found[0]["message"]


def test_violations_list_flag():
    desired = cis.remedies("flag", "kube-apiserver")
    desired["enable-admission-plugins"] = ["NodeRestriction", "AlwaysAdmit"]
    assert [v["id"] for v in cis.violations(desired, "flag", "kube-apiserver")] == ["1.2.10"]


def test_violations_kubelet_letter_and_intent():
    desired = cis.remedies("kubelet")
    assert cis.violations(desired, "kubelet") == []
    desired["tlsCipherSuites"] = ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]   # canonical name: not in 4.2.12 list
    desired["podPidsLimit"] = -1                                                   # letter passes, intent fails
    found = dict((v["id"], v) for v in cis.violations(desired, "kubelet"))
    assert sorted(found) == ["4.2.12", "4.2.13"]
    assert "> 0" in found["4.2.13"]["expected"]


def test_violations_file():
    desired = [{"path": "/etc/kubernetes/manifests/etcd.yaml", "mode": "0644", "owner": "root", "group": "root"},
               {"path": "/etc/kubernetes/pki/etcd/ca.key", "mode": "0640"},
               {"path": "/etc/kubernetes/pki/ca.crt", "mode": "0644"}]
    found = [(v["id"], v["observed"]) for v in cis.violations(desired, "file")]
    assert found == [("1.1.7", {"mode": "644"}), ("1.1.21", {"mode": "640"})]
    assert [v["id"] for v in cis.violations(desired, "file", benchmark="cis-1.10")] == ["1.1.7", "1.1.20", "1.1.21", "4.1.7"]


def test_violations_bad_desired():
    with pytest.raises(cis.CISError):
        cis.violations([], "kubelet")
    with pytest.raises(cis.CISError):
        cis.violations({}, "file")


# ---------------------------------------------------------------- letter vs intent

ENC_TRAILING_IDENTITY = """\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - secretbox:
          keys:
            - name: key1
              secret: c2VjcmV0IGlzIHNlY3VyZSwgb3IgaXMgaXQ/IGl0IGlzIGEgdGVzdA==
      - identity: {}
  - resources:
      - events
    providers:
      - identity: {}
"""

ENC_AESGCM = ENC_TRAILING_IDENTITY.replace("secretbox", "aesgcm").replace(
    "  - resources:\n      - events\n    providers:\n      - identity: {}\n", "")

ENC_IDENTITY_FIRST = """\
resources:
  - resources: [secrets]
    providers:
      - identity: {}
      - aescbc:
          keys: [{name: k, secret: c2VjcmV0}]
"""


@pytest.mark.parametrize("text,letter,secrets", [
    (ENC_TRAILING_IDENTITY, "identity", "secretbox"),
    (ENC_AESGCM, "aesgcm", "aesgcm"),
    (ENC_IDENTITY_FIRST, "identity", "identity"),
    ("resources: []\n", None, None),
])
def test_encryption_providers(text, letter, secrets):
    got = cis.encryption_providers(text)
    assert (got["letter_provider"], got["secrets_provider"]) == (letter, secrets)


def test_encryption_providers_bad_yaml():
    assert "invalid YAML" in cis.encryption_providers("providers:\n - [unclosed")["error"]


@pytest.mark.parametrize("text,status,letter,intent", [
    (ENC_TRAILING_IDENTITY, "pass", "fail", "pass"),    # kube-bench misreads it; Secrets are encrypted
    (ENC_AESGCM, "pass", "fail", "pass"),               # aesgcm not in kube-bench's list
    (ENC_IDENTITY_FIRST, "fail", "fail", "fail"),
    (ENC_TRAILING_IDENTITY.split("  - resources:\n      - events")[0], "pass", "pass", "pass"),
])
def test_1_2_28_letter_and_intent(text, status, letter, intent):
    node = kubeadm_node()
    node["encryption"] = cis.encryption_providers(text)
    res = status_of(node, "1.2.28")
    assert (res["status"], res["letter"], res["intent"]) == (status, letter, intent)
    if letter == "fail":
        assert "kube-bench letter fails" in res["reason"]


@pytest.mark.parametrize("fps,status,intent", [
    ({"cluster_ca": "AA", "front_proxy_ca": "BB", "etcd_ca": "CC"}, "pass", "pass"),
    ({"cluster_ca": "AA", "front_proxy_ca": "BB", "etcd_ca": "AA"}, "fail", "fail"),
    ({"cluster_ca": "AA", "front_proxy_ca": "BB", "etcd_ca": "BB"}, "fail", "fail"),
    ({"cluster_ca": "AA", "front_proxy_ca": "BB"}, "fail", "fail"),
])
def test_2_7_letter_and_intent(fps, status, intent):
    node = kubeadm_node()
    node["ca_fingerprints"] = fps
    res = status_of(node, "2.7")
    assert res["letter"] == "pass"      # --trusted-ca-file is set in every case
    assert (res["status"], res["intent"]) == (status, intent)


def test_4_2_13_letter_passes_minus_one_intent_does_not():
    node = kubeadm_node()
    node["kubelet"]["config"]["podPidsLimit"] = -1
    res = status_of(node, "4.2.13")
    assert (res["letter"], res["intent"], res["status"]) == ("pass", "fail", "fail")
    node["kubelet"]["config"]["podPidsLimit"] = 4096
    assert status_of(node, "4.2.13")["status"] == "pass"


# ---------------------------------------------------------------- applicability

def test_worker_gets_not_applicable_for_control_plane_sections():
    node = kubeadm_node(roles=("worker",))
    results = cis.evaluate_node(node)
    for row in results:
        if row["id"].startswith(("1.", "2.", "3.")):
            assert row["status"] == "not_applicable", row
    assert dict((r["id"], r["status"]) for r in results)["4.2.1"] == "pass"


def test_external_etcd_makes_section_2_not_applicable():
    node = kubeadm_node()
    node["components"]["etcd"] = {"present": False}
    res = status_of(node, "2.2")
    assert res["status"] == "not_applicable" and "etcd" in res["reason"]


def test_unreadable_manifest_fails():
    node = kubeadm_node()
    node["components"]["kube-scheduler"] = {"present": True, "error": "flag --profiling given twice"}
    res = status_of(node, "1.4.1")
    assert res["status"] == "fail" and "given twice" in res["reason"]


def test_missing_file_policies():
    node = kubeadm_node()
    node["files"]["1.1.15"] = [{"path": "/etc/kubernetes/scheduler.conf", "exists": False}]
    assert status_of(node, "1.1.15")["status"] == "fail"
    node["files"]["4.1.1"] = [{"path": "/x/10-kubeadm.conf", "exists": False}]
    assert status_of(node, "4.1.1")["status"] == "pass"          # kube-bench: "File not found" passes 4.1.2/4.1.1
    node["files"].pop("1.1.16")
    assert status_of(node, "1.1.16")["status"] == "fail"          # nothing gathered is never a pass


def test_systemd_4_2_15_only_in_1_11():
    node = kubeadm_node()
    assert status_of(node, "4.2.15", benchmark="cis-1.11")["status"] == "manual"
    node["systemd"]["kubelet"]["IPAddressDeny"] = "any"
    assert status_of(node, "4.2.15", benchmark="cis-1.11")["status"] == "pass"


def test_manual_1_2_20_shows_value():
    node = kubeadm_node()
    node["components"]["kube-apiserver"]["flags"]["request-timeout"] = "60s"
    res = status_of(node, "1.2.20")
    assert res["status"] == "manual" and res["observed"] == "--request-timeout=60s"


def test_file_targets_resolve_dropins_and_dirs():
    targets = cis.file_targets(paths={"kubelet_dropins": ["/etc/a.conf", "/etc/b.conf"], "cni_conf_dir": "/x/cni"})
    assert targets["4.1.1"]["paths"] == ["/usr/lib/systemd/system/kubelet.service", "/etc/a.conf", "/etc/b.conf"]
    assert [d["dir"] for d in targets["1.1.9"]["dirs"]] == ["/x/cni", "/var/lib/cni/networks"]
    assert targets["1.1.19"]["dirs"][0]["include_dir"] is True


@pytest.mark.parametrize("flags,status,letter,intent", [
    ({"anonymous-auth": "false"}, "pass", "pass", "pass"),
    ({"authentication-config": "/etc/kubernetes/authentication/authentication-config.yaml"}, "pass", "fail", "pass"),
    ({}, "fail", "fail", "fail"),
])
def test_1_2_1_health_only_authentication_config(flags, status, letter, intent):
    node = kubeadm_node()
    node["components"]["kube-apiserver"]["flags"].update(flags)
    res = status_of(node, "1.2.1")
    assert (res["status"], res["letter"], res["intent"]) == (status, letter, intent)


# ---------------------------------------------------------------- node helpers

def test_pem_fingerprints_match_openssl(tmp_path):
    import subprocess
    key = tmp_path / "k.pem"
    crt = tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-subj", "/CN=etcd-ca", "-days", "1"], check=True, capture_output=True)
    out = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout", "-fingerprint", "-sha256"],
                         check=True, capture_output=True, text=True).stdout
    expected = out.strip().split("=", 1)[1].replace(":", "").lower()
    text = crt.read_text()
    assert cis.pem_fingerprints(text) == [expected]
    assert cis.pem_fingerprints(text + text) == [expected, expected]      # a bundle
    assert cis.pem_fingerprints("garbage") == []


@pytest.mark.parametrize("fps,unique", [
    ({"etcd_ca": ["E1", "E2"], "cluster_ca": ["C"], "front_proxy_ca": ["F"]}, "true"),
    ({"etcd_ca": ["E1", "C"], "cluster_ca": ["C"], "front_proxy_ca": ["F"]}, "false"),   # bundle trusts cluster CA
    ({"etcd_ca": [], "cluster_ca": ["C"]}, None),
])
def test_etcd_ca_fields_lists(fps, unique):
    assert cis.etcd_ca_fields(fps) == {"etcd_ca_unique": unique}


@pytest.mark.parametrize("path,expected", [
    ("/etc/kubernetes/enc/enc.yaml", "/srv/enc/enc.yaml"),           # longest mountPath wins
    ("/etc/kubernetes/enc", "/srv/enc"),
    ("/etc/kubernetes/pki/etcd/ca.crt", "/etc/kubernetes/pki/etcd/ca.crt"),
    ("/etc/kubernetes/admin.conf", "/opt/k8s/admin.conf"),
    ("/etc/kubernetesX/file", "/etc/kubernetesX/file"),              # not a path prefix
    ("/other/file", "/other/file"),
])
def test_host_path(path, expected):
    vols = [{"mountPath": "/etc/kubernetes/pki", "hostPath": "/etc/kubernetes/pki"},
            {"mountPath": "/etc/kubernetes/enc/", "hostPath": "/srv/enc"},
            {"mountPath": "/etc/kubernetes", "hostPath": "/opt/k8s"},
            {"mountPath": "/x", "hostPath": None}]
    assert cis.host_path(path, vols) == expected


def test_systemd_property():
    unit = "[Service]\nIPAddressDeny=any\n"
    dropin = "[Service]\nIPAddressDeny=\nIPAddressDeny=10.0.0.0/8\n"
    assert cis.systemd_property([unit], "IPAddressDeny") == "any"
    assert cis.systemd_property([unit, dropin], "IPAddressDeny") == "10.0.0.0/8"
    assert cis.systemd_property(["[Service]\n"], "IPAddressDeny") is None


def test_unreadable_kubelet_config_fails_kubelet_controls():
    node = kubeadm_node()
    node["kubelet"]["error"] = "invalid YAML in /var/lib/kubelet/config.yaml: ..."
    res = status_of(node, "4.2.1")
    assert res["status"] == "fail" and "invalid YAML" in res["reason"]
