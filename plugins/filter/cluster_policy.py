# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
"""Filters of the cluster_policies role over _cluster_policy.py, _rbac.py and the CIS table.

Each filter has its DOCUMENTATION/EXAMPLES/RETURN in a sidecar file next to this one (k8s_namespace_selection.yml,
k8s_psa_plan.yml, k8s_psa_refusals.yml, k8s_cluster_desired.yml, k8s_cluster_pending.yml, k8s_cluster_findings.yml,
cis_cluster_results.yml). They take the lists kubernetes.core.k8s_info returned; none calls the API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _cluster_policy as cp
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _rbac as rbac
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._cis import (
    DEFAULT_BENCHMARK, CISError, evaluate_cluster,
)


def _call(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except (cp.PolicyError, CISError) as exc:
        raise AnsibleFilterError(str(exc))


def k8s_namespace_selection(namespaces, names=None, selector_matches=None, exclude=None):
    return cp.select_namespaces(namespaces, names or [], selector_matches, exclude or [])


def k8s_psa_plan(namespaces, selected, levels, version="latest", overrides=None, exempt=None):
    return _call(cp.psa_plan, namespaces, selected, levels, version, overrides or {}, exempt or [])


def k8s_psa_refusals(plan, pods, warnings=None, accept=False):
    return cp.psa_refusals(plan, pods, warnings or {}, accept)


def k8s_cluster_desired(areas, options=None):
    """areas: {network_policy: [namespaces], limit_range: [...], service_accounts: [...]} -> desired objects."""
    opts = dict(options or {})
    out = []
    for ns in areas.get("network_policy") or []:
        out += cp.network_policies(ns, prefix=opts.get("prefix", "k8s-hardening-"),
                                   policy_types=opts.get("policy_types", ["Ingress", "Egress"]),
                                   dns=opts.get("dns", True), dns_namespace=opts.get("dns_namespace", "kube-system"),
                                   dns_labels=opts.get("dns_labels"), deny_metadata=opts.get("deny_metadata", False),
                                   metadata_cidrs=opts.get("metadata_cidrs", cp.METADATA_CIDRS))
    for ns in areas.get("limit_range") or []:
        out.append(cp.limit_range(ns, opts.get("memory", "512Mi"), opts.get("prefix", "k8s-hardening-") + "memory",
                                  opts.get("max_ratio", False)))
    for ns in areas.get("service_accounts") or []:
        out.append(cp.default_sa_patch(ns))
    return out


def k8s_cluster_pending(desired, existing):
    return cp.pending(desired, existing)


def k8s_cluster_findings(inv, options=None):
    """inv: the lists k8s_info fetched; options: selected/exempt/managed namespaces and which checks ran."""
    inv = dict(inv or {})
    opts = dict(options or {})
    for res in inv.pop("k8s_info_results", None) or []:
        key = (res.get("item") or {}).get("key")
        if key and not res.get("skipped"):
            inv[key] = list(inv.get(key) or []) + list(res.get("resources") or [])
    pods = inv.get("pods") or []
    inv.setdefault("kube_system_pods", [p for p in pods if cp.namespace_of(p) == "kube-system"])
    if "default_namespace_objects" not in inv:
        inv["default_namespace_objects"] = [
            o for key in ("pods", "workloads", "services", "configmaps", "secrets", "service_accounts")
            for o in inv.get(key) or [] if cp.namespace_of(o) == "default"]
    findings, gathered = [], []
    namespaces = inv.get("namespaces") or []
    all_ns = [cp.name_of(n) for n in namespaces]
    report_ns = cp.select_namespaces(namespaces, [], None, opts.get("report_exclude") or [])
    cni = None
    if opts.get("namespaces_report", True):
        cni = cp.detect_cni(inv.get("kube_system_daemonsets"), inv.get("kube_system_pods"))
        levels = opts.get("psa_levels") or {}
        overrides = opts.get("psa_namespace_levels") or {}
        enforce = dict((ns, (overrides.get(ns) or {}).get("enforce") or levels.get("enforce"))
                       for ns in opts.get("psa_managed") or [])
        findings += cp.namespace_findings([n for n in namespaces if cp.name_of(n) in report_ns],
                                          opts.get("selected") or [], inv.get("network_policies"),
                                          opts.get("psa_managed"), opts.get("netpol_managed"), cni, enforce)
        gathered += ["policy_control", "network_policy", "cni"]
    if opts.get("rbac", True):
        findings += rbac.analyse(inv.get("cluster_roles"), inv.get("roles"), inv.get("cluster_role_bindings"),
                                 inv.get("role_bindings"))
        gathered += ["cluster_admin", "anonymous", "wildcards"] + [c[0] for c in rbac.CHECKS]
    if opts.get("hygiene", True):
        bound = rbac.subjects_with_bindings(inv.get("cluster_role_bindings"), inv.get("role_bindings"))
        sa_findings = cp.service_account_findings(report_ns, inv.get("service_accounts"), inv.get("pods"),
                                                  inv.get("secrets"), bound, opts.get("sa_managed"))
        findings += [f for f in sa_findings if f["check"] != "default_sa"]
        objs = [o for o in cp.workload_objects(inv.get("pods"), inv.get("workloads")) if cp.namespace_of(o) in report_ns]
        cms = [c for c in inv.get("configmaps") or [] if cp.namespace_of(c) in report_ns]
        findings += cp.workload_findings(objs, cms, inv.get("default_namespace_objects") if "default" in report_ns
                                         else [], opts.get("exempt") or [])
        gathered += ["token_mounts", "legacy_token", "env_secrets", "configmap_credentials", "default_namespace",
                     "seccomp"] + list(cp.POD_CHECK_KEYS)
    if opts.get("service_accounts_report", True):
        findings += [f for f in cp.service_account_findings(report_ns, inv.get("service_accounts"), [], [], [],
                                                            opts.get("sa_managed")) if f["check"] == "default_sa"]
        gathered.append("default_sa")
    if opts.get("masters", False):
        findings += rbac.masters_findings(inv.get("certificates"), inv.get("audit"))
        gathered.append("system_masters")
    for f in findings:
        f.setdefault("enforced", False)
        if f["check"] in ("default_sa", "token_mounts") and f.get("namespace") in (opts.get("exempt") or []):
            f["counts"] = False   # a namespace the operator leaves to itself: listed, not counted
    return {"findings": findings, "gathered": sorted(set(gathered)), "cni": cni, "namespaces": sorted(all_ns)}


def cis_cluster_results(cluster, waivers=None, benchmark=DEFAULT_BENCHMARK):
    """The report's cluster row: {results, node_roles: [cluster], findings} from k8s_cluster_findings' output."""
    cluster = cluster or {}
    rows = _call(evaluate_cluster, cluster.get("findings"), cluster.get("gathered"), waivers or {}, benchmark)
    return {"node_roles": ["cluster"], "benchmark": benchmark, "results": rows,
            "findings": cluster.get("findings") or [], "cni": cluster.get("cni")}


class FilterModule(object):
    """cluster_policies filters."""

    def filters(self):
        return {
            "k8s_namespace_selection": k8s_namespace_selection,
            "k8s_psa_plan": k8s_psa_plan,
            "k8s_psa_refusals": k8s_psa_refusals,
            "k8s_cluster_desired": k8s_cluster_desired,
            "k8s_cluster_pending": k8s_cluster_pending,
            "k8s_cluster_findings": k8s_cluster_findings,
            "cis_cluster_results": cis_cluster_results,
        }
