"""The whole kubelet role (main.yml) with ansible-playbook on a temp kubeadm worker tree: check mode, a run, a
second run; the serving certificate is issued from the cluster CA, tlsCertFile/tlsPrivateKeyFile point at it,
no key byte reaches the output, and the second run changes nothing. (Restart, sysctl and file-mode parts off:
no systemd here; the serving check against a real kube-apiserver is test_kubelet_serving_realk8s.py.)"""
import json
import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PLAYBOOK_BIN = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
REFERENCE = os.path.join(ROOT, "..", "shared", "reference", "kubeadm-v1.33.3", "var", "lib", "kubelet")

PLAYBOOK = """
- name: The kubelet role on a temp worker
  hosts: control_plane
  gather_facts: false
  tasks:
    - name: Facts as kubeadm_facts would set them
      ansible.builtin.set_fact:
        k8s_hardening_node: "{{ test_node }}"
        cacheable: true
    - name: Harden the kubelet
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.kubelet
"""


def play(tmp, check=False):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [PLAYBOOK_BIN, "-i", str(tmp / "inv.yml"), str(tmp / "play.yml"), "-e", "@%s" % (tmp / "extra.json"), "--diff"]
    proc = subprocess.run(cmd + (["--check"] if check else []), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = [line for line in out.splitlines() if line.startswith("localhost") and "changed=" in line][-1]
    return int(recap.split("changed=")[1].split()[0]), out


def test_role_issues_the_serving_pair_once(tmp_path):
    pki, kubelet = tmp_path / "pki", tmp_path / "kubelet"
    pki.mkdir()
    kubelet.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(pki / "ca.key"),
                    "-out", str(pki / "ca.crt"), "-subj", "/CN=kubernetes", "-days", "10",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment"],
                   check=True, capture_output=True)
    with open(os.path.join(REFERENCE, "config.yaml")) as fh:
        cfg = yaml.safe_load(fh)
    cfg["authentication"]["x509"]["clientCAFile"] = str(pki / "ca.crt")
    (kubelet / "config.yaml").write_text(yaml.safe_dump(cfg))
    (kubelet / "kubeadm-flags.env").write_text(
        'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock"\n')
    (tmp_path / "kubelet.service").write_text("[Service]\nExecStart=/usr/bin/kubelet\n")
    node = {"is_kubeadm_node": True, "node_name": "n1", "node_roles": ["worker"], "kubelet_flags": {},
            "kubernetes_version": "1.33.3", "kubernetes_minor": 33,
            "paths": {"kubelet_config": str(kubelet / "config.yaml"), "pki_dir": str(pki),
                      "kubeadm_flags_env": str(kubelet / "kubeadm-flags.env"),
                      "kubelet_unit": str(tmp_path / "kubelet.service"), "kubelet_dropins": [],
                      "kubernetes_dir": str(tmp_path), "kubelet_kubeconfig": str(tmp_path / "kubelet.conf")}}
    crt, key = kubelet / "pki" / "kubelet-serving.crt", kubelet / "pki" / "kubelet-serving.key"
    (tmp_path / "extra.json").write_text(json.dumps({
        "test_node": node, "kubelet_restart_enabled": False, "kubelet_sysctl_enabled": False,
        "kubelet_file_permissions_enabled": False, "kubelet_apiserver_ca_enabled": False,
        "kubelet_serving_ca_host": "localhost", "kubelet_backup_dir": str(tmp_path / "backup"),
        "kubelet_serving_cert_file": str(crt), "kubelet_serving_key_file": str(key),
        "kubelet_serving_cert_ip_addresses": ["10.0.0.21"], "kubelet_extra_env_files": [],
        "kubelet_config_overrides": {"authentication": {"x509": {"clientCAFile": str(pki / "ca.crt")}}},
        "ansible_python_interpreter": sys.executable}))
    (tmp_path / "inv.yml").write_text(yaml.safe_dump({"all": {"children": {"control_plane": {"hosts": {
        "localhost": {"ansible_connection": "local"}}}}}}))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    before = (kubelet / "config.yaml").read_bytes()

    changed, out = play(tmp_path, check=True)
    assert changed > 0 and not crt.exists() and (kubelet / "config.yaml").read_bytes() == before
    assert "PRIVATE KEY" not in out and (pki / "ca.key").read_text().splitlines()[1] not in out

    changed, out = play(tmp_path)
    assert changed > 0 and "PRIVATE KEY" not in out
    doc = yaml.safe_load((kubelet / "config.yaml").read_text())
    assert doc["tlsCertFile"] == str(crt) and doc["tlsPrivateKeyFile"] == str(key)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    subprocess.run(["openssl", "verify", "-CAfile", str(pki / "ca.crt"), "-purpose", "sslserver", str(crt)],
                   check=True, capture_output=True)
    issued = crt.read_bytes(), key.read_bytes()

    changed, out = play(tmp_path)
    assert changed == 0, out[-3000:]
    changed, out = play(tmp_path, check=True)
    assert changed == 0, out[-3000:]
    assert (crt.read_bytes(), key.read_bytes()) == issued

    # the key's mode drifts: put right without a new certificate
    os.chmod(key, 0o644)
    changed, out = play(tmp_path)
    assert changed == 1 and oct(key.stat().st_mode & 0o777) == "0o600"
    assert (crt.read_bytes(), key.read_bytes()) == issued
