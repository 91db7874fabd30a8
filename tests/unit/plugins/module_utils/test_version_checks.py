"""Unit tests for plugins/module_utils/_version_checks.py: the preflight refuses every version-specific bad input
the issue names, and the upgrade check reads the real kubeadm v1.28.7 and v1.33.3 files (tests/unit/fixtures)."""
import base64
import os

import pytest
import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _version_checks as vc
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions as v

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
TREES = {"1.28.7": (os.path.join(FIXTURES, "manifests"), os.path.join(FIXTURES, "kubelet")),
         "1.33.3": (os.path.join(FIXTURES, "kubeadm-v1.33.3", "manifests"),
                    os.path.join(FIXTURES, "kubeadm-v1.33.3", "kubelet"))}
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
AUTHN = {"apiVersion": "apiserver.config.k8s.io/v1beta1", "kind": "AuthenticationConfiguration",
         "anonymous": {"enabled": True, "conditions": [{"path": "/livez"}]}}


def _read(path):
    with open(path) as handle:
        return handle.read()


def _tree(version):
    manifests, kubelet = TREES[version]
    return {
        "manifests": dict((c, _read(os.path.join(manifests, c + ".yaml"))) for c in COMPONENTS),
        "kubelet_env": [{"file": "/var/lib/kubelet/kubeadm-flags.env", "variable": "KUBELET_KUBEADM_ARGS",
                         "owner": "kubeadm", "text": _read(os.path.join(kubelet, "kubeadm-flags.env"))}],
        "kubelet_config": yaml.safe_load(_read(os.path.join(kubelet, "config.yaml"))),
    }


def _apiserver(flags, absent=None, variable="control_plane_apiserver_extra_flags"):
    return {"component": "kube-apiserver", "flags": flags, "absent_flags": absent or [], "variable": variable}


def _errors(plan, version):
    return vc.preflight(plan, version)["errors"]


# ---------------------------------------------------------------- the refusals the issue names
@pytest.mark.parametrize("plan,version,fragments", [
    ({"encryption": {"providers": [{"type": "kms", "config": {"apiVersion": "v1", "name": "vault"}}],
                     "variable": "encryption_kms"}}, "1.29.0",
     ["encryption_kms", "kms apiVersion v1 stops kube-apiserver 1.29", "encryption_kms_v1_feature_gate"]),
    ({"encryption": {"providers": [{"type": "kms", "config": {"name": "vault"}}]}}, "1.33.3",
     ["kms apiVersion v1 stops kube-apiserver 1.33", "use apiVersion: v2"]),
    ({"static_pods": [_apiserver({"cloud-provider": "external"})]}, "1.33.3",
     ["control_plane_apiserver_extra_flags", "--cloud-provider of kube-apiserver was removed in Kubernetes 1.33",
      "this node runs 1.33", "control_plane_apiserver_absent_flags: [cloud-provider]"]),
    ({"static_pods": [_apiserver({"cloud-config": "/etc/kubernetes/cloud.conf"})]}, "1.34.0",
     ["--cloud-config of kube-apiserver was removed in Kubernetes 1.33"]),
    ({"static_pods": [_apiserver({"enable-admission-plugins": "NodeRestriction,SecurityContextDeny"},
                                 variable="control_plane_admission_plugins")]}, "1.30.0",
     ["control_plane_admission_plugins", "SecurityContextDeny was removed in Kubernetes 1.30",
      "Pod Security admission"]),
    ({"static_pods": [_apiserver({"authorization-config": "/etc/kubernetes/authz.yaml"})]}, "1.33.3",
     ["--authorization-mode and --authorization-config cannot both be set on Kubernetes 1.33",
      "put authorization-mode in control_plane_apiserver_absent_flags"]),
    ({"static_pods": [_apiserver({"authentication-config": "/a", "anonymous-auth": "false"}, ["anonymous-auth"])],
      "authentication_config": {"doc": AUTHN, "variable": "control_plane_anonymous_auth"}}, "1.33.3",
     ["--anonymous-auth and an anonymous block in the AuthenticationConfiguration cannot both be set"]),
    ({"kubelet_flags": [{"file": "/etc/default/kubelet", "variable": "KUBELET_EXTRA_ARGS", "owner": "admin",
                         "flags": {"pod-infra-container-image": "registry.k8s.io/pause:3.10"}}]}, "1.35.0",
     ["KUBELET_EXTRA_ARGS in /etc/default/kubelet", "--pod-infra-container-image of kubelet was removed in "
      "Kubernetes 1.35", "kubelet_remove_flags"]),
    ({"kubelet_flags": [{"file": "/etc/default/kubelet", "flag": "cloud-config", "value": "/etc/cloud.conf",
                         "cis": None}]}, "1.34.2",
     ["--cloud-config of kubelet was removed in Kubernetes 1.34", "this node runs 1.34"]),
    ({"etcd": {"version": "registry.k8s.io/etcd:3.6.4-0", "flags": {"experimental-new-thing": "true"},
               "variable": "/etc/kubernetes/manifests/etcd.yaml"}}, "1.34.1",
     ["--experimental-new-thing of etcd must not be written from etcd 3.6.0", "this node runs etcd 3.6.4"]),
    ({"authentication_config": {"doc": dict(AUTHN, apiVersion="apiserver.config.k8s.io/v1"),
                                "variable": "control_plane_anonymous_auth"}}, "1.33.3",
     ["apiserver.config.k8s.io/v1 needs Kubernetes 1.34 or later", "write apiserver.config.k8s.io/v1beta1"]),
    ({"authentication_config": {"doc": AUTHN, "variable": "control_plane_anonymous_auth"}}, "1.31.4",
     ["anonymous in AuthenticationConfiguration (v1beta1) needs Kubernetes 1.32 or later"]),
    ({"static_pods": [_apiserver({"authentication-config": "/a"})]}, "1.29.5",
     ["--authentication-config of kube-apiserver needs Kubernetes 1.30 or later"]),
    ({"static_pods": [{"component": "kube-scheduler", "flags": {"port": "0"}, "variable": "sched"}]}, "1.28.7",
     ["sched: --port of kube-scheduler was removed in Kubernetes 1.24"]),
])
def test_preflight_refuses(plan, version, fragments):
    errors = _errors(plan, version)
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


@pytest.mark.parametrize("plan,version", [
    ({"encryption": {"providers": [{"type": "kms", "config": {"apiVersion": "v1", "name": "vault"}}]}}, "1.28.7"),
    ({"encryption": {"providers": [{"type": "kms", "config": {"apiVersion": "v1", "name": "vault"}}],
                     "kms_v1_gate": True}}, "1.33.3"),
    ({"encryption": {"providers": [{"type": "kms", "config": {"apiVersion": "v2", "name": "vault"}}]}}, "1.36.0"),
    ({"static_pods": [_apiserver({"cloud-provider": "external"})]}, "1.32.9"),
    ({"static_pods": [_apiserver({"enable-admission-plugins": "SecurityContextDeny"})]}, "1.29.0"),
    ({"static_pods": [_apiserver({"authorization-config": "/a"}, ["authorization-mode"])]}, "1.33.3"),
    # health-only: the role removes --anonymous-auth
    ({"static_pods": [_apiserver({"authentication-config": "/a"}, ["anonymous-auth"])],
      "authentication_config": {"doc": AUTHN}}, "1.33.3"),
    ({"kubelet_flags": [{"file": "/etc/default/kubelet", "owner": "admin",
                         "flags": {"pod-infra-container-image": "x"}}]}, "1.34.0"),
    ({"kubelet_flags": [{"file": "/etc/default/kubelet", "owner": "admin", "flags": {"pod-infra-container-image": "x"}}],
      "kubelet_remove_flags": ["pod-infra-container-image"]}, "1.35.0"),
    ({"kubelet_flags": [{"file": "/var/lib/kubelet/kubeadm-flags.env", "owner": "kubeadm",
                         "flags": {"pod-infra-container-image": "x"}}]}, "1.35.0"),
    ({"etcd": {"version": "3.6.4", "flags": {"experimental-initial-corrupt-check": "true"}}}, "1.34.0"),
    ({"etcd": {"version": "3.5.21", "flags": {"experimental-new-thing": "true"}}}, "1.33.3"),
    ({"authentication_config": {"doc": dict(AUTHN, apiVersion="apiserver.config.k8s.io/v1")}}, "1.34.0"),
])
def test_preflight_accepts(plan, version):
    assert _errors(plan, version) == []


def test_preflight_warnings_ignored_fields_and_streaming():
    out = vc.preflight({"kubelet_config": {"settings": {"failCgroupV1": False, "streamingConnectionIdleTimeout": "5m"},
                                           "variable": "kubelet_config_overrides"}}, "1.28.7")
    assert out["errors"] == [] and "kubelet field failCgroupV1 needs Kubernetes 1.31" in out["warnings"][0]
    out = vc.preflight({"kubelet_config": {"settings": {"streamingConnectionIdleTimeout": "5m"}}}, "1.34.0")
    assert out["errors"] == [] and "no effect from Kubernetes 1.34" in out["warnings"][0]


def test_preflight_version_refusal_and_opt_in():
    with pytest.raises(v.VersionError, match="k8s_hardening_allow_untested_version"):
        vc.preflight({}, "1.37.0")
    out = vc.preflight({"static_pods": [_apiserver({"cloud-provider": "x"})]}, "1.37.0", allow_untested=True,
                       host="cp1")
    assert "cp1: Kubernetes 1.37.0 is outside" in out["warnings"][0]
    assert out["errors"][0].startswith("cp1: control_plane_apiserver_extra_flags: --cloud-provider")
    with pytest.raises(vc.VersionCheckError):
        vc.preflight(["not", "a", "dict"], "1.33.3")


@pytest.mark.parametrize("minor", list(range(28, 37)))
def test_preflight_of_what_the_collection_writes_on_the_real_kubeadm_manifests(minor):
    """At every minor, the control_plane, encryption, etcd and kubelet roles' default output on top of kubeadm's own
    files (v1.28.7's tree at 1.28, v1.33.3's after) passes; the only warnings are the ones the table predicts."""
    version = "1.%d.0" % minor
    state = _tree("1.28.7" if minor == 28 else "1.33.3")
    api = vc.manifest_flags(state["manifests"]["kube-apiserver"])
    written = dict(api, **{"profiling": "false", "request-timeout": "60s", "tls-min-version": "VersionTLS12",
                           "service-account-extend-token-expiration": "false",
                           "enable-admission-plugins": "NodeRestriction,EventRateLimit,DenyServiceExternalIPs",
                           "admission-control-config-file": "/etc/kubernetes/admission/admission-config.yaml",
                           "audit-policy-file": "/etc/kubernetes/audit/policy.yaml",
                           "encryption-provider-config": "/etc/kubernetes/enc/encryption-config.yaml",
                           "encryption-provider-config-automatic-reload": "true"})
    plan = {"static_pods": [_apiserver(written)],
            "encryption": {"providers": [{"type": "secretbox", "keys": []}, {"type": "identity"}]}}
    if v.feature("anonymous_in_authentication_config", version):
        written["authentication-config"] = "/etc/kubernetes/authentication/authentication-config.yaml"
        plan["static_pods"][0]["absent_flags"] = ["anonymous-auth"]
        api_version = v.value("authentication_config_api_version", version)
        plan["authentication_config"] = {"doc": dict(AUTHN, apiVersion=api_version)}
    for comp in ("kube-controller-manager", "kube-scheduler"):
        flags = dict(vc.manifest_flags(state["manifests"][comp]), profiling="false", **{"bind-address": "127.0.0.1"})
        plan["static_pods"].append({"component": comp, "flags": flags, "variable": comp})
    etcd = vc.manifest_flags(state["manifests"]["etcd"])
    plan["etcd"] = {"version": v.value("etcd_version", version), "flags": dict(etcd, **{"tls-min-version": "TLS1.2"})}
    plan["kubelet_config"] = {"settings": dict(state["kubelet_config"], streamingConnectionIdleTimeout="5m",
                                               protectKernelDefaults=True, readOnlyPort=0, seccompDefault=True)}
    plan["kubelet_flags"] = [dict(state["kubelet_env"][0], flags=vc.env_flags(state["kubelet_env"][0]["text"],
                                                                              "KUBELET_KUBEADM_ARGS"))]
    out = vc.preflight(plan, version)
    assert out["errors"] == []
    expected = 0
    if minor >= 34:   # etcd 3.6: the experimental flags are replaced; streamingConnectionIdleTimeout has no effect
        assert sum("experimental" in w and "writes the new name" in w for w in out["warnings"]) == 2
        assert sum("no effect from Kubernetes 1.34" in w for w in out["warnings"]) == 1
        expected += 3
    if minor >= 35:   # kubeadm's own flags file: the kubelet role leaves the removed flag out
        assert sum("pod-infra-container-image" in w and "leaves it out" in w for w in out["warnings"]) == 1
        expected += 1
    assert len(out["warnings"]) == expected, out["warnings"]


# ---------------------------------------------------------------- upgrade
def _by(findings, severity=None):
    return [(f["item"], f["where"]) for f in findings if severity is None or f["severity"] == severity]


def test_upgrade_1_33_to_1_34_from_the_real_tree():
    findings = vc.upgrade_findings(_tree("1.33.3"), "1.33.3", "1.34.0")
    assert _by(findings, vc.BREAKS) == []
    changes = _by(findings, vc.CHANGES)
    assert ("--experimental-initial-corrupt-check", "etcd manifest") in changes
    assert ("--experimental-watch-progress-notify-interval", "etcd manifest") in changes
    notes = _by(findings, vc.NOTE)
    # kubeadm v1.33.3 writes streamingConnectionIdleTimeout: 0s into config.yaml: no effect from 1.34
    assert ("streamingConnectionIdleTimeout", "KubeletConfiguration") in notes
    # kubeadm's own flags file still carries --pod-infra-container-image: fine until 1.35
    assert not [f for f in findings if f["item"] == "--pod-infra-container-image"]


def test_upgrade_1_34_to_1_35_cgroup_v1_and_kubelet_flags():
    state = _tree("1.33.3")
    state["cgroup_version"] = 1
    state["kubelet_config"]["streamingConnectionIdleTimeout"] = "5m"
    state["kubelet_env"].append({"file": "/etc/default/kubelet", "variable": "KUBELET_EXTRA_ARGS", "owner": "admin",
                                 "text": 'KUBELET_EXTRA_ARGS="--pod-infra-container-image=registry.k8s.io/pause:3.10 '
                                         '--cloud-config=/etc/cloud.conf --v=2"\n'})
    findings = vc.upgrade_findings(state, "1.34.3", "1.35.0")
    breaks = _by(findings, vc.BREAKS)
    assert ("cgroup v1", "the node") in breaks
    assert ("--pod-infra-container-image", "KUBELET_EXTRA_ARGS in /etc/default/kubelet") in breaks
    assert ("--cloud-config", "KUBELET_EXTRA_ARGS in /etc/default/kubelet") in breaks
    changes = _by(findings, vc.CHANGES)
    assert ("--pod-infra-container-image", "KUBELET_KUBEADM_ARGS in /var/lib/kubelet/kubeadm-flags.env") in changes
    cgroup = [f for f in findings if f["item"] == "cgroup v1"][0]
    assert "failCgroupV1: false" in cgroup["fix"] and cgroup["source"].startswith("https://")
    # failCgroupV1: false keeps the kubelet running on cgroup v1
    state["kubelet_config"]["failCgroupV1"] = False
    assert ("cgroup v1", "the node") not in _by(vc.upgrade_findings(state, "1.34.3", "1.35.0"), vc.BREAKS)
    state["cgroup_version"] = 2
    del state["kubelet_config"]["failCgroupV1"]
    assert ("cgroup v1", "the node") not in _by(vc.upgrade_findings(state, "1.34.3", "1.35.0"))


def test_upgrade_streaming_note_only_when_crossing_1_34():
    state = {"kubelet_config": {"streamingConnectionIdleTimeout": "5m"}}
    assert ("streamingConnectionIdleTimeout", "KubeletConfiguration") in _by(
        vc.upgrade_findings(state, "1.33.3", "1.34.0"), vc.NOTE)
    assert not vc.upgrade_findings(state, "1.34.0", "1.35.0") or ("streamingConnectionIdleTimeout",
                                                                  "KubeletConfiguration") not in _by(
        vc.upgrade_findings(state, "1.34.0", "1.35.0"))


def test_upgrade_1_32_to_1_33_apiserver_flags_in_manifest_and_kubeadm_config():
    state = _tree("1.33.3")
    state["manifests"]["kube-apiserver"] = state["manifests"]["kube-apiserver"].replace(
        "    - --advertise-address", "    - --cloud-provider=external\n    - --advertise-address").replace(
        "--enable-admission-plugins=NodeRestriction", "--enable-admission-plugins=NodeRestriction,SecurityContextDeny")
    state["kubeadm_config"] = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
                               "apiServer": {"extraArgs": [{"name": "cloud-config", "value": "/etc/c.conf"}]},
                               "etcd": {"local": {"extraArgs": [{"name": "experimental-initial-corrupt-check",
                                                                 "value": "true"}]}}}
    findings = vc.upgrade_findings(state, "1.32.4", "1.33.0")
    breaks = _by(findings, vc.BREAKS)
    assert ("--cloud-provider", "kube-apiserver manifest") in breaks
    assert ("SecurityContextDeny", "kube-apiserver manifest --enable-admission-plugins") in breaks
    assert ("--cloud-config", "kube-system/kubeadm-config apiServer.extraArgs") in breaks
    # etcd 3.5.21 at 1.33 still takes the experimental names
    assert not [f for f in findings if "etcd.local" in f["where"]]
    fix = [f for f in findings if f["item"] == "--cloud-config"][0]["fix"]
    assert "kubeadm upgrade apply" in fix


def test_upgrade_kubeadm_v1beta3_kms_v1_and_authn():
    state = {"kubeadm_config": {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
                                "apiServer": {"extraArgs": {"profiling": "false"}}},
             "encryption_config": {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                                   "resources": [{"resources": ["secrets"], "providers": [
                                       {"kms": {"name": "vault", "endpoint": "unix:///k.sock"}}, {"identity": {}}]}]},
             "manifests": {"kube-apiserver": {"feature-gates": "KMSv1=false"}},
             "authentication_config": dict(AUTHN, apiVersion="apiserver.config.k8s.io/v1alpha1")}
    findings = vc.upgrade_findings(state, "1.35.2", "1.36.0")
    breaks = _by(findings, vc.BREAKS)
    assert ("kubeadm.k8s.io/v1beta3", "kube-system/kubeadm-config") in breaks
    assert ("kms v1", "EncryptionConfiguration") in breaks
    assert all("secret" not in str(f).lower() or "secrets" in str(f).lower() for f in findings)
    state["manifests"]["kube-apiserver"] = {"feature-gates": "KMSv1=true"}
    assert ("kms v1", "EncryptionConfiguration") not in _by(vc.upgrade_findings(state, "1.35.2", "1.36.0"))
    # 1.28 -> 1.29: kms v1 stops working at the upgrade, and the report benchmark and super-admin.conf change
    state["manifests"] = {}
    findings = vc.upgrade_findings(state, "1.28.7", "1.29.0")
    assert ("kms v1", "EncryptionConfiguration") in _by(findings, vc.BREAKS)
    notes = _by(findings, vc.NOTE)
    assert ("CIS benchmark", "report") in notes and ("super-admin.conf", "/etc/kubernetes") in notes


def test_upgrade_version_rules():
    assert _by(vc.upgrade_findings({}, "1.28.7", "1.30.0"), vc.BREAKS) == [("version", "k8s_hardening_target_version")]
    assert "skips 1.29" in vc.upgrade_findings({}, "1.28.7", "1.30.0")[0]["message"]
    assert "does not downgrade" in vc.upgrade_findings({}, "1.33.3", "1.32.0")[0]["message"]
    assert "outside the version table" in vc.upgrade_findings({}, "1.36.1", "1.37.0")[0]["message"]
    with pytest.raises(v.VersionError):
        vc.upgrade_findings({}, "1.33.3", "next")


def test_upgrade_etcd_needs_3_5_20_before_3_6():
    findings = vc.upgrade_findings({"etcd_version": "registry.k8s.io/etcd:3.5.16-0"}, "1.33.0", "1.34.0")
    assert ("etcd", "etcd 3.5.16") in _by(findings, vc.BREAKS)
    assert not vc.upgrade_findings({"etcd_version": "registry.k8s.io/etcd:3.5.21-0"}, "1.33.3", "1.34.0")


def test_state_from_read_files_results():
    def entry(item, text):
        out = {"item": item, "source": item["path"]}
        if text is not None:
            out["content"] = base64.b64encode(text.encode()).decode()
        else:
            out["failed"] = True
        return out
    api = _read(os.path.join(TREES["1.33.3"][0], "kube-apiserver.yaml"))
    results = [
        entry({"path": "/m/kube-apiserver.yaml", "role": "manifest", "component": "kube-apiserver"}, api),
        entry({"path": "/var/lib/kubelet/kubeadm-flags.env", "role": "kubeadm_flags_env"},
              'KUBELET_KUBEADM_ARGS="--pod-infra-container-image=x"\n'),
        entry({"path": "/etc/default/kubelet", "role": "extra_env", "variable": "KUBELET_EXTRA_ARGS"}, None),
        entry({"path": "/var/lib/kubelet/config.yaml", "role": "kubelet_config"}, "failCgroupV1: true\n"),
        entry({"path": "/etc/kubernetes/enc/encryption-config.yaml", "role": "encryption_config"}, None),
        entry({"path": "/sys/fs/cgroup/cgroup.controllers", "role": "cgroup"}, None),
    ]
    results.append(entry({"path": "/etc/kubernetes/k8s-hardening/kubeadm-config.yaml", "role": "kubeadm_config"},
                         "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n"
                         "  - name: cloud-provider\n    value: external\n"))
    state = vc.state_from_files(results, etcd_version="3.5.21")
    assert state["kubeadm_config"]["apiServer"]["extraArgs"][0]["name"] == "cloud-provider"
    assert ("--cloud-provider", "kube-system/kubeadm-config apiServer.extraArgs") in _by(
        vc.upgrade_findings(state, "1.32.0", "1.33.0"), vc.BREAKS)
    # the API's ClusterConfiguration wins over the file
    assert vc.state_from_files(results, kubeadm_config={"apiVersion": "kubeadm.k8s.io/v1beta4"})["kubeadm_config"] == \
        {"apiVersion": "kubeadm.k8s.io/v1beta4"}
    results.pop()
    assert list(state["manifests"]) == ["kube-apiserver"] and state["cgroup_version"] == 1
    assert state["kubelet_env"][0]["owner"] == "kubeadm" and state["kubelet_config"] == {"failCgroupV1": True}
    assert "encryption_config" not in state
    findings = vc.upgrade_findings({"files": results}, "1.34.0", "1.35.0")
    assert ("cgroup v1", "the node") in _by(findings, vc.BREAKS)
    assert ("--pod-infra-container-image", "KUBELET_KUBEADM_ARGS in /var/lib/kubelet/kubeadm-flags.env") in \
        _by(findings, vc.CHANGES)
    results[-1] = entry({"path": "/sys/fs/cgroup/cgroup.controllers", "role": "cgroup"}, "cpu memory pids\n")
    assert vc.state_from_files(results)["cgroup_version"] == 2


def test_version_notes():
    assert any("no effect from Kubernetes 1.34" in n for n in vc.version_notes("1.34.1"))
    assert any("super-admin.conf" in n for n in vc.version_notes("1.28.7"))
    assert any("health-only" in n for n in vc.version_notes("1.31.0"))
    assert vc.version_notes("1.33.3") == []
    assert "unknown" in vc.version_notes(None)[0]
