"""RBAC analysis (_rbac.py) for CIS 5.1.x: wildcard semantics, bindings joined to subjects, built-ins
listed but not counted, anonymous bindings, system:masters kubeconfigs and audit events."""
import json

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _rbac as rbac

BOOT = {"kubernetes.io/bootstrapping": "rbac-defaults"}


def crole(name, rules, labels=None):
    return {"kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}}, "rules": rules}


def role(name, ns, rules):
    return {"kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules}


def crb(name, role_name, subjects, labels=None):
    return {"kind": "ClusterRoleBinding", "metadata": {"name": name, "labels": labels or {}},
            "roleRef": {"kind": "ClusterRole", "name": role_name}, "subjects": subjects}


def rb(name, ns, kind, role_name, subjects):
    return {"kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
            "roleRef": {"kind": kind, "name": role_name}, "subjects": subjects}


USER = [{"kind": "User", "name": "alice"}]
SA = [{"kind": "ServiceAccount", "name": "ci", "namespace": "build"}]


@pytest.mark.parametrize("rule,verbs,groups,resources,hit", [
    ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, ["get"], [""], ["secrets"], True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}, ["get", "list"], [""], ["secrets"], True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["secrets"]}, ["get"], [""], ["secrets"], False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["nodes/*"]}, ["get"], [""], ["nodes/proxy"], False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/proxy"]}, ["get"], [""], ["nodes/proxy"], True),
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["x"]},
     ["create"], [""], ["pods"], False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["one"]},
     ["get"], [""], ["secrets"], True),
    ({"verbs": ["impersonate"], "apiGroups": ["authentication.k8s.io"], "resources": ["userextras/scopes"]},
     ["impersonate"], ["authentication.k8s.io"], ["userextras/*"], True),
])
def test_rule_grants(rule, verbs, groups, resources, hit):
    assert bool(rbac.rule_grants(rule, verbs, groups, resources)) is hit


def test_analyse_finds_each_right_through_its_binding():
    roles = [crole("cluster-admin", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], BOOT),
             crole("test-wildcard", [{"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}]),
             crole("secret-reader", [{"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"]}]),
             crole("escalator", [{"verbs": ["escalate", "bind"], "apiGroups": ["rbac.authorization.k8s.io"],
                                  "resources": ["clusterroles"]}]),
             crole("approver", [{"verbs": ["update"], "apiGroups": ["certificates.k8s.io"],
                                 "resources": ["certificatesigningrequests/approval"]}]),
             crole("hooks", [{"verbs": ["patch"], "apiGroups": ["admissionregistration.k8s.io"],
                              "resources": ["mutatingwebhookconfigurations"]}]),
             crole("tokens", [{"verbs": ["create"], "apiGroups": [""], "resources": ["serviceaccounts/token"]}]),
             crole("pv", [{"verbs": ["create"], "apiGroups": [""], "resources": ["persistentvolumes"]}]),
             crole("proxy", [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes/proxy"]}])]
    binds = [crb("cluster-admin", "cluster-admin", [{"kind": "Group", "name": "system:masters"}], BOOT),
             crb("test-admins", "cluster-admin", USER),
             crb("readers", "secret-reader", [{"kind": "Group", "name": "system:authenticated"}]),
             crb("esc", "escalator", SA), crb("appr", "approver", SA), crb("hooks", "hooks", SA),
             crb("tok", "tokens", SA), crb("pv", "pv", SA), crb("proxy", "proxy", SA)]
    rbs = [rb("deployers", "team", "ClusterRole", "test-wildcard", SA)]
    out = rbac.analyse(roles, [], binds, rbs)
    got = set((f["check"], f["object"], f["counts"]) for f in out)
    assert ("cluster_admin", "ClusterRoleBinding test-admins", True) in got
    assert ("cluster_admin", "ClusterRoleBinding cluster-admin", False) in got
    assert ("wildcards", "ClusterRole test-wildcard", True) in got
    assert ("wildcards", "ClusterRole cluster-admin", False) in got
    assert ("secrets_access", "ClusterRoleBinding readers", True) in got
    assert ("create_pods", "RoleBinding team/deployers", True) in got
    for check, name in (("bind_escalate_impersonate", "esc"), ("csr_approval", "appr"), ("webhook_config", "hooks"),
                        ("sa_token_create", "tok"), ("create_pv", "pv"), ("nodes_proxy", "proxy")):
        assert (check, "ClusterRoleBinding " + name, True) in got, check
    admins = [f for f in out if f["object"] == "ClusterRoleBinding test-admins" and f["check"] == "cluster_admin"][0]
    assert admins["subjects"] == ["User:alice"] and admins["why"]
    deployers = [f for f in out if f["object"] == "RoleBinding team/deployers" and f["check"] == "create_pods"][0]
    assert "in namespace team" in deployers["detail"] and "ServiceAccount:build/ci" in deployers["detail"]


def test_anonymous_bindings_beyond_kubeadm_defaults():
    binds = [crb("system:public-info-viewer", "system:public-info-viewer",
                 [{"kind": "Group", "name": "system:unauthenticated"}], BOOT),
             crb("oops", "view", [{"kind": "User", "name": "system:anonymous"}])]
    rbs = [rb("kubeadm:bootstrap-signer-clusterinfo", "kube-public", "Role", "kubeadm:bootstrap-signer-clusterinfo",
              [{"kind": "User", "name": "system:anonymous"}])]
    out = [(f["object"], f["counts"]) for f in rbac.analyse([], [], binds, rbs) if f["check"] == "anonymous"]
    assert sorted(out) == [("ClusterRoleBinding oops", True),
                           ("ClusterRoleBinding system:public-info-viewer", False),
                           ("RoleBinding kube-public/kubeadm:bootstrap-signer-clusterinfo", False)]


def test_subjects_with_bindings():
    binds = [crb("a", "x", SA), rb("b", "team", "Role", "y", [{"kind": "ServiceAccount", "name": "app"}])]
    assert rbac.subjects_with_bindings(binds[:1], binds[1:]) == [["build", "ci"], ["team", "app"]]


def test_masters_from_certificates_not_versions():
    certs = [{"node": "cp1", "path": "/etc/kubernetes/admin.conf", "subject": "CN=kubernetes-admin,O=kubeadm:cluster-admins"},
             {"node": "cp1", "path": "/etc/kubernetes/super-admin.conf",
              "subject": "CN=kubernetes-super-admin,O=system:masters"},
             {"node": "cp2", "path": "/etc/kubernetes/admin.conf", "subject": "CN=kubernetes-admin,O=system:masters"}]
    out = rbac.masters_findings(certs, [{"node": "cp1", "path": "/a.log", "events": 2, "users": ["x"],
                                         "last": "2026-01-01T00:00:00Z"},
                                        {"node": "cp2", "path": "/a.log", "events": 0}])
    assert [f["object"] for f in out] == ["cp1:/etc/kubernetes/super-admin.conf", "cp2:/etc/kubernetes/admin.conf",
                                          "cp1:/a.log"]


def test_masters_audit_events():
    def ev(when, groups, stage="ResponseComplete", user="kubernetes-super-admin"):
        return json.dumps({"stage": stage, "requestReceivedTimestamp": when,
                           "user": {"username": user, "groups": groups}})
    lines = [ev("2026-01-01T00:00:00.1Z", ["system:masters"]),                      # bootstrap
             ev("2026-01-02T00:00:00.1Z", ["system:masters", "system:authenticated"]),
             ev("2026-01-02T00:00:00.1Z", ["system:masters"], stage="ResponseStarted"),
             ev("2026-01-03T00:00:00.1Z", ["kubeadm:cluster-admins"], user="kubernetes-admin"),
             ev("2026-01-03T00:00:00.1Z", ["system:masters"], user="system:apiserver"),   # loopback client
             "not json system:masters", ""]
    got = rbac.masters_audit_events(lines, since="2026-01-01T12:00:00Z")
    assert got == {"events": 1, "users": ["kubernetes-super-admin"], "last": "2026-01-02T00:00:00.1Z",
                   "bad_lines": 1}
    assert rbac.masters_audit_events(lines)["events"] == 2


def test_rfc3339_after():
    assert rbac.rfc3339_after("2026-01-01T23:30:00Z", 3600) == "2026-01-02T00:30:00Z"
    assert rbac.rfc3339_after("2026-01-01T00:00:00.123Z", 0) == "2026-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        rbac.rfc3339_after("yesterday", 1)
