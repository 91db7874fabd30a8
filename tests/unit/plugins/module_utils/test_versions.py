"""Unit tests for plugins/module_utils/_versions.py: the API, and every row of the table at every minor
from 1.28 to 1.36 (what the row says a version takes, the lookups return)."""
import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions as v

MINORS = list(range(28, 37))


@pytest.mark.parametrize("text,expected", [
    ("1.28.7", (1, 28, 7)), ("v1.33.3", (1, 33, 3)), ("1.30", (1, 30, 0)), ("v1.31.2-eks-1", (1, 31, 2)),
    ("1.36.0-rc.1", (1, 36, 0)), ("v1.29.1+k3s1", (1, 29, 1))])
def test_parse_version(text, expected):
    assert v.parse_version(text) == expected
    assert v.minor_of(text) == expected[1]


@pytest.mark.parametrize("text", ["2.1.0", "latest", "", None, "1", "1.x", "v1"])
def test_parse_version_refuses(text):
    with pytest.raises(v.VersionError, match="not a Kubernetes version"):
        v.parse_version(text)


def test_minor_of_takes_ints_and_empty():
    assert v.minor_of(31) == 31 and v.minor_of("33") == 33 and v.minor_of(None) is None and v.minor_of("") is None


@pytest.mark.parametrize("version,ok", [("1.27.9", False), ("1.28.0", True), ("1.33.3", True), ("1.36.4", True),
                                        ("1.37.0", False), ("nonsense", False), (None, False)])
def test_supported(version, ok):
    assert v.supported(version) is ok


def test_check_supported_refuses_with_the_fix_and_allows_the_opt_in():
    assert v.check_supported("1.33.3") == []
    with pytest.raises(v.VersionError) as err:
        v.check_supported("1.37.1", host="cp1")
    text = str(err.value)
    assert "cp1: Kubernetes 1.37.1 is outside" in text and "1.28 to 1.36" in text
    assert "k8s_hardening_allow_untested_version: true" in text
    with pytest.raises(v.VersionError, match="unknown"):
        v.check_supported(None)
    warnings = v.check_supported("1.27.3", allow_untested=True)
    assert warnings and "1.27.3" in warnings[0] and "k8s_hardening_allow_untested_version" in warnings[0]


def test_every_row_has_a_source_and_a_known_kind():
    kinds = {v.FLAG, v.ADMISSION, v.GATE, v.FIELD, v.CONFIG_API, v.FEATURE, v.VALUE, v.CONFLICT}
    ids = set()
    for row in v.ROWS:
        assert row["kind"] in kinds, row
        assert row["source"].startswith("https://"), row
        assert row["component"] in v.COMPONENTS + ("report",), row
        assert v.row_id(row) not in ids, "duplicate row %s" % v.row_id(row)
        ids.add(v.row_id(row))
        if row["kind"] in (v.VALUE, v.GATE):
            assert row["values"] and row["values"][0][0] <= v.MIN_MINOR, row
        if row["kind"] == v.CONFLICT:
            assert len(row["members"]) == 2 and row["fix"], row
        if row["removed"] is not None and row["since"] is not None:
            assert row["since"] < row["removed"], row


def _expected_in(row, point):
    return (row["since"] is None or point >= row["since"]) and (row["removed"] is None or point < row["removed"])


@pytest.mark.parametrize("minor", MINORS)
def test_every_kubernetes_flag_row_at_every_minor(minor):
    version = "1.%d.0" % minor
    for row in v.rows(v.FLAG):
        if row["etcd"]:
            continue
        allowed = v.flag_allowed(row["component"], row["name"], version)
        assert allowed is _expected_in(row, minor), (row["name"], minor)
        problem = v.flag_problem(row["component"], "--" + row["name"], version)
        if not allowed:
            assert "--%s of %s" % (row["name"], row["component"]) in problem
            assert "this node runs 1.%d" % minor in problem
            if row["fix"]:
                assert row["fix"] in problem


@pytest.mark.parametrize("etcd,tls_min,experimental", [
    ("3.5.7", False, True), ("3.5.8", True, True), ("registry.k8s.io/etcd:3.5.21-0", True, True),
    ("3.6.0", True, False), ("etcd Version: 3.6.4", True, False), (None, False, True)])
def test_etcd_flag_rows(etcd, tls_min, experimental):
    assert v.flag_allowed("etcd", "tls-min-version", etcd) is tls_min
    assert v.flag_allowed("etcd", "experimental-initial-corrupt-check", etcd) is experimental
    assert v.flag_allowed("etcd", "experimental-anything-new", etcd) is experimental
    assert v.flag_allowed("etcd", "enable-v2", etcd) is experimental
    assert v.flag_allowed("etcd", "cert-file", etcd)


def test_etcd_experimental_problem_names_the_replacement():
    problem = v.flag_problem("etcd", "experimental-initial-corrupt-check", "3.6.4")
    assert "must not be written from etcd 3.6.0" in problem and "etcd 3.6.4" in problem
    assert "--feature-gates=InitialCorruptCheck=true" in problem
    assert v.etcd_replacement("experimental-watch-progress-notify-interval") == ("watch-progress-notify-interval", None)


@pytest.mark.parametrize("minor", MINORS)
def test_every_admission_row_at_every_minor(minor):
    for row in v.rows(v.ADMISSION):
        assert v.admission_plugin_allowed(row["name"], minor) is _expected_in(row, minor), (row["name"], minor)
        assert (row["name"] in v.admission_plugins(minor)) is _expected_in(row, minor)
    for name in v.ADMISSION_PLUGINS:
        assert v.admission_plugin_allowed(name, minor)


def test_admission_plugin_messages():
    assert "SecurityContextDeny was removed in Kubernetes 1.30; this node runs 1.33" in \
        v.admission_plugin_problem("SecurityContextDeny", "1.33.3")
    assert v.admission_plugin_problem("SecurityContextDeny", "1.29.9") is None
    assert "is not one kube-apiserver 1.28 to 1.36 registers" in v.admission_plugin_problem("PodSecurityPolicy", 28)


@pytest.mark.parametrize("minor", MINORS)
def test_every_value_and_gate_row_at_every_minor(minor):
    for row in v.rows(v.VALUE) + v.rows(v.GATE):
        expected = None
        for first, val in row["values"]:
            if minor >= first:
                expected = val
        assert v.value(row["name"], "1.%d.3" % minor) == expected, (row["name"], minor)


@pytest.mark.parametrize("minor,benchmark,authn,kubeadm_api,kms_v1,cgroup_v1_fails,etcd", [
    (28, "cis-1.10", None, "kubeadm.k8s.io/v1beta3", True, None, "3.5.10"),
    (29, "cis-1.11", "apiserver.config.k8s.io/v1alpha1", "kubeadm.k8s.io/v1beta3", False, None, "3.5.10"),
    (30, "cis-1.11", "apiserver.config.k8s.io/v1beta1", "kubeadm.k8s.io/v1beta3", False, None, "3.5.12"),
    (31, "cis-1.11", "apiserver.config.k8s.io/v1beta1", "kubeadm.k8s.io/v1beta4", False, False, "3.5.15"),
    (32, "cis-1.12", "apiserver.config.k8s.io/v1beta1", "kubeadm.k8s.io/v1beta4", False, False, "3.5.16"),
    (33, "cis-1.12", "apiserver.config.k8s.io/v1beta1", "kubeadm.k8s.io/v1beta4", False, False, "3.5.21"),
    (34, "cis-1.12", "apiserver.config.k8s.io/v1", "kubeadm.k8s.io/v1beta4", False, False, "3.6.4"),
    (35, "cis-1.12", "apiserver.config.k8s.io/v1", "kubeadm.k8s.io/v1beta4", False, True, "3.6.6"),
    (36, "cis-1.12", "apiserver.config.k8s.io/v1", "kubeadm.k8s.io/v1beta4", False, True, "3.6.6"),
])
def test_the_values_the_issue_names(minor, benchmark, authn, kubeadm_api, kms_v1, cgroup_v1_fails, etcd):
    version = "1.%d.1" % minor
    assert v.value("cis_benchmark", version) == benchmark
    assert v.value("authentication_config_api_version", version) == authn
    assert v.value("kubeadm_config_api_version", version) == kubeadm_api
    assert v.gate_default("KMSv1", version) is kms_v1
    assert v.value("fail_cgroup_v1_default", version) is cgroup_v1_fails
    assert v.value("etcd_version", version) == etcd


@pytest.mark.parametrize("minor", MINORS)
def test_every_feature_and_config_api_row_at_every_minor(minor):
    for row in v.rows(v.FEATURE) + v.rows(v.CONFIG_API):
        assert v.feature(row["name"], minor) is _expected_in(row, minor), (row["name"], minor)


@pytest.mark.parametrize("minor,anonymous,super_admin,streaming,v1beta3,v1beta4,authn_v1", [
    (28, False, False, True, True, False, False), (29, False, True, True, True, False, False),
    (31, False, True, True, True, True, False), (32, True, True, True, True, True, False),
    (34, True, True, False, True, True, True), (35, True, True, False, True, True, True),
    (36, True, True, False, False, True, True)])
def test_the_features_the_issue_names(minor, anonymous, super_admin, streaming, v1beta3, v1beta4, authn_v1):
    assert v.feature("anonymous_in_authentication_config", minor) is anonymous
    assert v.feature("super_admin_conf", minor) is super_admin
    assert v.feature("streaming_connection_idle_timeout_effective", minor) is streaming
    assert v.feature("ClusterConfiguration kubeadm.k8s.io/v1beta3", minor) is v1beta3
    assert v.feature("ClusterConfiguration kubeadm.k8s.io/v1beta4", minor) is v1beta4
    assert v.feature("AuthenticationConfiguration apiserver.config.k8s.io/v1", minor) is authn_v1


@pytest.mark.parametrize("minor", MINORS)
def test_every_field_row_at_every_minor(minor):
    for row in v.rows(v.FIELD):
        found = v.field_problem(row["component"], row["name"], minor)
        assert (found is None) is _expected_in(row, minor)
        if found:
            assert found[0] == row["effect"] and "this node runs 1.%d" % minor in found[1]


@pytest.mark.parametrize("minor", MINORS)
def test_every_conflict_row_at_every_minor(minor):
    names = [r["name"] for r in v.conflicts("kube-apiserver", minor)]
    for row in v.rows(v.CONFLICT):
        assert (row["name"] in names) is _expected_in(row, minor)


def test_config_api_problem():
    assert "ClusterConfiguration kubeadm.k8s.io/v1beta3 was removed in Kubernetes 1.36" in \
        v.config_api_problem("ClusterConfiguration", "kubeadm.k8s.io/v1beta3", "1.36.0")
    assert v.config_api_problem("ClusterConfiguration", "kubeadm.k8s.io/v1beta3", "1.35.0") is None
    assert "needs Kubernetes 1.34 or later; this node runs 1.33" in \
        v.config_api_problem("AuthenticationConfiguration", "apiserver.config.k8s.io/v1", "1.33.3")


def test_removed_flags_and_out_of_range_takes_the_nearest_version():
    assert v.removed_flags("kubelet", "1.35.0") == ["cloud-config", "pod-infra-container-image"]
    assert v.removed_flags("kubelet", "1.33.3") == []
    assert "cloud-provider" in v.removed_flags("kube-apiserver", "1.33.3")
    assert v.value("cis_benchmark", "1.40.0") == "cis-1.12"
    assert v.value("cis_benchmark", "1.20.0") == "cis-1.10"


def test_lookups_of_unknown_rows_fail():
    with pytest.raises(KeyError):
        v.value("no_such_value", "1.30.0")
    with pytest.raises(KeyError):
        v.feature("no_such_feature", "1.30.0")


def test_rows_are_copies():
    rows = v.rows()
    rows[0]["name"] = "changed"
    assert v.ROWS[0]["name"] != "changed"
