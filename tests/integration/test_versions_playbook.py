"""The version table in real ansible-playbook runs on localhost, against a temp tree laid out like a kubeadm
control-plane node (kubeadm v1.33.3's or v1.28.7's reference manifests and kubelet files, real modes; made by
tests/integration/kubeadm_tree.py). The apiserver image tag in the tree is the node's version as kubeadm_facts
detects it, so a "1.35.0" node is kubeadm v1.33.3's tree with the tag changed.

1. The validate tasks harden.yml runs before any node is touched (control_plane, kubelet, encryption, etcd
   validate.yml) refuse each version-specific bad input, naming the variable, the version and the fix, and
   pass the collection's defaults.
2. audit.yml's report role picks cis-1.10 at 1.28.7 and cis-1.12 at 1.33.3, and with
   k8s_hardening_target_version adds the upgrade section.
Nothing here writes outside the temp tree (validate tasks are read-only; the report goes to the temp dir).
"""
import json
import os

import pytest

from kubeadm_tree import REPORT_PLAYBOOK as AUDIT, VALIDATE_PLAYBOOK as VALIDATE, make_tree as _tree, run_playbook


def _run(tmp, book_text, extra):
    """The tree's own paths for what the validate tasks would otherwise read on this host."""
    tree = os.path.join(tmp, "tree")
    return run_playbook(tmp, book_text, dict({
        "kubelet_extra_env_files": [{"path": os.path.join(tree, "etc", "default", "kubelet"),
                                     "variable": "KUBELET_EXTRA_ARGS"}],
        "kubelet_config_overrides": {"authentication": {"x509": {
            "clientCAFile": os.path.join(tree, "etc", "kubernetes", "pki", "ca.crt")}}},
        "etcd_ca_controller_dir": os.path.join(tmp, "etcd-ca"),
        # the fake tree is a control-plane node holding the cluster CA (kubelet serving certificates)
        "kubelet_serving_ca_host": "localhost"}, **extra))


def _validate(tmp_path, version, extra, roles=("control_plane", "kubelet", "encryption", "etcd"), source="1.33.3",
              admin_args=None):
    tmp = str(tmp_path)
    if not os.path.isdir(os.path.join(tmp, "tree")):
        _tree(os.path.join(tmp, "tree"), source, version)
    if admin_args is not None:
        with open(os.path.join(tmp, "tree", "etc", "default", "kubelet"), "w") as handle:
            handle.write('KUBELET_EXTRA_ARGS="%s"\n' % admin_args)
    return _run(tmp, VALIDATE, dict({"roles_to_validate": list(roles)}, **extra))


@pytest.mark.parametrize("version,source", [("1.33.3", "1.33.3"), ("1.28.7", "1.28.7"), ("1.36.0", "1.33.3")])
def test_the_defaults_pass_every_validate_at_every_proven_version(tmp_path, version, source):
    proc = _validate(tmp_path, version, {}, source=source)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "failed=0" in proc.stdout.split("PLAY RECAP")[1]


@pytest.mark.parametrize("version,extra,roles,admin_args,fragments", [
    ("1.33.3", {"control_plane_admission_plugins": ["NodeRestriction", "SecurityContextDeny"]}, ["control_plane"],
     None, ["runs Kubernetes 1.33.3, which would refuse", "SecurityContextDeny was removed in Kubernetes 1.30"]),
    ("1.33.3", {"control_plane_apiserver_extra_flags": {"cloud-provider": "external"}}, ["control_plane"], None,
     ["control_plane_apiserver_extra_flags", "--cloud-provider of kube-apiserver was removed in Kubernetes 1.33",
      "control_plane_apiserver_absent_flags: [cloud-provider]"]),
    ("1.33.3", {"control_plane_apiserver_extra_flags": {"authorization-config": "/etc/kubernetes/authz.yaml"}},
     ["control_plane"], None, ["--authorization-mode and --authorization-config cannot both be set"]),
    ("1.33.3", {"control_plane_apiserver_extra_flags": {"anonymous-auth": "false"}}, ["control_plane"], None,
     ["--anonymous-auth and an anonymous block in the AuthenticationConfiguration cannot both be set"]),
    ("1.35.0", {}, ["kubelet"], "--pod-infra-container-image=registry.k8s.io/pause:3.10 --v=2",
     ["runs Kubernetes 1.35.0, which would refuse", "--pod-infra-container-image of kubelet was removed in "
      "Kubernetes 1.35", "/etc/default/kubelet", "kubelet_remove_flags"]),
    ("1.34.1", {}, ["kubelet"], "--cloud-config=/etc/kubernetes/cloud.conf",
     ["--cloud-config of kubelet was removed in Kubernetes 1.34"]),
    ("1.33.3", {"encryption_provider": "kms",
                "encryption_kms": {"apiVersion": "v1", "name": "vault", "endpoint": "unix:///var/run/kms.sock"}},
     ["encryption"], None, ["kms apiVersion v1 stops kube-apiserver 1.33", "encryption_kms_v1_feature_gate"]),
    ("1.37.0", {}, ["control_plane"], None,
     ["Kubernetes 1.37.0 is outside the versions", "k8s_hardening_allow_untested_version: true"]),
    ("1.37.0", {}, ["kubelet"], None, ["Kubernetes 1.37.0 is outside the versions"]),
])
def test_validate_refuses_before_any_node_is_touched(tmp_path, version, extra, roles, admin_args, fragments):
    proc = _validate(tmp_path, version, extra, roles, admin_args=admin_args)
    assert proc.returncode == 2, proc.stdout[-4000:]
    text = " ".join(proc.stdout.split())   # the YAML callback wraps long messages
    for fragment in fragments:
        assert fragment in text, (fragment, proc.stdout[-4000:])


def test_the_fixes_the_messages_name_work(tmp_path):
    proc = _validate(tmp_path, "1.35.0", {"kubelet_remove_flags": ["pod-infra-container-image"]}, ["kubelet"],
                     admin_args="--pod-infra-container-image=registry.k8s.io/pause:3.10")
    assert proc.returncode == 0, proc.stdout[-4000:]
    fixed = {"control_plane_apiserver_extra_flags": {"authorization-config": "/a.yaml"},
             "control_plane_apiserver_absent_flags": ["authorization-mode"]}
    proc = _validate(tmp_path, "1.33.3", fixed, ["control_plane"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    fixed = {"encryption_provider": "kms", "encryption_kms_v1_feature_gate": True,
             "encryption_kms": {"apiVersion": "v1", "name": "vault", "endpoint": "unix:///var/run/kms.sock"}}
    proc = _validate(tmp_path, "1.33.3", fixed, ["encryption"])
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_untested_version_opt_in_proceeds_with_a_warning(tmp_path):
    proc = _validate(tmp_path, "1.37.0", {"k8s_hardening_allow_untested_version": True}, ["control_plane", "kubelet"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "WARNING: localhost: Kubernetes 1.37.0 is outside" in " ".join(proc.stdout.split())


@pytest.mark.parametrize("version,benchmark", [("1.28.7", "cis-1.10"), ("1.33.3", "cis-1.12"), ("1.30.2", "cis-1.11")])
def test_report_picks_the_benchmark_from_the_version(tmp_path, version, benchmark):
    source = "1.28.7" if version == "1.28.7" else "1.33.3"
    _tree(str(tmp_path / "tree"), source, version)
    proc = _run(str(tmp_path), AUDIT, {})
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(str(tmp_path / "reports" / "report.json")) as handle:
        report = json.load(handle)
    assert report["benchmark"] == benchmark
    assert report["benchmark_source"] == "kube-bench's mapping of Kubernetes %s" % version
    assert report["versions"]["localhost"]["kubernetes_version"] == version
    # the operator's choice wins
    proc = _run(str(tmp_path), AUDIT, {"report_benchmark": "cis-1.11"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(str(tmp_path / "reports" / "report.json")) as handle:
        report = json.load(handle)
    assert report["benchmark"] == "cis-1.11" and report["benchmark_source"].startswith("named by the operator")


def test_audit_with_a_target_version_reports_what_would_break(tmp_path):
    tree = _tree(str(tmp_path / "tree"), "1.33.3", "1.34.2")
    with open(os.path.join(tree, "etc", "default", "kubelet"), "w") as handle:
        handle.write('KUBELET_EXTRA_ARGS="--pod-infra-container-image=registry.k8s.io/pause:3.10"\n')
    persist = os.path.join(tree, "etc", "kubernetes", "k8s-hardening")
    os.makedirs(persist)
    with open(os.path.join(persist, "kubeadm-config.yaml"), "w") as handle:   # as kubeadm_persist keeps it
        handle.write("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.34.2\n"
                     "apiServer:\n  extraArgs:\n  - name: cloud-provider\n    value: external\n")
    proc = _run(str(tmp_path), AUDIT, {"k8s_hardening_target_version": "1.35.0", "kubeadm_persist_dir": persist})
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(str(tmp_path / "reports" / "report.json")) as handle:
        report = json.load(handle)
    upgrade = report["upgrade"]
    assert upgrade["target_version"] == "1.35.0"
    items = dict(((f["item"], f["where"]), f) for f in upgrade["nodes"]["localhost"])
    admin = os.path.join(tree, "etc", "default", "kubelet")
    assert items[("--pod-infra-container-image", "KUBELET_EXTRA_ARGS in %s" % admin)]["severity"] == "breaks"
    assert items[("--pod-infra-container-image", "KUBELET_KUBEADM_ARGS in %s"
                  % os.path.join(tree, "var", "lib", "kubelet", "kubeadm-flags.env"))]["severity"] == "changes"
    assert items[("--cloud-provider", "kube-system/kubeadm-config apiServer.extraArgs")]["severity"] == "breaks"
    # this host's cgroup mode decides the cgroup row: it is there exactly on a cgroup v1 host
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    assert (("cgroup v1", "the node") in items) is (not v2)
    with open(str(tmp_path / "reports" / "report.md")) as handle:
        md = handle.read()
    assert "## Upgrade to 1.35.0" in md and "--pod-infra-container-image" in md
    assert "UPGRADE to 1.35.0 localhost BREAKS: --pod-infra-container-image" in " ".join(proc.stdout.split())
