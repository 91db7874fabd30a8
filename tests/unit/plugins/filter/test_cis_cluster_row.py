"""The report's cluster row through the cis_cluster_results filter (controller code: kept out of the
module_utils tests, which ansible-test runs without the controller)."""
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _report as rep
from ansible_collections.k8s_hardening.kubeadm.plugins.filter import cluster_policy as flt


def F(check, obj="X", counts=True, enforced=False):
    return {"check": check, "object": obj, "detail": "d", "why": "w", "counts": counts, "enforced": enforced}


def test_cluster_row_in_the_report_and_renderers():
    cluster = flt.cis_cluster_results({"findings": [F("cluster_admin", "ClusterRoleBinding test-admins"),
                                                    F("wildcards", "ClusterRole cluster-admin", counts=False)],
                                       "gathered": ["cluster_admin", "wildcards"], "cni": None}, {}, "cis-1.10")
    report = rep.build_report({}, "cis-1.10", [], cluster)
    assert list(report["nodes"]) == ["cluster"] and report["nodes"]["cluster"]["node_roles"] == ["cluster"]
    assert [r["id"] for r in rep.findings_rows(report)] == ["5.1.1"]
    md = rep.render_markdown(report)
    assert "## Cluster findings" in md
    assert "| 5.1.1 | cluster_admin | ClusterRoleBinding test-admins | d | w |" in md
    assert "1 more built-in or exempt" in md
    html = rep.render_html(report)
    assert "<h2>Cluster findings</h2>" in html and "ClusterRoleBinding test-admins" in html
    assert 'testsuite name="cluster"' in rep.render_junit(report)
    assert rep.build_report({"n": {"results": [], "node_roles": []}})["cluster_findings"] == []
    assert "## Cluster findings" not in rep.render_markdown(rep.build_report({"n": {"results": [], "node_roles": []}}))
