# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, may change
# without notice. No Ansible import here; unit-tested with pytest.
#
# The decisions of the cluster_policies role, on API objects the role fetched
# with kubernetes.core.k8s_info (plain dicts): which namespaces are selected,
# which Pod Security labels to write (never loosening an operator's stricter
# ones), which pods a raised enforce level would reject, the desired
# NetworkPolicies / ServiceAccount patches / LimitRanges and which of them
# differ from the cluster, the CNI, and the workload, service-account and
# secrets-hygiene findings of CIS section 5. No API calls here.
"""Pure decisions of the cluster_policies role (Pod Security, NetworkPolicy, service accounts, hygiene)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

PSA_LEVELS = ("privileged", "baseline", "restricted")
PSA_MODES = ("enforce", "audit", "warn")
PSA_PREFIX = "pod-security.kubernetes.io/"
MANAGED_BY = {"app.kubernetes.io/managed-by": "k8s-hardening"}
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
METADATA_CIDRS = ("169.254.169.254/32",)

# Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
BASELINE_CAPABILITIES = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
SAFE_SYSCTLS = ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes")
RESTRICTED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

# CNIs whose DaemonSets/pods in kube-system identify them, and whether they enforce NetworkPolicy.
# flannel alone does not; canal is flannel + Calico's policy engine.
KNOWN_CNIS = (
    ("cilium", ("cilium",), True),
    ("calico", ("calico-node", "calico"), True),
    ("canal", ("canal",), True),
    ("weave-net", ("weave-net", "weave"), True),
    ("antrea", ("antrea-agent", "antrea"), True),
    ("kube-router", ("kube-router",), True),
    ("kindnet", ("kindnet",), True),
    ("flannel", ("kube-flannel-ds", "kube-flannel", "flannel"), False),
)

# Keys of a ConfigMap that look like credentials (names only; values are never returned).
CREDENTIAL_KEY = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|api[-_.]?key|private[-_.]?key|credential|access[-_.]?key|auth[-_.]?key"
    r"|client[-_.]?secret|\.pem$|\.key$|id_rsa|kubeconfig)", re.I)
PRIVATE_KEY_VALUE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")

WORKLOAD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob", "ReplicationController")


class PolicyError(Exception):
    """Bad input to the cluster policy decisions (names the variable)."""


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _name(obj):
    return _meta(obj).get("name")


def _ns(obj):
    return _meta(obj).get("namespace")


def name_of(obj):
    return _name(obj)


def namespace_of(obj):
    return _ns(obj)


def _ref(obj, kind=None):
    kind = kind or (obj or {}).get("kind") or "?"
    ns = _ns(obj)
    return "%s %s/%s" % (kind, ns, _name(obj)) if ns else "%s %s" % (kind, _name(obj))


def _listify(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def level_rank(level):
    """privileged 0 < baseline 1 < restricted 2; an unknown or absent level counts as privileged."""
    try:
        return PSA_LEVELS.index(str(level))
    except ValueError:
        return 0


def stricter(a, b):
    """The stricter of two Pod Security levels."""
    return a if level_rank(a) >= level_rank(b) else b


def finding(check, obj, detail, why, namespace=None, counts=True, subjects=None, kind=None):
    """One report finding: the check (a key of the CIS section-5 table), the object, what and why it matters."""
    out = {"check": check, "object": obj if isinstance(obj, str) else _ref(obj, kind),
           "namespace": namespace if namespace is not None else (None if isinstance(obj, str) else _ns(obj)),
           "detail": detail, "why": why, "counts": bool(counts)}
    if subjects is not None:
        out["subjects"] = sorted(set(subjects))
    return out


# ---------------------------------------------------------------------------
# Namespace selection
# ---------------------------------------------------------------------------

def _matches_any(name, patterns):
    return any(fnmatch.fnmatchcase(name, p) for p in patterns or [])


def select_namespaces(namespaces, names=None, selector_matches=None, exclude=None):
    """Names of the selected namespaces, sorted.

    namespaces: the Namespace objects (or names); names: the operator's list (empty = all; glob patterns allowed);
    selector_matches: names the label selector matched (None = no selector); exclude: names or globs left out.
    A namespace being deleted (status.phase Terminating) is never selected.
    """
    out = []
    for ns in namespaces or []:
        name = ns if isinstance(ns, str) else _name(ns)
        if not isinstance(ns, str) and ((ns.get("status") or {}).get("phase") == "Terminating"):
            continue
        if names and not _matches_any(name, names):
            continue
        if selector_matches is not None and name not in selector_matches:
            continue
        if _matches_any(name, exclude):
            continue
        out.append(name)
    return sorted(set(out))


# ---------------------------------------------------------------------------
# Pod Security Admission labels
# ---------------------------------------------------------------------------

def check_levels(levels, varname="cluster_policies_psa_levels"):
    if not isinstance(levels, dict):
        raise PolicyError("%s must be a dict of mode (enforce, audit, warn) -> level" % varname)
    for mode, level in levels.items():
        if mode not in PSA_MODES:
            raise PolicyError("%s: unknown mode %r; use enforce, audit or warn" % (varname, mode))
        if level not in PSA_LEVELS:
            raise PolicyError("%s[%s]: unknown level %r; use privileged, baseline or restricted" % (varname, mode, level))
    return levels


def psa_plan(namespaces, selected, levels, version="latest", overrides=None, exempt=None):
    """What to label, per namespace.

    levels: {mode: level} for every selected namespace; overrides: {namespace: {mode: level}} the operator names
    (an override may loosen: the operator said so); exempt: namespaces the role leaves alone (named in the plan).
    An existing label stricter than the role's level is kept (with its version); an equal one keeps its version.
    Returns [{namespace, labels (the patch: only labels that change), current, desired, kept, raise_enforce,
    exempt}] sorted by namespace; raise_enforce is (old, new) when enforce gets stricter.
    """
    check_levels(levels)
    overrides = overrides or {}
    for ns, ov in overrides.items():
        check_levels(ov, "cluster_policies_psa_namespace_levels[%s]" % ns)
    by_name = dict((_name(n), n) for n in namespaces or [])
    out = []
    for name in sorted(set(selected or []) | set(e for e in exempt or [] if e in by_name)):
        labels = dict(_meta(by_name.get(name)).get("labels") or {})
        current = dict((m, labels.get(PSA_PREFIX + m)) for m in PSA_MODES)
        if name in (exempt or []) and name not in overrides:
            out.append({"namespace": name, "labels": {}, "current": current, "desired": current, "kept": [],
                        "raise_enforce": None, "exempt": True})
            continue
        want = dict(levels)
        explicit = overrides.get(name, {})
        want.update(explicit)
        patch, kept, desired = {}, [], dict(current)
        for mode in PSA_MODES:
            if mode not in want:
                continue
            level, have = want[mode], current[mode]
            if have is not None and mode not in explicit and level_rank(have) >= level_rank(level):
                if level_rank(have) > level_rank(level):
                    kept.append("%s=%s (stricter than %s)" % (mode, have, level))
                continue
            desired[mode] = level
            if have != level:
                patch[PSA_PREFIX + mode] = level
                if labels.get(PSA_PREFIX + mode + "-version") != version:
                    patch[PSA_PREFIX + mode + "-version"] = version
        raised = None
        if "enforce" in want and level_rank(desired["enforce"]) > level_rank(current["enforce"]) \
                and desired["enforce"] != current["enforce"]:
            raised = (current["enforce"] or "privileged", desired["enforce"])
        out.append({"namespace": name, "labels": patch, "current": current, "desired": desired, "kept": kept,
                    "raise_enforce": raised, "exempt": False})
    return out


_PSA_WARNING_HEAD = re.compile(r'^existing pods in namespace "([^"]+)" violate', re.I)
_PSA_WARNING_POD = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)( \(and (\d+) other pods?\))?: (.+)$")


def psa_warning_pods(warnings):
    """Pod names (and the 'and N other pods' counts) from the API server's warnings on a dry-run label change."""
    pods, others, violation = [], 0, False
    for text in warnings or []:
        text = str(text).strip()
        if _PSA_WARNING_HEAD.match(text):
            violation = True
            continue
        match = _PSA_WARNING_POD.match(text)
        if match:
            pods.append(match.group(1))
            others += int(match.group(4) or 0)
    return {"pods": sorted(set(pods)), "others": others, "violation": violation or bool(pods)}


def psa_refusals(plan, pods, dry_run_warnings=None, accept=False):
    """The namespaces whose enforce level would be raised over running pods that violate it.

    pods: every Pod object of the cluster; dry_run_warnings: {namespace: [warning texts]} from the server-side
    dry run of the label change; accept: true, or a list of namespaces the operator accepts anyway.
    Returns [{namespace, level, pods: [{name, violations}], from_api: [names], message}] for the refused ones.
    """
    accepted = accept if isinstance(accept, (list, tuple)) else ([] if not accept else None)
    by_ns = {}
    for pod in pods or []:
        by_ns.setdefault(_ns(pod), []).append(pod)
    out = []
    for entry in plan or []:
        if not entry.get("raise_enforce"):
            continue
        ns = entry["namespace"]
        if accepted is None or ns in accepted:
            continue
        level = entry["raise_enforce"][1]
        local = []
        for pod in sorted(by_ns.get(ns, []), key=_name):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            bad = pss_violations(pod, level)
            if bad:
                local.append({"name": _name(pod), "violations": bad})
        api = psa_warning_pods((dry_run_warnings or {}).get(ns))
        names = sorted(set([p["name"] for p in local] + api["pods"]))
        if not names and not api["violation"]:
            continue
        # kubernetes.core splits the Warning header at ", ", which drops the pod lines that list several
        # violations: the API's headline still counts, and the pods come from the evaluation here.
        msg = "namespace %s: raising Pod Security enforce to %s would reject %s%s" % (
            ns, level, ", ".join(names) or "pods the API server did not name",
            (" and %d other pods" % api["others"]) if api["others"] else "")
        out.append({"namespace": ns, "level": level, "pods": local, "from_api": api["pods"], "message": msg})
    return out


# ---------------------------------------------------------------------------
# Pod Security Standards evaluation (a pod or a pod template)
# ---------------------------------------------------------------------------

def pod_spec(obj):
    """(spec, metadata) of a Pod or of a workload's pod template (CronJob: jobTemplate)."""
    kind = (obj or {}).get("kind")
    spec = (obj or {}).get("spec") or {}
    if kind == "Pod" or kind is None and "containers" in spec:
        return spec, _meta(obj)
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    tmpl = spec.get("template") or {}
    return tmpl.get("spec") or {}, tmpl.get("metadata") or {}


def containers(spec):
    out = []
    for key in _CONTAINER_LISTS:
        out.extend(c for c in spec.get(key) or [] if isinstance(c, dict))
    return out


def _sc(obj):
    return (obj or {}).get("securityContext") or {}


def _seccomp_type(pod_sc, c_sc):
    prof = c_sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}
    return prof.get("type")


def pss_violations(obj, level):
    """The Pod Security Standards checks a pod (or pod template) fails at a level, as short reasons."""
    if level_rank(level) == 0:
        return []
    spec, meta = pod_spec(obj)
    psc = _sc(spec)
    ctrs = containers(spec)
    bad = []
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        bad.append("host namespaces (%s)" % ", ".join(k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)))
    if any(_sc(c).get("privileged") for c in ctrs):
        bad.append("privileged (%s)" % ", ".join(c.get("name", "?") for c in ctrs if _sc(c).get("privileged")))
    caps = sorted(set(a for c in ctrs for a in ((_sc(c).get("capabilities") or {}).get("add") or [])
                      if a not in BASELINE_CAPABILITIES))
    if caps:
        bad.append("non-default capabilities (%s)" % ", ".join(caps))
    host_paths = [v.get("name", "?") for v in spec.get("volumes") or [] if isinstance(v, dict) and "hostPath" in v]
    if host_paths:
        bad.append("hostPath volumes (%s)" % ", ".join(host_paths))
    ports = sorted(set(p.get("hostPort") for c in ctrs for p in c.get("ports") or [] if p.get("hostPort")))
    if ports:
        bad.append("hostPort (%s)" % ", ".join(str(p) for p in ports))
    if _seccomp_type(psc, {}) == "Unconfined" or any(_seccomp_type({}, _sc(c)) == "Unconfined" for c in ctrs):
        bad.append("seccompProfile Unconfined")
    if any(((_sc(c).get("windowsOptions") or {}).get("hostProcess")) for c in ctrs) \
            or (psc.get("windowsOptions") or {}).get("hostProcess"):
        bad.append("hostProcess")
    if any(_sc(c).get("procMount") not in (None, "Default") for c in ctrs):
        bad.append("procMount")
    sysctls = [s.get("name") for s in psc.get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]
    if sysctls:
        bad.append("forbidden sysctls (%s)" % ", ".join(sysctls))
    annotations = meta.get("annotations") or {}
    if any(k.startswith("container.apparmor.security.beta.kubernetes.io/") and v not in ("runtime/default",)
           and not str(v).startswith("localhost/") for k, v in annotations.items()) \
            or any(((_sc(c).get("appArmorProfile") or {}).get("type")) == "Unconfined" for c in ctrs):
        bad.append("AppArmor profile")
    if level_rank(level) < 2:
        return bad
    vols = [v.get("name", "?") for v in spec.get("volumes") or []
            if isinstance(v, dict) and not any(t in v for t in RESTRICTED_VOLUMES)]
    if vols:
        bad.append("restricted volume types (%s)" % ", ".join(vols))
    ape = [c.get("name", "?") for c in ctrs if _sc(c).get("allowPrivilegeEscalation") is not False]
    if ape:
        bad.append("allowPrivilegeEscalation != false (%s)" % ", ".join(ape))
    nonroot = [c.get("name", "?") for c in ctrs
               if not (_sc(c).get("runAsNonRoot") is True
                       or (psc.get("runAsNonRoot") is True and _sc(c).get("runAsNonRoot") is not False))]
    if nonroot:
        bad.append("runAsNonRoot != true (%s)" % ", ".join(nonroot))
    if psc.get("runAsUser") == 0 or any(_sc(c).get("runAsUser") == 0 for c in ctrs):
        bad.append("runAsUser=0")
    seccomp = [c.get("name", "?") for c in ctrs if _seccomp_type(psc, _sc(c)) not in ("RuntimeDefault", "Localhost")]
    if seccomp:
        bad.append("seccompProfile (%s)" % ", ".join(seccomp))
    drop = [c.get("name", "?") for c in ctrs if "ALL" not in ((_sc(c).get("capabilities") or {}).get("drop") or [])]
    if drop:
        bad.append("unrestricted capabilities (%s)" % ", ".join(drop))
    added = sorted(set(a for c in ctrs for a in ((_sc(c).get("capabilities") or {}).get("add") or [])
                       if a != "NET_BIND_SERVICE"))
    if added and not caps:
        bad.append("added capabilities (%s)" % ", ".join(added))
    return bad


# ---------------------------------------------------------------------------
# Desired objects and what differs
# ---------------------------------------------------------------------------

def network_policies(namespace, prefix="k8s-hardening-", policy_types=("Ingress", "Egress"), dns=True,
                     dns_namespace="kube-system", dns_labels=None, deny_metadata=False, metadata_cidrs=METADATA_CIDRS):
    """The NetworkPolicies of one namespace: default deny (ingress and/or egress), DNS egress to the cluster DNS,
    and (opt-in, only where egress is not default-denied) egress anywhere but the cloud metadata address."""
    def netpol(name, spec):
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": prefix + name, "namespace": namespace, "labels": dict(MANAGED_BY)},
                "spec": spec}
    types = [t for t in ("Ingress", "Egress") if t in (policy_types or [])]
    out = []
    if types:
        out.append(netpol("default-deny", {"podSelector": {}, "policyTypes": types}))
    if dns and "Egress" in types:
        out.append(netpol("allow-dns", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": dns_namespace}},
                                "podSelector": {"matchLabels": dict(dns_labels or {"k8s-app": "kube-dns"})}}],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}))
    if deny_metadata and "Egress" not in types:
        out.append(netpol("deny-metadata", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(metadata_cidrs)}},
                               {"ipBlock": {"cidr": "::/0"}}]}]}))
    return out


def default_sa_patch(namespace):
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": namespace}, "automountServiceAccountToken": False}


def limit_range(namespace, memory, name="k8s-hardening-memory", max_ratio=False):
    """A LimitRange giving containers a default memory request and limit, equal (limit not above request);
    max_ratio adds maxLimitRequestRatio 1 so an explicit limit above the request is rejected."""
    limit = {"type": "Container", "default": {"memory": str(memory)}, "defaultRequest": {"memory": str(memory)}}
    if max_ratio:
        limit["maxLimitRequestRatio"] = {"memory": "1"}
    return {"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
            "spec": {"limits": [limit]}}


def _subset(want, have):
    """True when every key/value of ``want`` is in ``have`` (lists compared element-wise, same length)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(_subset(w, h) for w, h in zip(want, have))
    if isinstance(want, (int, float)) and not isinstance(want, bool) and isinstance(have, str):
        return str(want) == have
    return want == have


def _key(obj):
    return (obj.get("kind"), _ns(obj), _name(obj))


def pending(desired, existing):
    """The desired objects the cluster does not hold yet (absent, or some desired field differs), each with
    action create|update; ``existing`` are the objects k8s_info returned (any kinds)."""
    have = dict((_key(o), o) for o in existing or [])
    out = []
    for obj in desired or []:
        cur = have.get(_key(obj))
        if cur is None:
            out.append({"action": "create", "object": obj, "ref": _ref(obj)})
            continue
        want = dict((k, v) for k, v in obj.items() if k not in ("apiVersion", "kind"))
        if not _subset(want, cur):
            out.append({"action": "update", "object": obj, "ref": _ref(obj)})
    return out


# ---------------------------------------------------------------------------
# CNI
# ---------------------------------------------------------------------------

def detect_cni(daemonsets=None, pods=None):
    """Which CNI runs, from the DaemonSets and pods of kube-system (names and k8s-app labels).

    Returns {name, enforces_network_policy (True/False/None if unknown), evidence}."""
    seen = []
    for obj in list(daemonsets or []) + list(pods or []):
        labels = _meta(obj).get("labels") or {}
        seen.extend([_name(obj) or "", labels.get("k8s-app", ""), labels.get("app", ""),
                     labels.get("app.kubernetes.io/name", "")])
    found = []
    for cni, names, enforces in KNOWN_CNIS:
        hits = sorted(set(s for s in seen if s and any(s == n or s.startswith(n + "-") for n in names)))
        if hits:
            found.append((cni, enforces, hits))
    if not found:
        return {"name": None, "enforces_network_policy": None,
                "evidence": "no known CNI DaemonSet or pod in kube-system (looked for %s)"
                            % ", ".join(c[0] for c in KNOWN_CNIS)}
    enforcing = [f for f in found if f[1]]
    pick = enforcing[0] if enforcing else found[0]
    return {"name": pick[0], "enforces_network_policy": pick[1],
            "evidence": "; ".join("%s: %s" % (f[0], ", ".join(f[2])) for f in found)}


# ---------------------------------------------------------------------------
# Findings: service accounts, workloads, secrets hygiene
# ---------------------------------------------------------------------------

_WHY = {
    "default_sa": "a default ServiceAccount that automounts its token gives every pod that does not name another "
                  "account an API credential it rarely needs (CIS 5.1.5)",
    "token_mounts": "a mounted token is an API credential any process in the container (or an attacker in it) can "
                    "use; mount it only where the pod talks to the API (CIS 5.1.6)",
    "legacy_token": "a Secret of type kubernetes.io/service-account-token holds a token that never expires; use "
                    "the TokenRequest API (projected, short-lived tokens) instead",
    "env_secrets": "Secrets in environment variables leak through logs, crash dumps and child processes; mount "
                   "them as files (CIS 5.4.1)",
    "configmap_credentials": "ConfigMaps are not protected like Secrets (no encryption at rest, wider RBAC); "
                             "credentials belong in Secrets",
    "default_namespace": "workloads in the default namespace share one boundary for RBAC, quotas and network "
                         "policy; put them in dedicated namespaces",
    "seccomp": "without a seccomp profile every syscall is allowed; set seccompProfile RuntimeDefault",
    "privileged": "a privileged container has all capabilities and the host's devices: it is root on the node",
    "host_pid": "hostPID lets the container see and signal every process of the node",
    "host_ipc": "hostIPC lets the container use the node's shared memory and IPC",
    "host_network": "hostNetwork puts the container on the node's network stack, past NetworkPolicy",
    "allow_privilege_escalation": "without allowPrivilegeEscalation: false, setuid binaries can gain privileges",
    "root": "a container running as root is one container escape away from root on the node",
    "net_raw": "NET_RAW allows crafting packets (ARP/DNS spoofing inside the node network)",
    "added_capabilities": "added capabilities widen what a compromised container can do on the node",
    "capabilities_assigned": "containers should drop ALL capabilities and add back only what they need",
    "host_process": "a Windows HostProcess container runs as a process on the node",
    "host_path": "hostPath volumes expose the node's file system (kubelet credentials, container runtime socket)",
    "host_ports": "hostPort binds the node's address and bypasses NetworkPolicy and Services",
    "policy_control": "a namespace without a Pod Security enforce label relies on the cluster default only "
                      "(CIS 5.2.1)",
    "network_policy": "a namespace without a NetworkPolicy selecting all pods lets every pod reach every other "
                      "(CIS 5.3.2)",
    "cni": "NetworkPolicies are inert unless the CNI enforces them (CIS 5.3.1)",
}


def why(check):
    return _WHY.get(check, "")


def _pod_sa(spec):
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


def _owned(obj):
    return any(r.get("controller") for r in _meta(obj).get("ownerReferences") or [])


def workload_objects(pods=None, workloads=None):
    """Pods without a controller and workloads without a controlling owner: each pod template counted once."""
    out = [p for p in pods or [] if not _owned(p)]
    out += [w for w in workloads or [] if not _owned(w)]
    return out


def service_account_findings(namespaces, service_accounts, pods, secrets, bound_service_accounts=None,
                             managed=None):
    """CIS 5.1.5 (default SAs that automount), 5.1.6 (pods mounting a token; 'not needed' when the SA has no
    RBAC binding) and legacy token Secrets. managed: namespaces the role patches (a finding there is drift)."""
    sas = dict(((_ns(s), _name(s)), s) for s in service_accounts or [])
    bound = set(tuple(x) if isinstance(x, (list, tuple)) else tuple(str(x).split("/", 1))
                for x in bound_service_accounts or [])
    out = []
    for ns in sorted(set(namespaces or [])):
        sa = sas.get((ns, "default"))
        if sa is not None and sa.get("automountServiceAccountToken") is not False:
            out.append(finding("default_sa", sa, "automountServiceAccountToken is %s" % (
                "true" if sa.get("automountServiceAccountToken") else "unset (defaults to true)"),
                why("default_sa"), counts=True, kind="ServiceAccount"))
            out[-1]["enforced"] = ns in (managed or [])
    for pod in sorted(pods or [], key=lambda p: (_ns(p) or "", _name(p) or "")):
        if _ns(pod) not in (namespaces or []):
            continue
        spec, _m = pod_spec(pod)
        sa_name = _pod_sa(spec)
        sa = sas.get((_ns(pod), sa_name)) or {}
        mount = spec.get("automountServiceAccountToken")
        if mount is None:
            mount = sa.get("automountServiceAccountToken") is not False
        if not mount:
            continue
        need = (_ns(pod), sa_name) in bound
        detail = "mounts the token of ServiceAccount %s%s" % (
            sa_name, "" if need else ", which has no RoleBinding or ClusterRoleBinding: the token looks unneeded")
        out.append(finding("token_mounts", pod, detail, why("token_mounts"), kind="Pod"))
    for sec in sorted(secrets or [], key=lambda s: (_ns(s) or "", _name(s) or "")):
        if sec.get("type") == "kubernetes.io/service-account-token":
            acct = (_meta(sec).get("annotations") or {}).get("kubernetes.io/service-account.name", "?")
            out.append(finding("legacy_token", sec, "long-lived token of ServiceAccount %s" % acct,
                               why("legacy_token"), kind="Secret"))
    return out


def _env_secret_refs(ctr):
    refs = []
    for env in ctr.get("env") or []:
        ref = ((env.get("valueFrom") or {}).get("secretKeyRef")) or None
        if ref:
            refs.append("%s (Secret %s key %s)" % (env.get("name"), ref.get("name"), ref.get("key")))
    for src in ctr.get("envFrom") or []:
        if src.get("secretRef"):
            refs.append("envFrom Secret %s" % src["secretRef"].get("name"))
    return refs


_DEFAULT_NS_BUILTINS = {("Service", "kubernetes"), ("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}

# PSS checks reported per CIS 5.2.x key: (key, predicate on (spec, containers))
_POD_CHECKS = (
    ("privileged", lambda s, cs: [c.get("name") for c in cs if _sc(c).get("privileged")]),
    ("host_pid", lambda s, cs: ["hostPID"] if s.get("hostPID") else []),
    ("host_ipc", lambda s, cs: ["hostIPC"] if s.get("hostIPC") else []),
    ("host_network", lambda s, cs: ["hostNetwork"] if s.get("hostNetwork") else []),
    ("allow_privilege_escalation",
     lambda s, cs: [c.get("name") for c in cs if _sc(c).get("allowPrivilegeEscalation") is not False]),
    ("root", lambda s, cs: [c.get("name") for c in cs
                            if _sc(c).get("runAsUser", _sc(s).get("runAsUser")) == 0
                            or not (_sc(c).get("runAsNonRoot", _sc(s).get("runAsNonRoot")) is True)]),
    ("net_raw", lambda s, cs: [c.get("name") for c in cs
                               if set(["NET_RAW", "ALL"]) & set((_sc(c).get("capabilities") or {}).get("add") or [])
                               or not set(["NET_RAW", "ALL"]) & set((_sc(c).get("capabilities") or {}).get("drop") or [])]),
    ("added_capabilities", lambda s, cs: [c.get("name") for c in cs if (_sc(c).get("capabilities") or {}).get("add")]),
    ("capabilities_assigned",
     lambda s, cs: [c.get("name") for c in cs if "ALL" not in ((_sc(c).get("capabilities") or {}).get("drop") or [])
                    or set((_sc(c).get("capabilities") or {}).get("add") or []) - set(["NET_BIND_SERVICE"])]),
    ("host_process", lambda s, cs: [c.get("name") for c in cs
                                    if (_sc(c).get("windowsOptions") or {}).get("hostProcess")
                                    or (_sc(s).get("windowsOptions") or {}).get("hostProcess")]),
    ("host_path", lambda s, cs: ["%s=%s" % (v.get("name"), (v.get("hostPath") or {}).get("path"))
                                 for v in s.get("volumes") or [] if isinstance(v, dict) and "hostPath" in v]),
    ("host_ports", lambda s, cs: sorted(set("%s:%s" % (c.get("name"), p.get("hostPort"))
                                            for c in cs for p in c.get("ports") or [] if p.get("hostPort")))),
    ("seccomp", lambda s, cs: [c.get("name") for c in cs
                               if _seccomp_type(_sc(s), _sc(c)) in (None, "Unconfined")]),
)


POD_CHECK_KEYS = tuple(k for k, _p in _POD_CHECKS)


def workload_findings(objects, configmaps=None, default_namespace_objects=None, exempt=None):
    """CIS 5.2.x, 5.4.1, 5.x.2 (seccomp), 5.x.4 (default namespace) and ConfigMap credential keys.

    objects: pods and workloads (workload_objects); configmaps: every ConfigMap; default_namespace_objects:
    every object of the default namespace (any kinds); exempt: namespaces whose 5.2.x findings are listed
    but do not count (the system namespaces the role leaves alone: kubeadm's static pods need hostNetwork)."""
    out = []
    for obj in sorted(objects or [], key=lambda o: (_ns(o) or "", o.get("kind") or "", _name(o) or "")):
        spec, _meta_ = pod_spec(obj)
        cs = containers(spec)
        exempted = _ns(obj) in (exempt or [])
        for check, pred in _POD_CHECKS:
            hits = [h for h in pred(spec, cs) if h]
            if hits:
                out.append(finding(check, obj, "%s: %s" % (check.replace("_", " "), ", ".join(str(h) for h in hits)),
                                   why(check), counts=not exempted))
        refs = [r for c in cs for r in _env_secret_refs(c)]
        if refs:
            out.append(finding("env_secrets", obj, "Secrets as environment variables: " + "; ".join(refs),
                               why("env_secrets")))
    for cm in sorted(configmaps or [], key=lambda o: (_ns(o) or "", _name(o) or "")):
        data = dict(cm.get("data") or {})
        data.update(dict((k, "") for k in (cm.get("binaryData") or {})))
        keys = sorted(k for k, v in data.items()
                      if CREDENTIAL_KEY.search(k) or PRIVATE_KEY_VALUE.search(str(v or "")))
        if keys:
            out.append(finding("configmap_credentials", cm, "keys that look like credentials: %s (values not shown)"
                               % ", ".join(keys), why("configmap_credentials"), kind="ConfigMap"))
    for obj in sorted(default_namespace_objects or [], key=lambda o: (o.get("kind") or "", _name(o) or "")):
        if (obj.get("kind"), _name(obj)) in _DEFAULT_NS_BUILTINS or _owned(obj):
            continue
        if obj.get("kind") == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
            continue
        out.append(finding("default_namespace", obj, "%s in the default namespace" % obj.get("kind"),
                           why("default_namespace")))
    return out


def namespace_findings(namespaces, selected, network_policies_=None, psa_managed=None, netpol_managed=None,
                       cni=None, psa_enforce=None):
    """CIS 5.2.1 (no enforce label), 5.3.2 (no NetworkPolicy selecting all pods) per namespace, and 5.3.1.

    psa_enforce: {namespace: level} the role enforces there (the psa_managed namespaces): an enforce label looser
    than that level is drift too (someone relabeled the namespace), named as such."""
    out = []
    pols = {}
    for pol in network_policies_ or []:
        if ((pol.get("spec") or {}).get("podSelector") or {}) in ({}, {"matchLabels": {}}, {"matchExpressions": []}):
            pols.setdefault(_ns(pol), []).append(_name(pol))
    for ns in sorted(_name(n) for n in namespaces or []):
        labels = _meta(next(n for n in namespaces if _name(n) == ns)).get("labels") or {}
        enforce = labels.get(PSA_PREFIX + "enforce")
        wanted = (psa_enforce or {}).get(ns) if ns in (psa_managed or []) else None
        if not enforce:
            f = finding("policy_control", "Namespace %s" % ns, "no pod-security.kubernetes.io/enforce label",
                        why("policy_control"), namespace=ns, counts=ns in (selected or []))
            f["enforced"] = ns in (psa_managed or [])
            out.append(f)
        elif wanted and level_rank(enforce) < level_rank(wanted):
            f = finding("policy_control", "Namespace %s" % ns,
                        "pod-security.kubernetes.io/enforce=%s is looser than %s, the level the role enforces here"
                        % (enforce, wanted), why("policy_control"), namespace=ns, counts=True)
            f["enforced"] = True
            out.append(f)
        if not pols.get(ns):
            f = finding("network_policy", "Namespace %s" % ns, "no NetworkPolicy selecting all pods",
                        why("network_policy"), namespace=ns, counts=ns in (selected or []))
            f["enforced"] = ns in (netpol_managed or [])
            out.append(f)
    if cni is not None and cni.get("enforces_network_policy") is not True:
        out.append(finding("cni", "CNI", "%s: NetworkPolicies may be inert (%s)" % (
            "no NetworkPolicy-capable CNI detected" if cni.get("name") is None
            else "%s does not enforce NetworkPolicy" % cni["name"], cni.get("evidence")), why("cni")))
    return out


__all__ = [
    "PSA_LEVELS", "PSA_MODES", "PSA_PREFIX", "MANAGED_BY", "SYSTEM_NAMESPACES", "METADATA_CIDRS", "KNOWN_CNIS",
    "WORKLOAD_KINDS", "POD_CHECK_KEYS", "PolicyError", "name_of", "namespace_of", "level_rank", "stricter", "finding", "why", "select_namespaces",
    "check_levels", "psa_plan", "psa_warning_pods", "psa_refusals", "pod_spec", "containers", "pss_violations",
    "network_policies", "default_sa_patch", "limit_range", "pending", "detect_cni", "workload_objects",
    "service_account_findings", "workload_findings", "namespace_findings",
]
