"""cis_node_facts on a real temp tree laid out like a kubeadm node: real files, real modes and owners.

No kubelet or apiserver runs here; the module only reads files, so a directory tree with kubeadm's
reference manifests, kubelet files and freshly generated CA certificates is the real input.
"""
import os
import shutil

import pytest

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _pki
from ansible_collections.k8s_hardening.kubeadm.plugins.modules import cis_node_facts

from .modrun import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def _write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _ca_pem(cn):
    pem = _pki.cert_to_pem(_pki.issue_ca(cn, _pki.generate_private_key()))
    return pem.decode() if isinstance(pem, bytes) else pem


@pytest.fixture(scope="module")
def cas():
    return dict((name, _ca_pem(name)) for name in ("kubernetes", "front-proxy-ca", "etcd-ca"))


def make_node(tmp, cas, etcd_ca="etcd-ca"):
    """A kubeadm v1.28.7 control-plane node under tmp, with paths rewritten into tmp."""
    k8s = os.path.join(tmp, "etc", "kubernetes")
    paths = {
        "kubernetes_dir": k8s, "manifests_dir": os.path.join(k8s, "manifests"), "pki_dir": os.path.join(k8s, "pki"),
        "kubelet_config": os.path.join(tmp, "var/lib/kubelet/config.yaml"),
        "kubeadm_flags_env": os.path.join(tmp, "var/lib/kubelet/kubeadm-flags.env"),
        "kubelet_kubeconfig": os.path.join(k8s, "kubelet.conf"),
        "kubelet_unit": os.path.join(tmp, "usr/lib/systemd/system/kubelet.service"),
        "kubelet_dropins": [os.path.join(tmp, "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf")],
        "admin_conf": os.path.join(k8s, "admin.conf"), "super_admin_conf": os.path.join(k8s, "super-admin.conf"),
        "scheduler_conf": os.path.join(k8s, "scheduler.conf"),
        "controller_manager_conf": os.path.join(k8s, "controller-manager.conf"),
        "proxy_kubeconfig": os.path.join(k8s, "proxy.conf"),
        "cni_conf_dir": os.path.join(tmp, "etc/cni/net.d"), "cni_networks_dir": os.path.join(tmp, "var/lib/cni/networks"),
    }
    pki = paths["pki_dir"]
    for comp in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        with open(os.path.join(FIXTURES, "manifests", comp + ".yaml")) as handle:
            text = handle.read()
        text = text.replace("/etc/kubernetes/pki", pki).replace("/var/lib/etcd", os.path.join(tmp, "var/lib/etcd"))
        _write(os.path.join(paths["manifests_dir"], comp + ".yaml"), text)
    for name in ("admin.conf", "scheduler.conf", "controller-manager.conf", "kubelet.conf"):
        _write(os.path.join(k8s, name), "apiVersion: v1\nkind: Config\n")
    _write(os.path.join(pki, "ca.crt"), cas["kubernetes"], 0o644)
    _write(os.path.join(pki, "ca.key"), "not a real key\n")
    _write(os.path.join(pki, "front-proxy-ca.crt"), cas["front-proxy-ca"], 0o644)
    _write(os.path.join(pki, "etcd", "ca.crt"), cas[etcd_ca], 0o644)
    _write(os.path.join(pki, "etcd", "ca.key"), "not a real key\n")
    os.makedirs(os.path.join(tmp, "var/lib/etcd"), mode=0o700, exist_ok=True)
    with open(os.path.join(FIXTURES, "kubelet", "config.yaml")) as handle:
        kcfg = handle.read().replace("/etc/kubernetes/pki", pki)
    _write(paths["kubelet_config"], kcfg, 0o644)
    shutil.copy(os.path.join(FIXTURES, "kubelet", "kubeadm-flags.env"), paths["kubeadm_flags_env"])
    _write(paths["kubelet_unit"], "[Service]\nExecStart=/usr/bin/kubelet\n", 0o644)
    _write(paths["kubelet_dropins"][0], (
        "[Service]\n"
        'Environment="KUBELET_KUBECONFIG_ARGS=--kubeconfig=%s"\n'
        'Environment="KUBELET_CONFIG_ARGS=--config=%s"\n'
        "EnvironmentFile=-%s\n"
        "ExecStart=\n"
        "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS\n")
        % (paths["kubelet_kubeconfig"], paths["kubelet_config"], paths["kubeadm_flags_env"]), 0o644)
    return paths


def by_id(result):
    return dict((r["id"], r) for r in result["results"])


def test_kubeadm_node_through_ansible_module(tmp_path, cas):
    paths = make_node(str(tmp_path), cas)
    before = sorted((p, os.stat(os.path.join(r, p)).st_mtime_ns) for r, _d, fs in os.walk(tmp_path) for p in fs)
    (tmp_path / "mod").mkdir()
    rc, result = run_module("cis_node_facts", {"paths": paths}, tmp_path / "mod", check_mode=True)
    assert rc == 0, result
    assert result["changed"] is False and result["node_roles"] == ["control_plane"]
    res = by_id(result)
    assert res["1.1.1"]["status"] == "pass" and res["1.1.1"]["observed"] == "600"
    assert res["1.2.15"]["status"] == "fail"                      # kubeadm leaves profiling on
    assert res["1.2.15"]["observed"] == "--profiling=(unset)"
    assert res["2.7"]["status"] == "pass" and res["2.7"]["intent"] == "pass"
    assert res["4.1.9"]["status"] == "fail" and "644" in res["4.1.9"]["observed"]   # config.yaml 0644
    assert res["4.2.7"]["status"] == "manual"                     # --hostname-override from kubeadm-flags.env
    assert res["4.2.1"]["status"] == "pass"
    assert res["1.1.19"]["status"] == "pass"
    obs = result["observation"]
    assert obs["kubelet"]["config_path"] == paths["kubelet_config"]
    assert obs["kubelet"]["flags"]["hostname-override"] == "cp1"
    assert obs["ca_fingerprints"]["etcd_ca"][0] == _pki.fingerprint(cas["etcd-ca"])
    modtmp = str(tmp_path / "mod")
    after = sorted((p, os.stat(os.path.join(r, p)).st_mtime_ns) for r, _d, fs in os.walk(tmp_path)
                   for p in fs if not r.startswith(modtmp))
    assert after == before      # read-only: nothing written or touched


def test_etcd_trusting_the_cluster_ca_fails_2_7_intent(tmp_path, cas):
    paths = make_node(str(tmp_path), cas, etcd_ca="kubernetes")
    res = by_id(cis_node_facts.run({"paths": paths, "benchmark": "cis-1.12", "waivers": {}}))
    assert (res["2.7"]["letter"], res["2.7"]["intent"], res["2.7"]["status"]) == ("pass", "fail", "fail")


def test_real_modes_and_drift(tmp_path, cas):
    paths = make_node(str(tmp_path), cas)
    os.chmod(os.path.join(paths["manifests_dir"], "kube-apiserver.yaml"), 0o644)
    os.chmod(os.path.join(paths["pki_dir"], "etcd", "ca.key"), 0o640)
    os.chmod(os.path.join(str(tmp_path), "var/lib/etcd"), 0o755)
    res = by_id(cis_node_facts.run({"paths": paths, "benchmark": "cis-1.12", "waivers": {"1.1.11": "lab"}}))
    assert res["1.1.1"]["status"] == "fail" and res["1.1.1"]["observed"].endswith("644")
    assert res["1.1.21"]["status"] == "fail" and "etcd/ca.key 640" in res["1.1.21"]["observed"]
    assert res["1.1.11"]["status"] == "waived" and "lab" in res["1.1.11"]["reason"]


@ROOT_ONLY
def test_real_owner(tmp_path, cas):
    paths = make_node(str(tmp_path), cas)
    os.chown(os.path.join(paths["pki_dir"], "ca.crt"), 65534, 65534)
    res = by_id(cis_node_facts.run({"paths": paths, "benchmark": "cis-1.12", "waivers": {}}))
    assert res["1.1.19"]["status"] == "fail"
    assert res["1.1.19"]["observed"].endswith("/pki/ca.crt nobody:nogroup")
    assert res["1.1.19"]["reason"] == "1 of 7 files fail"     # pki/, pki/etcd/, 3 .crt, 2 .key
    assert res["1.1.12"]["status"] == "fail" and res["1.1.12"]["observed"].endswith("root:root")


def test_encryption_config_through_volume(tmp_path, cas):
    paths = make_node(str(tmp_path), cas)
    enc_dir = os.path.join(str(tmp_path), "srv", "enc")
    _write(os.path.join(enc_dir, "enc.yaml"),
           "resources:\n- resources: [secrets]\n  providers:\n  - secretbox:\n      keys: [{name: k1, secret: SECRETVALUE}]\n"
           "  - identity: {}\n- resources: [events]\n  providers:\n  - identity: {}\n")
    api = os.path.join(paths["manifests_dir"], "kube-apiserver.yaml")
    with open(api) as handle:
        text = handle.read()
    text = text.replace("    - --etcd-servers", "    - --encryption-provider-config=/etc/kubernetes/enc/enc.yaml\n    - --etcd-servers")
    text = text.replace("    volumeMounts:\n", "    volumeMounts:\n    - mountPath: /etc/kubernetes/enc\n      name: enc\n      readOnly: true\n")
    text = text.replace("  volumes:\n", "  volumes:\n  - hostPath:\n      path: %s\n      type: DirectoryOrCreate\n    name: enc\n" % enc_dir)
    _write(api, text)
    result = cis_node_facts.run({"paths": paths, "benchmark": "cis-1.12", "waivers": {}})
    res = by_id(result)
    assert (res["1.2.28"]["letter"], res["1.2.28"]["intent"], res["1.2.28"]["status"]) == ("fail", "pass", "pass")
    assert res["1.2.27"]["status"] == "pass"
    assert "SECRETVALUE" not in repr(result)                      # providers only, never keys


def test_worker_and_bad_waiver(tmp_path, cas):
    paths = make_node(str(tmp_path), cas)
    for comp in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        os.remove(os.path.join(paths["manifests_dir"], comp + ".yaml"))
    result = cis_node_facts.run({"paths": paths, "benchmark": "cis-1.12", "waivers": {}})
    assert result["node_roles"] == ["worker"]
    assert result["summary"]["not_applicable"] >= 60
    (tmp_path / "mod").mkdir()
    rc, out = run_module("cis_node_facts", {"paths": paths, "waivers": {"1.2.99": "x"}}, tmp_path / "mod")
    assert rc != 0 and "k8s_hardening_waivers" in out["msg"]


def test_same_file_through_a_symlinked_dir_counted_once(tmp_path, cas):
    paths = make_node(str(tmp_path), cas)
    real_dir = os.path.dirname(paths["kubelet_dropins"][0])
    link_dir = os.path.join(str(tmp_path), "lib-dropins")
    os.symlink(real_dir, link_dir)
    paths["kubelet_dropins"] = paths["kubelet_dropins"] + [os.path.join(link_dir, "10-kubeadm.conf")]
    obs = cis_node_facts.observe(paths)
    assert [e["path"] for e in obs["files"]["4.1.1"]] == [paths["kubelet_unit"], paths["kubelet_dropins"][0]]
