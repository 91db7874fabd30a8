"""Tests for the cis_* filters (plugins/filter/cis.py) and their sidecar documentation."""
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.filter import cis as flt

FILTER_DIR = os.path.dirname(flt.__file__)


def test_filters_registered_and_documented():
    names = sorted(flt.FilterModule().filters())
    assert names == ["cis_controls", "cis_remedies", "cis_static_pod_contribution", "cis_violations"]
    for name in names:
        with open(os.path.join(FILTER_DIR, name + ".yml")) as handle:
            doc = yaml.safe_load(handle)
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["EXAMPLES"] and doc["RETURN"]


def test_remedies_positional_like_the_roles_call_it():
    # 'flag' | cis_remedies('kube-apiserver', k8s_hardening_waivers)
    got = flt.cis_remedies("flag", "kube-apiserver", {"1.2.15": "APM"})
    assert "profiling" not in got and got["audit-log-maxage"] == "30"
    assert flt.cis_remedies("file", None, {})[0]["path"] == "/etc/kubernetes/manifests/kube-apiserver.yaml"


def test_violations_through_filter():
    desired = dict(flt.cis_remedies("flag", "kube-scheduler"), **{"bind-address": "0.0.0.0"})
    found = flt.cis_violations(desired, "flag", "kube-scheduler", {})
    assert [v["id"] for v in found] == ["1.4.2"]
    assert flt.cis_violations(desired, "flag", "kube-scheduler", {"1.4.2": "LB health checks"}) == []


@pytest.mark.parametrize("call", [
    lambda: flt.cis_remedies("flag"),
    lambda: flt.cis_remedies("flag", "kube-apiserver", {"1.2.99": "x"}),
    lambda: flt.cis_violations({}, "flag", "kube-apiserver", [], "cis-1.12"),
    lambda: flt.cis_controls("cis-2.0"),
])
def test_errors_are_filter_errors(call):
    with pytest.raises(AnsibleFilterError):
        call()


def test_controls_per_benchmark():
    ids_110 = [c["id"] for c in flt.cis_controls("cis-1.10")]
    ids_112 = [c["id"] for c in flt.cis_controls("cis-1.12")]
    assert "1.2.30" not in ids_110 and "1.2.30" in ids_112
    assert all("overrides" not in c for c in flt.cis_controls())


def test_static_pod_contribution():
    contrib = flt.cis_static_pod_contribution("kube-apiserver", {}, source="control_plane")
    assert contrib["source"] == "control_plane" and contrib["component"] == "kube-apiserver"
    assert contrib["absent_flags"] == ["token-auth-file"]
    assert contrib["list_remove"]["enable-admission-plugins"] == ["AlwaysAdmit"]
