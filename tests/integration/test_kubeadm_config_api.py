"""kubeadm_config's API path (ApiTarget) against a REAL kube-apiserver (realk8s.ControlPlane), run by ansible-playbook.

The ConfigMaps are uploaded by the REAL `kubeadm init phase upload-config all`; the module then writes the
collection's flags into them; the REAL `kubeadm upgrade node phase control-plane --dry-run` (run with --rootfs in a
temp tree holding the node's manifests and kubelet.conf, so nothing on this host is touched) regenerates the
manifests from what the module wrote. A cluster without the kubeadm-config ConfigMap gets one clear failure (the
HTTP 404 traceback of issue 11).
"""
import json
import os
import shutil

import pytest
import yaml

import realk8s
from ansible_local import run_playbook

CONTRIBS = [
    {"source": "control_plane", "component": "kube-apiserver",
     "flags": {"profiling": "false", "enable-admission-plugins": ["NodeRestriction", "EventRateLimit"],
               "audit-log-path": "/var/log/kubernetes/audit/audit.log", "tls-min-version": "VersionTLS12"},
     "volumes": [{"name": "k8s-hardening-audit-log", "hostPath": "/var/log/kubernetes/audit",
                  "type": "DirectoryOrCreate", "mountPath": "/var/log/kubernetes/audit", "readOnly": False}]},
    {"source": "control_plane", "component": "kube-controller-manager",
     "flags": {"profiling": "false", "terminated-pod-gc-threshold": "10"}},
    {"source": "control_plane", "component": "kube-scheduler", "flags": {"profiling": "false"}},
]
KUBELET = {"readOnlyPort": 0, "protectKernelDefaults": True, "tlsMinVersion": "VersionTLS12",
           "streamingConnectionIdleTimeout": "5m0s"}
# A documentation address (RFC 5737) as the node's advertise address: kubeadm refuses loopback there, and
# nothing connects to it (kubeadm talks to the API through --kubeconfig).
ADVERTISE = "198.51.100.7"


class KubeadmCluster(object):
    """A real control plane plus what a kubeadm node registration leaves in the API (Node, mirror pod)."""

    def __init__(self, root, version):
        self.cp = realk8s.ControlPlane(root, version=version)
        self.root = root
        self.version = version
        self.rootfs = os.path.join(root, "rootfs")

    def start(self):
        cp = self.cp
        cp.start()
        name = cp.node_name
        objects = {"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "node-role.kubernetes.io/control-plane": ""}}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "kube-system"}},
        ]}
        path = os.path.join(self.root, "objects.json")
        with open(path, "w") as fh:
            json.dump(objects, fh)
        cp.kubectl("create", "-f", path)
        endpoint = "%s:%d" % (ADVERTISE, cp.port)
        container = {"name": "kube-apiserver", "image": "registry.k8s.io/kube-apiserver:v" + self.version}
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "kube-apiserver-" + name, "namespace": "kube-system",
                            "labels": {"component": "kube-apiserver", "tier": "control-plane"},
                            "annotations": {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": endpoint}},
               "spec": {"nodeName": name, "containers": [container]}}
        with open(path, "w") as fh:
            json.dump(pod, fh)
        cp.kubectl("create", "-f", path)
        # the node tree kubeadm upgrade reads: its manifests (kubeadm's own reference) and kubelet.conf
        manifests = os.path.join(self.rootfs, "etc", "kubernetes", "manifests")
        os.makedirs(manifests)
        ref = os.path.join(realk8s.reference_dir(self.version), "etc", "kubernetes", "manifests")
        for name_ in os.listdir(ref):
            shutil.copy(os.path.join(ref, name_), manifests)
        shutil.copy(cp.kubeconfig, os.path.join(self.rootfs, "etc", "kubernetes", "admin.conf"))
        cp.kubeadm("init", "phase", "kubeconfig", "kubelet", "--config", cp.kubeadm_config(),
                   "--kubeconfig-dir", os.path.join(self.rootfs, "etc", "kubernetes"))
        return self

    def upload_config(self):
        """The REAL kubeadm writes kube-system/kubeadm-config and kubelet-config."""
        return self.cp.kubeadm("init", "phase", "upload-config", "all", "--kubeconfig", self.cp.kubeconfig,
                               "--config", self.cp.kubeadm_config())

    def configmap(self, name):
        res = self.cp.kubectl("-n", "kube-system", "get", "configmap", name, "-o", "json", check=False)
        return json.loads(res.stdout) if res.returncode == 0 else None

    def upgrade_dry_run(self, phase="control-plane"):
        """The manifests (or files) the REAL `kubeadm upgrade node phase <phase> --dry-run` would write."""
        args = ["upgrade", "node", "phase", phase, "--dry-run", "--rootfs", self.rootfs,
                "--kubeconfig", "/etc/kubernetes/admin.conf"]
        if phase == "control-plane":
            args += ["--certificate-renewal=false", "--etcd-upgrade=false"]
        out = self.cp.kubeadm(*args).stdout
        files = {}
        marker = '[dryrun] Would write file "'
        for chunk in out.split(marker)[1:]:
            path, dummy, rest = chunk.partition('"')
            body = rest.split("\n", 1)[1] if "\n" in rest else ""
            lines = body.split("\n[")[0].split("\n")
            if all(line.startswith("\t") for line in lines if line.strip()):
                lines = [line[1:] for line in lines]     # kubeadm 1.28 indents the content with a tab
            files[path] = "\n".join(lines)
        return files, out

    def stop(self):
        self.cp.stop()


@pytest.fixture(scope="module", params=["1.33.3", "1.28.7"])
def cluster(request, tmp_path_factory):
    realk8s.skip_or_fail(pytest, request.param)
    c = KubeadmCluster(str(tmp_path_factory.mktemp("kubeadm-api-" + request.param)), request.param)
    try:
        yield c.start()
    finally:
        c.stop()


def persist(tmp_path, cluster, config="cluster", check=False, **args):
    params = dict(config=config, target="api", kubeconfig=cluster.cp.admin_kubeconfig, api_timeout=10)
    if config == "cluster":
        params["contributions"] = CONTRIBS
    else:
        params["settings"] = KUBELET
    params.update(args)
    play = [{"hosts": "control_plane", "gather_facts": False,
             "tasks": [{"name": "persist", "k8s_hardening.kubeadm.kubeadm_config": params}]}]
    return run_playbook(tmp_path, play, check=check, diff=True)


def extra_args(section, api_version):
    raw = section.get("extraArgs")
    if api_version.endswith("v1beta4"):
        assert isinstance(raw, list) and all(set(item) == {"name", "value"} for item in raw), raw
        return {item["name"]: item["value"] for item in raw}
    assert isinstance(raw, dict), raw
    return raw


def test_missing_configmap_fails_cleanly(cluster, tmp_path):
    """Regression (issue 11): a cluster without kube-system/kubeadm-config failed with an HTTP 404 traceback."""
    cluster.cp.kubectl("-n", "kube-system", "delete", "configmap", "kubeadm-config", "kubelet-config",
                       "--ignore-not-found")
    for target in ("api", "auto"):
        res = persist(tmp_path, cluster, target=target, dest=str(tmp_path / "kubeadm-config.yaml"))
        assert res.rc != 0
        result = res.task("persist")
        msg = result["msg"]
        assert "MODULE FAILURE" not in msg and "Traceback" not in res.out, res.out[-3000:]
        assert "ConfigMap kube-system/kubeadm-config does not exist (HTTP 404)" in msg, msg
        assert "kubeadm init phase upload-config kubeadm" in msg and "target=file" in msg, msg
        assert not (tmp_path / "kubeadm-config.yaml").exists(), "auto must not fall back to a file on a 404"
    res = persist(tmp_path, cluster, config="kubelet")
    msg = res.task("persist")["msg"]
    assert res.rc != 0 and "ConfigMap kube-system/kubelet-config does not exist" in msg, msg
    assert "kubeadm init phase upload-config kubelet" in msg
    assert cluster.configmap("kubeadm-config") is None, "nothing may be created"


def test_persist_through_the_real_api_and_kubeadm_upgrade_sees_it(cluster, tmp_path):
    cluster.upload_config()
    before = cluster.configmap("kubeadm-config")
    rv = before["metadata"]["resourceVersion"]
    original = yaml.safe_load(before["data"]["ClusterConfiguration"])
    api_version = original["apiVersion"]
    assert api_version == ("kubeadm.k8s.io/v1beta4" if cluster.version == "1.33.3" else "kubeadm.k8s.io/v1beta3")

    # check mode: would change, writes nothing
    res = persist(tmp_path, cluster, check=True)
    result = res.task("persist")
    assert res.rc == 0 and result["changed"] is True and result["target"] == "api", res.out[-3000:]
    assert cluster.configmap("kubeadm-config")["metadata"]["resourceVersion"] == rv

    # the real run writes the ConfigMap through the API
    res = persist(tmp_path, cluster)
    result = res.task("persist")
    assert res.rc == 0 and result["changed"] is True and result["api_reachable"] is True, res.out[-3000:]
    after = cluster.configmap("kubeadm-config")
    rv2 = after["metadata"]["resourceVersion"]
    assert rv2 != rv
    doc = yaml.safe_load(after["data"]["ClusterConfiguration"])
    args = extra_args(doc["apiServer"], api_version)
    assert args["profiling"] == "false" and args["tls-min-version"] == "VersionTLS12"
    assert args["enable-admission-plugins"] == "NodeRestriction,EventRateLimit"
    assert extra_args(doc["controllerManager"], api_version)["terminated-pod-gc-threshold"] == "10"
    assert extra_args(doc["scheduler"], api_version) == {"profiling": "false"}
    assert doc["apiServer"]["extraVolumes"] == [{"name": "k8s-hardening-audit-log", "hostPath": "/var/log/kubernetes/audit",
                                                 "mountPath": "/var/log/kubernetes/audit", "readOnly": False,
                                                 "pathType": "DirectoryOrCreate"}]
    # unmanaged keys kept as kubeadm wrote them
    for key in ("networking", "certificatesDir", "controlPlaneEndpoint", "kubernetesVersion", "etcd"):
        assert doc[key] == original[key]

    # again, and in check mode: nothing changes, the ConfigMap is not written
    for check in (False, True):
        res = persist(tmp_path, cluster, check=check)
        result = res.task("persist")
        assert res.rc == 0 and result["changed"] is False and result["changes"] == [], res.out[-3000:]
        assert cluster.configmap("kubeadm-config")["metadata"]["resourceVersion"] == rv2

    # the REAL kubeadm upgrade regenerates the manifests from it, with every flag and the volume
    files, out = cluster.upgrade_dry_run()
    manifest = yaml.safe_load(files["/etc/kubernetes/manifests/kube-apiserver.yaml"])
    command = manifest["spec"]["containers"][0]["command"]
    for flag in ("--profiling=false", "--tls-min-version=VersionTLS12",
                 "--enable-admission-plugins=NodeRestriction,EventRateLimit",
                 "--audit-log-path=/var/log/kubernetes/audit/audit.log"):
        assert flag in command, (flag, command)
    assert {"name": "k8s-hardening-audit-log", "hostPath": {"path": "/var/log/kubernetes/audit",
                                                            "type": "DirectoryOrCreate"}} in manifest["spec"]["volumes"]
    assert {"name": "k8s-hardening-audit-log", "mountPath": "/var/log/kubernetes/audit"} in \
        manifest["spec"]["containers"][0]["volumeMounts"]
    cm = yaml.safe_load(files["/etc/kubernetes/manifests/kube-controller-manager.yaml"])
    assert "--terminated-pod-gc-threshold=10" in cm["spec"]["containers"][0]["command"]
    sched = yaml.safe_load(files["/etc/kubernetes/manifests/kube-scheduler.yaml"])
    assert "--profiling=false" in sched["spec"]["containers"][0]["command"]


def test_kubelet_settings_through_the_real_api(cluster, tmp_path):
    if cluster.configmap("kubelet-config") is None:
        cluster.upload_config()
    rv = cluster.configmap("kubelet-config")["metadata"]["resourceVersion"]
    res = persist(tmp_path, cluster, config="kubelet", check=True)
    assert res.rc == 0 and res.task("persist")["changed"] is True
    assert cluster.configmap("kubelet-config")["metadata"]["resourceVersion"] == rv
    res = persist(tmp_path, cluster, config="kubelet")
    assert res.rc == 0 and res.task("persist")["changed"] is True, res.out[-3000:]
    stored = yaml.safe_load(cluster.configmap("kubelet-config")["data"]["kubelet"])
    assert {k: stored[k] for k in KUBELET} == KUBELET
    assert stored["cgroupDriver"] == "systemd", "kubeadm's own keys kept"
    res = persist(tmp_path, cluster, config="kubelet")
    assert res.rc == 0 and res.task("persist")["changed"] is False
    # the REAL kubeadm upgrade writes the node's kubelet config from it
    files, out = cluster.upgrade_dry_run("kubelet-config")
    written = [body for path, body in files.items() if path.endswith("config.yaml")]
    assert written, out[-2000:]
    kubelet = yaml.safe_load(written[0])
    assert kubelet.get("readOnlyPort", 0) == 0, "0 is the default, which kubeadm leaves out"
    assert {k: kubelet[k] for k in KUBELET if k != "readOnlyPort"} == \
        {k: v for k, v in KUBELET.items() if k != "readOnlyPort"}
