"""The cluster_policies decisions (_cluster_policy.py): namespace selection, Pod Security labels that never
loosen, refusals from the dry-run warnings and the pods' own evaluation, desired objects and what differs,
the CNI, and the service-account, workload and hygiene findings."""
import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _cluster_policy as cp

P = cp.PSA_PREFIX
LEVELS = {"enforce": "baseline", "audit": "restricted", "warn": "restricted"}


def ns(name, labels=None, phase="Active"):
    return {"kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}, "status": {"phase": phase}}


def pod(name, namespace="team", spec=None, kind="Pod", **meta):
    md = {"name": name, "namespace": namespace}
    md.update(meta)
    return {"kind": kind, "metadata": md, "spec": spec or {"containers": [{"name": "c", "image": "x"}]}}


RESTRICTED_CONTAINER = {"name": "c", "image": "x", "securityContext": {
    "allowPrivilegeEscalation": False, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]}}}


# ---------------------------------------------------------------- selection

@pytest.mark.parametrize("names,selector,exclude,expected", [
    ([], None, [], ["a", "b", "kube-system", "team-x"]),
    ([], None, ["kube-*"], ["a", "b", "team-x"]),
    (["team-*", "a"], None, [], ["a", "team-x"]),
    ([], ["b", "team-x"], ["team-*"], ["b"]),
    (["a"], ["b"], [], []),
])
def test_select_namespaces(names, selector, exclude, expected):
    spaces = [ns("a"), ns("b"), ns("kube-system"), ns("team-x"), ns("gone", phase="Terminating")]
    assert cp.select_namespaces(spaces, names, selector, exclude) == expected


# ---------------------------------------------------------------- Pod Security labels

def test_plan_labels_a_bare_namespace_and_raises_enforce():
    plan = cp.psa_plan([ns("team")], ["team"], LEVELS)
    assert plan[0]["labels"] == {P + "enforce": "baseline", P + "enforce-version": "latest",
                                 P + "audit": "restricted", P + "audit-version": "latest",
                                 P + "warn": "restricted", P + "warn-version": "latest"}
    assert plan[0]["raise_enforce"] == ("privileged", "baseline")


def test_plan_never_loosens_stricter_labels_and_keeps_their_version():
    space = ns("strict", {P + "enforce": "restricted", P + "enforce-version": "v1.30", P + "warn": "restricted"})
    plan = cp.psa_plan([space], ["strict"], LEVELS)[0]
    assert P + "enforce" not in plan["labels"] and P + "enforce-version" not in plan["labels"]
    assert P + "warn" not in plan["labels"]
    assert plan["labels"] == {P + "audit": "restricted", P + "audit-version": "latest"}
    assert plan["kept"] == ["enforce=restricted (stricter than baseline)"]
    assert plan["raise_enforce"] is None


def test_plan_is_empty_when_converged():
    space = ns("team", dict((P + m, l) for m, l in LEVELS.items()))
    assert cp.psa_plan([space], ["team"], LEVELS)[0]["labels"] == {}


def test_plan_restores_a_loosened_label():
    space = ns("team", {P + "enforce": "privileged", P + "enforce-version": "latest",
                        P + "audit": "restricted", P + "warn": "restricted"})
    plan = cp.psa_plan([space], ["team"], LEVELS)[0]
    assert plan["labels"] == {P + "enforce": "baseline"}
    assert plan["raise_enforce"] == ("privileged", "baseline")


def test_operator_override_may_loosen_and_exempt_is_named():
    spaces = [ns("monitoring", {P + "enforce": "baseline"}), ns("kube-system")]
    plan = cp.psa_plan(spaces, ["monitoring"], LEVELS, overrides={"monitoring": {"enforce": "privileged"}},
                       exempt=["kube-system", "absent"])
    by = dict((p["namespace"], p) for p in plan)
    assert by["monitoring"]["labels"][P + "enforce"] == "privileged"
    assert by["kube-system"]["exempt"] and by["kube-system"]["labels"] == {}
    assert "absent" not in by


@pytest.mark.parametrize("levels", [{"enforce": "strict"}, {"enforce-it": "baseline"}, "baseline"])
def test_bad_levels_name_the_variable(levels):
    with pytest.raises(cp.PolicyError, match="cluster_policies_psa_levels"):
        cp.psa_plan([], [], levels)


def test_level_order():
    assert cp.stricter("baseline", "restricted") == "restricted"
    assert cp.stricter("baseline", None) == "baseline"
    assert cp.level_rank("nonsense") == 0


# ---------------------------------------------------------------- Pod Security Standards evaluation

def test_pss_baseline_and_restricted():
    priv = pod("p", spec={"hostNetwork": True, "containers": [{"name": "c", "securityContext": {"privileged": True},
                                                               "ports": [{"containerPort": 80, "hostPort": 80}]}],
                          "volumes": [{"name": "root", "hostPath": {"path": "/"}}]})
    bad = cp.pss_violations(priv, "baseline")
    assert any(b.startswith("host namespaces") for b in bad) and any(b.startswith("privileged") for b in bad)
    assert any(b.startswith("hostPath") for b in bad) and any(b.startswith("hostPort") for b in bad)
    assert cp.pss_violations(priv, "privileged") == []
    plain = pod("plain")
    assert cp.pss_violations(plain, "baseline") == []
    assert any("allowPrivilegeEscalation" in b for b in cp.pss_violations(plain, "restricted"))
    good = pod("good", spec={"containers": [RESTRICTED_CONTAINER]})
    assert cp.pss_violations(good, "restricted") == []
    caps = pod("caps", spec={"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]})
    assert cp.pss_violations(caps, "baseline") == ["non-default capabilities (SYS_ADMIN)"]


def test_pss_on_templates():
    deploy = {"kind": "Deployment", "metadata": {"name": "d", "namespace": "team"},
              "spec": {"template": {"spec": {"hostPID": True, "containers": [{"name": "c"}]}}}}
    cron = {"kind": "CronJob", "metadata": {"name": "j", "namespace": "team"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostIPC": True, "containers": [{"name": "c"}]}}}}}}
    assert cp.pss_violations(deploy, "baseline") == ["host namespaces (hostPID)"]
    assert cp.pss_violations(cron, "baseline") == ["host namespaces (hostIPC)"]


# ---------------------------------------------------------------- refusals

WARNINGS = ['existing pods in namespace "team" violate the new PodSecurity enforce level "baseline:latest"',
            "priv: privileged", "web-1 (and 3 other pods): host namespaces, hostPath volumes"]


def test_warning_parsing():
    got = cp.psa_warning_pods(WARNINGS)
    assert got == {"pods": ["priv", "web-1"], "others": 3, "violation": True}
    assert cp.psa_warning_pods([WARNINGS[0]]) == {"pods": [], "others": 0, "violation": True}
    assert cp.psa_warning_pods([]) == {"pods": [], "others": 0, "violation": False}


def test_refusal_names_pods_from_both_sources_and_accepting_lifts_it():
    plan = cp.psa_plan([ns("team"), ns("other")], ["team", "other"], LEVELS)
    pods = [pod("priv", spec={"containers": [{"name": "c", "securityContext": {"privileged": True}}]}),
            pod("done", spec={"hostPID": True, "containers": [{"name": "c"}]}),
            pod("ok")]
    pods[1]["status"] = {"phase": "Succeeded"}
    refused = cp.psa_refusals(plan, pods, {"team": WARNINGS})
    assert [r["namespace"] for r in refused] == ["team"]
    assert refused[0]["message"] == ("namespace team: raising Pod Security enforce to baseline would reject priv, "
                                     "web-1 and 3 other pods")
    assert cp.psa_refusals(plan, pods, {"team": WARNINGS}, accept=True) == []
    assert cp.psa_refusals(plan, pods, {"team": WARNINGS}, accept=["team"]) == []
    assert cp.psa_refusals(plan, pods, {"team": WARNINGS}, accept=["other"])


def test_refusal_on_the_api_headline_alone():
    # kubernetes.core splits the Warning header at ", ": pod lines listing several violations can be lost
    plan = cp.psa_plan([ns("team")], ["team"], LEVELS)
    refused = cp.psa_refusals(plan, [], {"team": WARNINGS[:1]})
    assert refused and "pods the API server did not name" in refused[0]["message"]


def test_no_refusal_without_a_raise():
    space = ns("team", dict((P + m, l) for m, l in LEVELS.items()))
    plan = cp.psa_plan([space], ["team"], LEVELS)
    priv = pod("priv", spec={"containers": [{"name": "c", "securityContext": {"privileged": True}}]})
    assert cp.psa_refusals(plan, [priv], {}) == []


# ---------------------------------------------------------------- objects

def test_network_policies():
    pols = cp.network_policies("team")
    assert [p["metadata"]["name"] for p in pols] == ["k8s-hardening-default-deny", "k8s-hardening-allow-dns"]
    assert pols[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress = pols[1]["spec"]["egress"][0]
    assert egress["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert egress["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    # metadata deny only where egress is open; with egress denied, nothing reaches it already
    assert [p["metadata"]["name"] for p in cp.network_policies("team", deny_metadata=True)] == [
        "k8s-hardening-default-deny", "k8s-hardening-allow-dns"]
    ingress_only = cp.network_policies("team", policy_types=["Ingress"], deny_metadata=True)
    assert [p["metadata"]["name"] for p in ingress_only] == ["k8s-hardening-default-deny", "k8s-hardening-deny-metadata"]
    assert ingress_only[1]["spec"]["egress"][0]["to"][0]["ipBlock"]["except"] == ["169.254.169.254/32"]


def test_pending_ignores_server_fields_and_finds_drift():
    desired = cp.network_policies("team") + [cp.default_sa_patch("team"), cp.limit_range("team", "256Mi")]
    existing = []
    for obj in desired:
        have = dict(obj, metadata=dict(obj["metadata"], uid="u", resourceVersion="1", labels=dict(
            obj["metadata"].get("labels") or {}, extra="kept")))
        existing.append(have)
    existing[2]["secrets"] = []
    assert cp.pending(desired, existing) == []
    assert [p["action"] for p in cp.pending(desired, existing[1:])] == ["create"]
    existing[2]["automountServiceAccountToken"] = True
    drift = cp.pending(desired, existing)
    assert [(p["action"], p["ref"]) for p in drift] == [("update", "ServiceAccount team/default")]
    lr = cp.limit_range("team", "256Mi", max_ratio=True)
    assert lr["spec"]["limits"][0] == {"type": "Container", "default": {"memory": "256Mi"},
                                       "defaultRequest": {"memory": "256Mi"}, "maxLimitRequestRatio": {"memory": "1"}}


def test_pending_numbers_and_strings():
    want = {"kind": "X", "metadata": {"name": "a"}, "spec": {"port": 53}}
    assert cp.pending([want], [{"kind": "X", "metadata": {"name": "a"}, "spec": {"port": "53"}}]) == []


# ---------------------------------------------------------------- CNI

@pytest.mark.parametrize("names,cni,enforces", [
    (["calico-node", "kube-proxy"], "calico", True),
    (["kube-flannel-ds"], "flannel", False),
    (["kube-flannel-ds", "canal"], "canal", True),
    (["kube-proxy"], None, None),
])
def test_detect_cni(names, cni, enforces):
    ds = [{"metadata": {"name": n, "namespace": "kube-system"}} for n in names]
    got = cp.detect_cni(ds, [])
    assert (got["name"], got["enforces_network_policy"]) == (cni, enforces)
    assert got["evidence"]


def test_detect_cni_from_pod_labels():
    pods = [{"metadata": {"name": "x-abc", "labels": {"k8s-app": "cilium"}}}]
    assert cp.detect_cni([], pods)["name"] == "cilium"


# ---------------------------------------------------------------- findings

def test_service_account_findings():
    sas = [{"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "team"}},
           {"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "done"},
            "automountServiceAccountToken": False},
           {"kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "team"}}]
    pods = [pod("a"), pod("b", spec={"serviceAccountName": "api", "containers": [{"name": "c"}]}),
            pod("c", spec={"automountServiceAccountToken": False, "containers": [{"name": "c"}]}),
            pod("d", namespace="done")]
    secrets = [{"kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": {"name": "old", "namespace": "team",
                             "annotations": {"kubernetes.io/service-account.name": "api"}}},
               {"kind": "Secret", "type": "Opaque", "metadata": {"name": "x", "namespace": "team"}}]
    out = cp.service_account_findings(["team", "done"], sas, pods, secrets, [["team", "api"]], managed=["team"])
    got = [(f["check"], f["object"]) for f in out]
    assert got == [("default_sa", "ServiceAccount team/default"), ("token_mounts", "Pod team/a"),
                   ("token_mounts", "Pod team/b"), ("legacy_token", "Secret team/old")]
    assert out[0]["enforced"] is True
    assert "looks unneeded" in out[1]["detail"] and "looks unneeded" not in out[2]["detail"]


def test_workload_findings_and_hygiene():
    env = pod("env", spec={"containers": [RESTRICTED_CONTAINER.copy() | {
        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
        "envFrom": [{"secretRef": {"name": "all"}}]}], "securityContext": {"runAsNonRoot": True}})
    sys_pod = pod("kube-proxy-x", namespace="kube-system", spec={"hostNetwork": True, "containers": [{"name": "c"}]})
    owned = pod("web-1", ownerReferences=[{"kind": "ReplicaSet", "name": "web", "controller": True}],
                spec={"hostPID": True, "containers": [{"name": "c"}]})
    objs = cp.workload_objects([env, sys_pod, owned], [])
    assert [o["metadata"]["name"] for o in objs] == ["env", "kube-proxy-x"]
    cms = [{"kind": "ConfigMap", "metadata": {"name": "app", "namespace": "team"},
            "data": {"db_password": "hunter2", "color": "blue", "tls": "-----BEGIN RSA PRIVATE KEY-----\nx"}},
           {"kind": "ConfigMap", "metadata": {"name": "plain", "namespace": "team"}, "data": {"a": "b"}}]
    default_objs = [{"kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default"}},
                    {"kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "default"}},
                    {"kind": "Deployment", "metadata": {"name": "app", "namespace": "default"}}]
    out = cp.workload_findings(objs, cms, default_objs, exempt=["kube-system"])
    by = dict(((f["check"], f["object"]), f) for f in out)
    assert "PW (Secret db key pw)" in by[("env_secrets", "Pod team/env")]["detail"]
    assert "envFrom Secret all" in by[("env_secrets", "Pod team/env")]["detail"]
    assert ("seccomp", "Pod team/env") not in by
    assert by[("host_network", "Pod kube-system/kube-proxy-x")]["counts"] is False
    cmf = by[("configmap_credentials", "ConfigMap team/app")]
    assert "db_password, tls" in cmf["detail"] and "hunter2" not in str(out)
    assert ("configmap_credentials", "ConfigMap team/plain") not in by
    assert [f["object"] for f in out if f["check"] == "default_namespace"] == ["Deployment default/app"]
    for f in out:
        assert f["why"], f


def test_namespace_findings():
    spaces = [ns("team", {P + "enforce": "baseline"}), ns("bare"), ns("kube-system")]
    pols = [{"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "team"}, "spec": {"podSelector": {}}},
            {"kind": "NetworkPolicy", "metadata": {"name": "some", "namespace": "bare"},
             "spec": {"podSelector": {"matchLabels": {"app": "x"}}}}]
    out = cp.namespace_findings(spaces, ["team", "bare"], pols, psa_managed=["bare"], netpol_managed=[],
                                cni={"name": "flannel", "enforces_network_policy": False, "evidence": "e"})
    got = dict(((f["check"], f["namespace"]), f) for f in out)
    assert ("policy_control", "team") not in got and ("network_policy", "team") not in got
    assert got[("policy_control", "bare")]["enforced"] is True
    assert got[("network_policy", "bare")]["enforced"] is False
    assert got[("policy_control", "kube-system")]["counts"] is False
    assert "flannel does not enforce NetworkPolicy" in [f for f in out if f["check"] == "cni"][0]["detail"]


def test_namespace_findings_name_a_loosened_enforce_label_as_drift():
    spaces = [ns("loose", {P + "enforce": "privileged"}), ns("team", {P + "enforce": "baseline"}),
              ns("strict", {P + "enforce": "restricted"}), ns("bogus", {P + "enforce": "lenient"}),
              ns("theirs", {P + "enforce": "privileged"})]
    managed = ["loose", "team", "strict", "bogus"]
    out = cp.namespace_findings(spaces, managed + ["theirs"], [], psa_managed=managed,
                                psa_enforce=dict((n, "baseline") for n in managed))
    got = dict((f["namespace"], f) for f in out if f["check"] == "policy_control")
    assert sorted(got) == ["bogus", "loose"]
    assert got["loose"]["enforced"] is True and got["loose"]["counts"] is True
    assert got["loose"]["detail"] == ("pod-security.kubernetes.io/enforce=privileged is looser than baseline, "
                                      "the level the role enforces here")
    assert "enforce=lenient" in got["bogus"]["detail"]
    # without the enforced levels (older callers) only a missing label is a finding
    assert not [f for f in cp.namespace_findings(spaces, managed, [], psa_managed=managed)
                if f["check"] == "policy_control"]
