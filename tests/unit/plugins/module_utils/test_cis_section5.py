"""CIS section 5 in the one CIS table (_cis.py): the cluster-level controls with kube-bench's per-benchmark
numbering, their evaluation on the cluster observation, and the report's cluster row and findings."""
import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _cis as cis

S5_COMMON = (["5.1.%d" % i for i in range(1, 14)] + ["5.2.%d" % i for i in range(1, 13)]
             + ["5.3.1", "5.3.2", "5.4.1", "5.4.2", "5.5.1"])


@pytest.mark.parametrize("benchmark,extra,count", [
    ("cis-1.10", ["5.2.13", "5.7.1", "5.7.2", "5.7.3", "5.7.4"], 35),
    ("cis-1.11", ["5.2.13", "5.6.1", "5.6.2", "5.6.3", "5.6.4"], 35),
    ("cis-1.12", ["5.6.1", "5.6.2", "5.6.3", "5.6.4"], 34),
])
def test_section5_ids_per_benchmark(benchmark, extra, count):
    ids = [c["id"] for c in cis.controls(benchmark) if c["id"].startswith("5.")]
    assert sorted(ids) == sorted(S5_COMMON + extra) and len(ids) == count


@pytest.mark.parametrize("cid,benchmark,check,title", [
    ("5.2.9", "cis-1.11", "added_capabilities", "Minimize the admission of containers with added capabilities"),
    ("5.2.9", "cis-1.12", "capabilities_assigned", "Minimize the admission of containers with capabilities assigned"),
    ("5.2.10", "cis-1.12", "host_process", "Minimize the admission of Windows HostProcess containers"),
    ("5.2.11", "cis-1.12", "host_path", "Minimize the admission of HostPath volumes"),
    ("5.2.12", "cis-1.12", "host_ports", "Minimize the admission of containers which use HostPorts"),
    ("5.2.12", "cis-1.10", "host_path", "Minimize the admission of HostPath volumes"),
    ("5.2.13", "cis-1.11", "host_ports", "Minimize the admission of containers which use HostPorts"),
    ("5.7.4", "cis-1.10", "default_namespace", "The default namespace should not be used"),
    ("5.6.4", "cis-1.12", "default_namespace", "The default namespace should not be used"),
    ("5.6.2", "cis-1.11", "seccomp",
     "Ensure that the seccomp profile is set to docker/default in your Pod definitions"),
])
def test_renumbering(cid, benchmark, check, title):
    ctl = cis.get_control(cid, benchmark)
    assert ctl["target"] == {"type": "cluster", "check": check} and ctl["title"] == title
    assert ctl["scored"] is False and ctl["node_roles"] == ["cluster"]


def test_absent_where_kube_bench_has_none():
    assert cis.get_control("5.2.13", "cis-1.12") is None
    assert cis.get_control("5.7.4", "cis-1.11") is None and cis.get_control("5.6.4", "cis-1.10") is None
    assert cis.get_control("5.1.1", "cis-1.10")["automated"] is True
    assert cis.get_control("5.1.1", "cis-1.11")["automated"] is False


def F(check, obj="X", counts=True, enforced=False):
    return {"check": check, "object": obj, "detail": "d", "why": "w", "counts": counts, "enforced": enforced}


def rows(findings, gathered, waivers=None, benchmark="cis-1.12"):
    return dict((r["id"], r) for r in cis.evaluate_cluster(findings, gathered, waivers, benchmark))


def test_cluster_evaluation_statuses():
    got = rows([F("cluster_admin", "ClusterRoleBinding test-admins"), F("cluster_admin", "builtin", counts=False),
                F("default_sa", enforced=True), F("policy_control")],
               ["cluster_admin", "default_sa", "policy_control", "wildcards"])
    assert got["5.1.1"]["status"] == "manual" and "ClusterRoleBinding test-admins" in got["5.1.1"]["observed"]
    assert "1 built-in or exempt listed" in got["5.1.1"]["observed"]
    assert got["5.1.5"]["status"] == "fail" and got["5.1.5"]["reason"].startswith("drift")
    assert got["5.2.1"]["status"] == "manual"              # in a namespace the role does not manage
    assert got["5.1.3"]["status"] == "pass"
    assert got["5.1.2"]["status"] == "manual" and "not gathered" in got["5.1.2"]["reason"]
    assert got["5.4.2"]["status"] == "manual"
    assert got["1.2.1"]["status"] == "not_applicable"
    waived = rows([F("default_sa", enforced=True)], ["default_sa"], {"5.1.5": "legacy apps"})
    assert waived["5.1.5"]["status"] == "waived" and "would be fail" in waived["5.1.5"]["reason"]
