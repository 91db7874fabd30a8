# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, may change
# without notice. No Ansible import here; unit-tested with pytest.
#
# RBAC analysis for CIS 5.1.1-5.1.13 on the Roles, ClusterRoles, RoleBindings
# and ClusterRoleBindings the role fetched with k8s_info: every rule expanded
# with RBAC's wildcard semantics, joined to its bindings' subjects. Kubernetes'
# own bootstrap objects (label kubernetes.io/bootstrapping=rbac-defaults) and
# kubeadm's are "built-in": listed, but they do not count against the cluster.
"""RBAC findings (who can do what) for CIS section 5.1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._cluster_policy import finding

# kubeadm's own RBAC objects (kubeadm init / join), by kind and name (namespace-scoped ones with their namespace).
KUBEADM_OBJECTS = frozenset([
    ("ClusterRoleBinding", None, "kubeadm:cluster-admins"),
    ("ClusterRoleBinding", None, "kubeadm:kubelet-bootstrap"),
    ("ClusterRoleBinding", None, "kubeadm:node-autoapprove-bootstrap"),
    ("ClusterRoleBinding", None, "kubeadm:node-autoapprove-certificate-rotation"),
    ("ClusterRoleBinding", None, "kubeadm:node-proxier"),
    ("ClusterRoleBinding", None, "kubeadm:get-nodes"),
    ("ClusterRole", None, "kubeadm:get-nodes"),
    ("Role", "kube-system", "kubeadm:kubelet-config"),
    ("Role", "kube-system", "kubeadm:nodes-kubeadm-config"),
    ("Role", "kube-system", "kube-proxy"),
    ("RoleBinding", "kube-system", "kubeadm:kubelet-config"),
    ("RoleBinding", "kube-system", "kubeadm:nodes-kubeadm-config"),
    ("RoleBinding", "kube-system", "kube-proxy"),
    ("Role", "kube-public", "kubeadm:bootstrap-signer-clusterinfo"),
    ("RoleBinding", "kube-public", "kubeadm:bootstrap-signer-clusterinfo"),
])
ANONYMOUS = ("system:anonymous", "system:unauthenticated")

WORKLOAD_RESOURCES = ("pods", "deployments", "daemonsets", "statefulsets", "replicasets", "jobs", "cronjobs",
                      "replicationcontrollers")

# check key -> (description, [(verbs, apiGroups, resources)]) ; any triple granted is a hit
CHECKS = (
    ("secrets_access", "can read Secrets", [(("get", "list", "watch"), ("",), ("secrets",))]),
    ("create_pods", "can create pods or workloads", [(("create",), ("", "apps", "batch"), WORKLOAD_RESOURCES)]),
    ("bind_escalate_impersonate", "can bind, escalate or impersonate", [
        (("bind", "escalate"), ("rbac.authorization.k8s.io",), ("roles", "clusterroles")),
        (("impersonate",), ("", "authentication.k8s.io"),
         ("users", "groups", "serviceaccounts", "uids", "userextras/*"))]),
    ("create_pv", "can create PersistentVolumes", [(("create",), ("",), ("persistentvolumes",))]),
    ("nodes_proxy", "can use the proxy sub-resource of nodes", [
        (("get", "create", "update", "patch", "delete"), ("",), ("nodes/proxy",))]),
    ("csr_approval", "can approve certificate signing requests", [
        (("update", "patch"), ("certificates.k8s.io",), ("certificatesigningrequests/approval",))]),
    ("webhook_config", "can change admission webhook configuration", [
        (("create", "update", "patch", "delete"), ("admissionregistration.k8s.io",),
         ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"))]),
    ("sa_token_create", "can create service-account tokens", [(("create",), ("",), ("serviceaccounts/token",))]),
)

_WHY = {
    "cluster_admin": "cluster-admin can do anything in the cluster; bind it only to break-glass identities "
                     "(CIS 5.1.1)",
    "secrets_access": "reading Secrets gives every credential they hold, service-account tokens included (CIS 5.1.2)",
    "wildcards": "a wildcard grants today's and every future resource or verb; name them (CIS 5.1.3)",
    "create_pods": "who can create pods can mount any Secret and ServiceAccount of the namespace, and run "
                   "privileged pods where Pod Security allows (CIS 5.1.4)",
    "bind_escalate_impersonate": "bind, escalate and impersonate let a subject gain permissions it does not hold "
                                 "(CIS 5.1.8)",
    "create_pv": "a PersistentVolume can point at a hostPath: node file system access (CIS 5.1.9)",
    "nodes_proxy": "nodes/proxy reaches the kubelet API directly (exec into any pod, past audit and admission) "
                   "(CIS 5.1.10)",
    "csr_approval": "approving CSRs can mint client certificates for any identity, system:masters included "
                    "(CIS 5.1.11)",
    "webhook_config": "admission webhooks see and can change every object, Secrets included (CIS 5.1.12)",
    "sa_token_create": "creating service-account tokens yields the permissions of any account in reach (CIS 5.1.13)",
    "anonymous": "bindings to system:anonymous or system:unauthenticated open the API to anyone who reaches it",
    "system_masters": "system:masters bypasses RBAC entirely and cannot be revoked short of rotating the CA; it "
                      "must be a break-glass identity only (CIS 5.1.7)",
}


def why(check):
    return _WHY.get(check, "")


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def builtin(obj, kind):
    """Kubernetes' bootstrap RBAC object or kubeadm's own."""
    meta = _meta(obj)
    if (meta.get("labels") or {}).get("kubernetes.io/bootstrapping") == "rbac-defaults":
        return True
    return (kind, meta.get("namespace"), meta.get("name")) in KUBEADM_OBJECTS or \
        (kind in ("ClusterRole", "ClusterRoleBinding") and meta.get("name") == "cluster-admin")


def _subject(sub):
    kind = sub.get("kind", "?")
    if kind == "ServiceAccount":
        return "ServiceAccount:%s/%s" % (sub.get("namespace", "?"), sub.get("name"))
    return "%s:%s" % (kind, sub.get("name"))


def _resource_matches(rule_resources, resource):
    base, _sep, sub = resource.partition("/")
    for res in rule_resources:
        if res == "*" or res == resource:
            return True
        if sub and res == "*/" + sub:
            return True
        if sub == "*" and res.startswith(base + "/"):
            return True
    return False


def rule_grants(rule, verbs, groups, resources):
    """The (verb, resource) pairs of the request triples that one PolicyRule grants."""
    rverbs = rule.get("verbs") or []
    rgroups = rule.get("apiGroups") or []
    rres = rule.get("resources") or []
    if not rres or rule.get("resourceNames"):
        # resourceNames narrows the rule to named objects; create/list cannot be narrowed that way
        if not rres:
            return []
    if not any(g == "*" or g in groups for g in rgroups):
        return []
    hits = []
    for verb in verbs:
        if "*" not in rverbs and verb not in rverbs:
            continue
        for res in resources:
            if _resource_matches(rres, res):
                if rule.get("resourceNames") and verb in ("create", "list", "watch"):
                    continue
                hits.append("%s %s" % (verb, res))
    return hits


def _wildcards(rule):
    return sorted(k for k in ("verbs", "apiGroups", "resources", "nonResourceURLs") if "*" in (rule.get(k) or []))


def _roles_index(cluster_roles, roles):
    idx = {}
    for cr in cluster_roles or []:
        idx[("ClusterRole", None, _meta(cr).get("name"))] = cr
    for r in roles or []:
        idx[("Role", _meta(r).get("namespace"), _meta(r).get("name"))] = r
    return idx


def _bindings(cluster_role_bindings, role_bindings):
    out = []
    for b in cluster_role_bindings or []:
        out.append(("ClusterRoleBinding", b))
    for b in role_bindings or []:
        out.append(("RoleBinding", b))
    return out


def _binding_ref(kind, b):
    meta = _meta(b)
    return "%s %s/%s" % (kind, meta["namespace"], meta["name"]) if meta.get("namespace") else "%s %s" % (
        kind, meta.get("name"))


def analyse(cluster_roles=None, roles=None, cluster_role_bindings=None, role_bindings=None):
    """Every RBAC finding: cluster-admin bindings, wildcard roles, the rights CIS 5.1.2-5.1.13 name held through a
    binding, and anonymous bindings. Each finding names the binding (or role), the subjects, what they can do and
    why it matters; built-in (Kubernetes bootstrap or kubeadm) objects do not count."""
    idx = _roles_index(cluster_roles, roles)
    out = []
    for kind, b in sorted(_bindings(cluster_role_bindings, role_bindings),
                          key=lambda kb: (kb[0], _meta(kb[1]).get("namespace") or "", _meta(kb[1]).get("name") or "")):
        meta = _meta(b)
        ref = b.get("roleRef") or {}
        subjects = [_subject(s) for s in b.get("subjects") or []]
        if not subjects:
            continue
        role_key = (ref.get("kind"), meta.get("namespace") if ref.get("kind") == "Role" else None, ref.get("name"))
        role = idx.get(role_key)
        is_builtin = builtin(b, kind)
        bref = _binding_ref(kind, b)
        target = "%s %s" % (ref.get("kind"), ref.get("name"))
        if ref.get("kind") == "ClusterRole" and ref.get("name") == "cluster-admin":
            out.append(finding("cluster_admin", bref, "binds %s to %s" % (target, ", ".join(subjects)),
                               why("cluster_admin"), namespace=meta.get("namespace"), counts=not is_builtin,
                               subjects=subjects))
        anon = [s for s in b.get("subjects") or [] if s.get("name") in ANONYMOUS and s.get("kind") in ("User", "Group")]
        if anon:
            out.append(finding("anonymous", bref, "binds %s to %s" % (target, ", ".join(_subject(s) for s in anon)),
                               why("anonymous"), namespace=meta.get("namespace"), counts=not is_builtin,
                               subjects=[_subject(s) for s in anon]))
        if role is None:
            continue
        scope = "cluster-wide" if kind == "ClusterRoleBinding" else "in namespace %s" % meta.get("namespace")
        for check, text, triples in CHECKS:
            hits = []
            for rule in role.get("rules") or []:
                for verbs, groups, resources in triples:
                    hits.extend(rule_grants(rule, verbs, groups, resources))
            if hits:
                hits = sorted(set(hits))
                out.append(finding(check, bref, "%s %s %s through %s (%s)" % (
                    ", ".join(subjects), text, scope, target, ", ".join(hits)), why(check),
                    namespace=meta.get("namespace"), counts=not (is_builtin and builtin(role, ref.get("kind"))),
                    subjects=subjects))
    for key in sorted(idx, key=lambda k: (k[0], k[1] or "", k[2] or "")):
        role = idx[key]
        cards = sorted(set(w for rule in role.get("rules") or [] for w in _wildcards(rule)))
        if cards:
            out.append(finding("wildcards", "%s %s" % (key[0], ("%s/%s" % (key[1], key[2])) if key[1] else key[2]),
                               "'*' in %s" % ", ".join(cards), why("wildcards"), namespace=key[1],
                               counts=not builtin(role, key[0])))
    return out


def subjects_with_bindings(cluster_role_bindings=None, role_bindings=None):
    """[namespace, name] of every ServiceAccount some binding names (for 'token not needed')."""
    out = set()
    for _kind, b in _bindings(cluster_role_bindings, role_bindings):
        for s in b.get("subjects") or []:
            if s.get("kind") == "ServiceAccount":
                out.add((s.get("namespace") or _meta(b).get("namespace"), s.get("name")))
    return sorted([list(x) for x in out])


def masters_findings(certificates=None, audit=None):
    """CIS 5.1.7: kubeconfigs whose client certificate carries O=system:masters (decided by the certificate:
    k8s_certificates' subject) and audit events by system:masters users after bootstrap.

    certificates: [{node, path, subject}] ; audit: [{node, readable, path, events, users, last, error}]."""
    out = []
    for cert in sorted(certificates or [], key=lambda c: (c.get("node") or "", c.get("path") or "")):
        parts = [p.strip() for p in (cert.get("subject") or "").split(",")]
        if "O=system:masters" in parts:
            out.append(finding("system_masters", "%s:%s" % (cert.get("node"), cert.get("path")),
                               "client certificate %s is in group system:masters (valid until %s)" % (
                                   cert.get("subject"), cert.get("not_after")),
                               why("system_masters"), namespace=None, counts=True))
    for entry in audit or []:
        if entry.get("events"):
            out.append(finding("system_masters", "%s:%s" % (entry.get("node"), entry.get("path")),
                               "%d API request(s) by system:masters users (%s) after bootstrap, last at %s" % (
                                   entry["events"], ", ".join(entry.get("users") or []), entry.get("last")),
                               why("system_masters"), namespace=None, counts=True))
    return out


def rfc3339_after(timestamp, seconds):
    """An RFC 3339 UTC time ('...Z') ``seconds`` after ``timestamp`` (as the API server writes them)."""
    import datetime  # pylint: disable=import-outside-toplevel
    base = datetime.datetime.strptime(timestamp.rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    return (base + datetime.timedelta(seconds=int(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")


# The API server's own loopback client is in system:masters; it is no credential anybody holds.
LOOPBACK_USERS = ("system:apiserver",)


def masters_audit_events(lines, since=None, limit_users=20, ignore_users=LOOPBACK_USERS):
    """Audit events (JSON lines of an audit log backend) whose user is in group system:masters, at or after
    ``since`` (RFC 3339, compared as text: the API server writes UTC 'Z' times). Stage ResponseComplete only
    (or the event's only stage), so one request counts once; the API server's loopback identity
    (system:apiserver) is not counted. Returns {events, users, last, bad_lines}."""
    import json  # pylint: disable=import-outside-toplevel
    events, users, last, bad = 0, set(), None, 0
    for line in lines:
        line = line.strip()
        if not line or "system:masters" not in line:
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            bad += 1
            continue
        user = ev.get("user") or {}
        if "system:masters" not in (user.get("groups") or []) or user.get("username") in ignore_users:
            continue
        if ev.get("stage") not in (None, "ResponseComplete", "Panic"):
            continue
        when = ev.get("requestReceivedTimestamp") or ev.get("stageTimestamp") or ""
        if since and when < since:
            continue
        events += 1
        if len(users) < limit_users:
            users.add(user.get("username") or "?")
        last = max(last or when, when)
    return {"events": events, "users": sorted(users), "last": last, "bad_lines": bad}


__all__ = ["LOOPBACK_USERS", "rfc3339_after", "masters_audit_events", "KUBEADM_OBJECTS", "ANONYMOUS", "CHECKS", "why", "builtin", "rule_grants", "analyse",
           "subjects_with_bindings", "masters_findings"]
