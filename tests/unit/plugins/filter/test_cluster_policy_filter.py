"""The cluster_policies filters: registered, wired to the pure logic, errors as AnsibleFilterError."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.filter import cluster_policy as flt


def test_registered():
    assert set(flt.FilterModule().filters()) == {
        "k8s_namespace_selection", "k8s_psa_plan", "k8s_psa_refusals", "k8s_cluster_desired", "k8s_cluster_pending",
        "k8s_cluster_findings", "cis_cluster_results"}


def test_bad_levels_are_filter_errors():
    with pytest.raises(AnsibleFilterError, match="cluster_policies_psa_levels"):
        flt.k8s_psa_plan([], [], {"enforce": "nope"})


def test_desired_per_area():
    out = flt.k8s_cluster_desired({"network_policy": ["a"], "limit_range": ["b"], "service_accounts": ["c"]},
                                  {"prefix": "x-", "memory": "1Gi"})
    assert [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in out] == [
        ("NetworkPolicy", "a", "x-default-deny"), ("NetworkPolicy", "a", "x-allow-dns"),
        ("LimitRange", "b", "x-memory"), ("ServiceAccount", "c", "default")]


def test_findings_from_k8s_info_results():
    ns = [{"kind": "Namespace", "metadata": {"name": n}} for n in ("default", "team", "kube-system")]
    results = [
        {"item": {"key": "namespaces"}, "resources": ns},
        {"item": {"key": "service_accounts"}, "resources": [
            {"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": n}} for n in ("default", "team",
                                                                                                  "kube-system")]},
        {"item": {"key": "workloads"}, "resources": [
            {"kind": "Deployment", "metadata": {"name": "app", "namespace": "default"},
             "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}]},
        {"item": {"key": "cluster_role_bindings"}, "resources": [
            {"kind": "ClusterRoleBinding", "metadata": {"name": "x"}, "roleRef": {"kind": "ClusterRole",
                                                                                  "name": "cluster-admin"},
             "subjects": [{"kind": "User", "name": "bob"}]}]},
        {"item": {"key": "secrets"}, "skipped": True},
    ]
    out = flt.k8s_cluster_findings({"k8s_info_results": results, "pods": []},
                                   {"selected": ["default", "team"], "exempt": ["kube-system"],
                                    "sa_managed": ["default", "team"]})
    counted = sorted((f["check"], f["object"]) for f in out["findings"] if f["counts"])
    assert ("cluster_admin", "ClusterRoleBinding x") in counted
    assert ("default_namespace", "Deployment default/app") in counted
    assert ("default_sa", "ServiceAccount team/default") in counted
    assert ("default_sa", "ServiceAccount kube-system/default") not in counted
    assert [f for f in out["findings"] if f["object"] == "ServiceAccount team/default"][0]["enforced"] is True
    assert "system_masters" not in out["gathered"] and "cluster_admin" in out["gathered"]
    assert out["namespaces"] == ["default", "kube-system", "team"]


def test_cluster_findings_take_the_enforced_level_per_namespace():
    spaces = [{"kind": "Namespace", "metadata": {"name": n, "labels": {"pod-security.kubernetes.io/enforce": lvl}}}
              for n, lvl in (("a", "privileged"), ("b", "privileged"), ("c", "baseline"))]
    results = [{"item": {"key": "namespaces"}, "resources": spaces}]
    out = flt.k8s_cluster_findings({"k8s_info_results": results, "pods": []},
                                   {"selected": ["a", "b", "c"], "psa_managed": ["a", "b", "c"],
                                    "psa_levels": {"enforce": "baseline"},
                                    # the operator named privileged for b, restricted for c
                                    "psa_namespace_levels": {"b": {"enforce": "privileged"},
                                                             "c": {"enforce": "restricted"}},
                                    "rbac": False, "hygiene": False, "masters": False})
    drift = sorted((f["namespace"], f["detail"].split(" is ")[1]) for f in out["findings"]
                   if f["check"] == "policy_control")
    assert drift == [("a", "looser than baseline, the level the role enforces here"),
                     ("c", "looser than restricted, the level the role enforces here")]
