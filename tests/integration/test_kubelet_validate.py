"""The kubelet role's validate.yml (run before any node is touched), for real with ansible-playbook on a temp
kubeadm kubelet config: the serving certificate settings and CIS 4.2.9 are decided before anything is written."""
import json
import os
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PLAYBOOK_BIN = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
REFERENCE = os.path.join(ROOT, "..", "shared", "reference", "kubeadm-v1.33.3", "var", "lib", "kubelet", "config.yaml")

PLAYBOOK = """
- name: Kubelet validation
  hosts: control_plane
  gather_facts: false
  tasks:
    - name: Facts
      ansible.builtin.set_fact:
        k8s_hardening_node: "{{ test_node }}"
        cacheable: true
    - name: Validate
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.kubelet
        tasks_from: validate.yml
    - name: Keep the desired keys for the test
      ansible.builtin.copy:
        content: "{{ kubelet__settings | to_json }}"
        dest: "{{ test_out }}"
        mode: "0600"
"""


@pytest.fixture
def tree(tmp_path):
    if not os.path.isfile(REFERENCE):
        pytest.skip("needs ../shared/reference/kubeadm-v1.33.3")
    with open(REFERENCE) as fh:
        cfg = yaml.safe_load(fh)
    cfg["authentication"]["x509"]["clientCAFile"] = str(tmp_path / "ca.crt")
    (tmp_path / "ca.crt").write_text("CA\n")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    with open(os.path.join(os.path.dirname(REFERENCE), "kubeadm-flags.env")) as fh:
        (tmp_path / "kubeadm-flags.env").write_text(fh.read())
    (tmp_path / "inv.yml").write_text(yaml.safe_dump({"all": {"children": {"control_plane": {"hosts": {
        "localhost": {"ansible_connection": "local"}}}}}}))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    return tmp_path


def run(tree, **extra):
    node = {"is_kubeadm_node": True, "node_name": "cp1", "node_roles": ["control_plane"],
            "kubernetes_version": "1.33.3", "kubernetes_minor": 33,
            "paths": {"kubelet_config": str(tree / "config.yaml"), "pki_dir": str(tree),
                      "kubeadm_flags_env": str(tree / "kubeadm-flags.env")}}
    overrides = dict({"authentication": {"x509": {"clientCAFile": str(tree / "ca.crt")}}},
                     **extra.pop("kubelet_config_overrides", {}))
    extra = dict({"test_node": node, "ansible_python_interpreter": sys.executable,
                  "kubelet_config_overrides": overrides, "test_out": str(tree / "settings.json"),
                  "kubelet_extra_env_files": []}, **extra)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([PLAYBOOK_BIN, "-i", str(tree / "inv.yml"), str(tree / "play.yml"), "-e", json.dumps(extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    out = proc.stdout + proc.stderr
    out_file = tree / "settings.json"
    settings = json.loads(out_file.read_text()) if out_file.exists() else None
    if out_file.exists():
        out_file.unlink()
    return proc.returncode, " ".join(out.split()), settings


def test_defaults_write_the_serving_pair(tree):
    rc, out, settings = run(tree)
    assert rc == 0, out[-3000:]
    assert settings["tlsCertFile"] == "/var/lib/kubelet/pki/kubelet-serving.crt"
    assert settings["tlsPrivateKeyFile"] == "/var/lib/kubelet/pki/kubelet-serving.key"


def test_serving_off_needs_a_waiver_or_own_pair(tree):
    rc, out, dummy = run(tree, kubelet_serving_cert_enabled=False)
    assert rc != 0 and "CIS 4.2.9" in out and "waive 4.2.9" in out
    rc, out, settings = run(tree, kubelet_serving_cert_enabled=False,
                            k8s_hardening_waivers={"4.2.9": "certificates from our own PKI"})
    assert rc == 0, out[-3000:]
    assert "tlsCertFile" not in settings          # not managed at all: a hand-set pair would stay
    own = {"tlsCertFile": str(tree / "k.crt"), "tlsPrivateKeyFile": str(tree / "k.key")}
    rc, out, dummy = run(tree, kubelet_serving_cert_enabled=False, kubelet_config_overrides=dict(own))
    assert rc != 0 and "k.crt does not exist on this node" in out     # an own pair must be there
    (tree / "k.crt").write_text("C\n")
    (tree / "k.key").write_text("K\n")
    rc, out, settings = run(tree, kubelet_serving_cert_enabled=False, kubelet_config_overrides=dict(own))
    assert rc == 0 and settings["tlsCertFile"] == own["tlsCertFile"], out[-3000:]


@pytest.mark.parametrize("extra, words", [
    ({"kubelet_server_tls_bootstrap": True}, "exclude each other"),
    ({"kubelet_serving_cert_renew_days": 400}, "kubelet_serving_cert_renew_days (400)"),
    ({"kubelet_serving_cert_validity_days": 800}, "kubelet_serving_cert_max_validity_days (365)"),
    ({"kubelet_serving_ca_host": "nowhere"}, "kubelet_serving_ca_host (nowhere)"),
])
def test_bad_serving_input_fails_naming_the_variable(tree, extra, words):
    rc, out, dummy = run(tree, **extra)
    assert rc != 0 and words in out, out[-3000:]
