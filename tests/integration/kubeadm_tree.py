"""A temp tree laid out like a kubeadm control-plane node, and ansible-playbook runs against it on localhost.

The tree holds kubeadm's reference manifests and kubelet files of v1.28.7 or v1.33.3 (tests/unit/fixtures) with
their real modes; the image tags can say another version, which is what kubeadm_facts then detects. Nothing runs
on it: the roles' read-only tasks (facts, validate, report) take it as their real input.
"""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")
SOURCES = {"1.28.7": (os.path.join(FIXTURES, "manifests"), os.path.join(FIXTURES, "kubelet")),
           "1.33.3": (os.path.join(FIXTURES, "kubeadm-v1.33.3", "manifests"),
                      os.path.join(FIXTURES, "kubeadm-v1.33.3", "kubelet"))}

# The first task of every playbook below: the node's facts from the tree ("tree" is an extra var).
_FACTS = """\
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Node facts from the temp tree
      k8s_hardening.kubeadm.kubeadm_facts:
        kubernetes_dir: "{{ tree }}/etc/kubernetes"
        kubelet_dir: "{{ tree }}/var/lib/kubelet"
        lab_state_dir: "{{ tree }}/no-lab"
"""
REPORT_PLAYBOOK = "- name: Report on a fake kubeadm tree\n" + _FACTS + """\
    - name: The report
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.report
"""
VALIDATE_PLAYBOOK = "- name: Validate on a fake kubeadm tree\n" + _FACTS + """\
    - name: Validate
      ansible.builtin.include_role:
        name: "k8s_hardening.kubeadm.{{ item }}"
        tasks_from: validate.yml
      loop: "{{ roles_to_validate }}"
"""

# playbooks/audit.yml itself, with localhost as the control-plane node whose facts come from the tree
AUDIT_PLAYBOOK = "- name: The temp tree as a control-plane node\n" + _FACTS + """\
    - name: In the group control_plane
      ansible.builtin.group_by:
        key: control_plane

- name: The read-only report as operators run it
  ansible.builtin.import_playbook: %s
""" % os.path.join(ROOT, "playbooks", "audit.yml")


def make_tree(tmp, source_version="1.28.7", version=None):
    """kubeadm's files of source_version under tmp, the image tags saying version (default: the same)."""
    manifests, kubelet_src = SOURCES[source_version]
    k8s = os.path.join(tmp, "etc", "kubernetes")
    os.makedirs(os.path.join(k8s, "manifests"))
    os.makedirs(os.path.join(k8s, "pki", "etcd"))
    for comp in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        with open(os.path.join(manifests, comp + ".yaml")) as handle:
            text = handle.read().replace("/etc/kubernetes/pki", os.path.join(k8s, "pki"))
        text = text.replace(":v" + source_version, ":v" + (version or source_version))
        path = os.path.join(k8s, "manifests", comp + ".yaml")
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o600)
    for name in ("admin.conf", "kubelet.conf", "scheduler.conf", "controller-manager.conf"):
        with open(os.path.join(k8s, name), "w") as handle:
            handle.write("apiVersion: v1\nkind: Config\n")
        os.chmod(os.path.join(k8s, name), 0o600)
    kubelet = os.path.join(tmp, "var", "lib", "kubelet")
    os.makedirs(kubelet)
    with open(os.path.join(kubelet_src, "config.yaml")) as handle:
        text = handle.read().replace("/etc/kubernetes/pki", os.path.join(k8s, "pki"))
    with open(os.path.join(kubelet, "config.yaml"), "w") as handle:
        handle.write(text)
    with open(os.path.join(k8s, "pki", "ca.crt"), "w") as handle:
        handle.write("placeholder: the validate tasks only check that the kubelet's client CA exists\n")
    shutil.copy(os.path.join(kubelet_src, "kubeadm-flags.env"), kubelet)
    os.makedirs(os.path.join(tmp, "etc", "default"))
    return tmp


def run_playbook(tmp, book_text, extra, timeout=300):
    """ansible-playbook on localhost with the tree at tmp/tree and the report written to tmp/reports."""
    book = os.path.join(tmp, "play.yml")
    with open(book, "w") as handle:
        handle.write(book_text)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    extra = dict({"tree": os.path.join(tmp, "tree"), "k8s_hardening_report_dir": os.path.join(tmp, "reports"),
                  "ansible_python_interpreter": sys.executable}, **extra)
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", "localhost,", book, "-e", json.dumps(extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
