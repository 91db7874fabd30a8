"""CIS 1.2.5 and 4.2.9 through the REAL kube-apiserver (tests/integration/realk8s.py, v1.33.3).

1. The kubelet role's own issuing tasks (roles/kubelet/tasks/serving_cert.yml) run for real with
   ansible-playbook on localhost-as-node against the real kubeadm PKI of the control plane: check mode
   writes nothing, a run issues a serving certificate signed by the cluster CA with the node's name and
   address, a second run changes nothing.
2. The lab's kubelet stand-in (lab/files/lab-kubelet.py) serves HTTPS with that certificate; a Node object
   is registered with that address as InternalIP and the port as its kubelet endpoint; the real
   kube-apiserver, started with --kubelet-certificate-authority=<cluster CA>, proxies
   /api/v1/nodes/<node>/proxy/healthz to it: ``kubectl get --raw`` answers ok.
3. The same stand-in with a self-signed certificate, then with one from another CA: the real apiserver
   refuses both with an x509 error.
4. The role's own check (serving_check.yml) says verified for the good certificate and not for the others.

Address: the apiserver never proxies to a loopback address (it answers "address not allowed", asserted
below), so the stand-in listens on this host's own non-loopback address (the source address of the
default route), on a free port, for the duration of the test only; traffic never leaves the host.
"""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import yaml

import realk8s

ROOT = realk8s.ROOT
LAB_KUBELET = os.path.join(ROOT, "lab", "files", "lab-kubelet.py")
PLAYBOOK_BIN = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")

PLAYBOOK = """
- name: The kubelet role's serving certificate tasks on localhost-as-node
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Facts as kubeadm_facts would set them for this node
      ansible.builtin.set_fact:
        k8s_hardening_node: "{{ test_node }}"
        cacheable: true
    - name: Issue or keep the serving certificate
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.kubelet
        tasks_from: serving_cert.yml
      when: test_issue | default(true) | bool
    - name: Check what the kubelet serves
      ansible.builtin.include_role:
        name: k8s_hardening.kubeadm.kubelet
        tasks_from: serving_check.yml
      when: test_check | default(false) | bool
    - name: Show the verdict
      ansible.builtin.debug:
        msg: "VERIFIED={{ kubelet__serving_verified }}"
      when: test_check | default(false) | bool
  handlers:
    - name: Kubelet restart (the test restarts its stand-in itself)
      ansible.builtin.debug:
        msg: RESTART-NOTIFIED
      listen: kubelet configuration changed
"""


def host_address():
    """This host's own non-loopback IPv4 (the default route's source address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # no packet is sent: connect() on UDP only picks the route
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def free_port(ip):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cp(tmp_path_factory):
    realk8s.skip_or_fail(pytest)
    root = str(tmp_path_factory.mktemp("realk8s-kubelet"))
    plane = realk8s.ControlPlane(root, node_name="cp-kubelet-ca")
    plane.extra_flags["kubelet-certificate-authority"] = os.path.join(plane.pki, "ca.crt")
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()


def run_play(tmp, extra, check=False):
    book = tmp / "play.yml"
    book.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    extra = dict(extra, ansible_python_interpreter=sys.executable)
    cmd = [PLAYBOOK_BIN, "-i", "localhost,", str(book), "-e", json.dumps(extra), "--diff"] + (["--check"] if check else [])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    recap = [line for line in proc.stdout.splitlines() if line.startswith("localhost") and "ok=" in line][-1]
    changed = int(recap.split("changed=")[1].split()[0])
    return proc.stdout, changed


def openssl(*args):
    subprocess.run(["openssl"] + [str(a) for a in args], check=True, capture_output=True)


class StandIn(object):
    """The lab's kubelet stand-in serving the kubelet port with a given serving pair (or none: self-signed)."""

    def __init__(self, tmp, cp, ip, port, cert=None, key=None):
        self.tmp = tmp
        cfg = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
               "address": ip, "port": port, "healthzPort": 0, "staticPodPath": str(tmp / "manifests"),
               "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                                  "x509": {"clientCAFile": os.path.join(cp.pki, "ca.crt")}},
               "authorization": {"mode": "Webhook"}, "tlsMinVersion": "VersionTLS12",
               "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]}
        if cert:
            cfg.update({"tlsCertFile": str(cert), "tlsPrivateKeyFile": str(key)})
        (tmp / "manifests").mkdir(parents=True, exist_ok=True)
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
        env = dict(os.environ, LAB_KUBELET_SPAWN="direct", LAB_KUBELET_STATE_DIR=str(tmp / "state"),
                   LAB_KUBELET_VERSION="v" + cp.version)
        self.log = open(str(tmp / "stand-in.log"), "w")
        self.proc = subprocess.Popen([sys.executable, LAB_KUBELET, "--config=%s" % (tmp / "config.yaml"),
                                      "--kubeconfig=%s" % cp.admin_kubeconfig, "--hostname-override=n1",
                                      "--cert-dir=%s" % (tmp / "pki")], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            assert self.proc.poll() is None, (tmp / "stand-in.log").read_text()
            try:
                socket.create_connection((ip, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the stand-in never listened: " + (tmp / "stand-in.log").read_text())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)
        self.log.close()


def register_node(cp, name, ip, port):
    cp.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}))
    cp.kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps({
        "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}))


def proxy_healthz(cp, name):
    return cp.kubectl("get", "--raw", "/api/v1/nodes/%s/proxy/healthz" % name, check=False)


def test_loopback_is_never_proxied(cp):
    """Why the stand-in cannot sit on 127.0.0.x here: the apiserver refuses to proxy to loopback."""
    register_node(cp, "n-loopback", "127.0.0.2", 10250)
    res = proxy_healthz(cp, "n-loopback")
    assert res.returncode != 0 and "not allowed" in res.stderr, res.stderr


def test_apiserver_verifies_kubelet_serving_certificates(cp, tmp_path):
    ip = host_address()
    if ip is None:
        pytest.skip("this host has no non-loopback IPv4 address for the kubelet endpoint")
    port = free_port(ip)
    node = {"node_name": "n1", "is_kubeadm_node": True, "paths": {"pki_dir": cp.pki}}
    extra = {"test_node": node, "kubelet_serving_ca_host": "localhost",
             "kubelet_serving_cert_file": str(tmp_path / "serving" / "kubelet-serving.crt"),
             "kubelet_serving_key_file": str(tmp_path / "serving" / "kubelet-serving.key"),
             "kubelet_serving_cert_ip_addresses": [ip], "kubelet_serving_cert_dns_names": ["n1.example"],
             "kubelet__config": {"config": {"port": port}}, "kubelet_restart_enabled": False}

    # 1. the role's issuing tasks, for real: check mode writes nothing; a run issues; a second run keeps
    out, changed = run_play(tmp_path, extra, check=True)
    assert changed > 0 and not (tmp_path / "serving").exists()
    assert "PRIVATE KEY" not in out and "BEGIN RSA" not in out
    out, changed = run_play(tmp_path, extra)
    assert changed > 0 and "RESTART-NOTIFIED" in out and "PRIVATE KEY" not in out
    crt, key = tmp_path / "serving" / "kubelet-serving.crt", tmp_path / "serving" / "kubelet-serving.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600" and key.stat().st_uid == 0
    openssl("verify", "-CAfile", os.path.join(cp.pki, "ca.crt"), "-purpose", "sslserver", crt)
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(crt)], capture_output=True, text=True,
                          check=True).stdout
    assert "IP Address:%s" % ip in text and "DNS:n1" in text and "CN = system:node:n1" in text
    before = crt.read_bytes(), key.read_bytes()
    out, changed = run_play(tmp_path, extra)
    assert changed == 0, out[-3000:]
    assert (crt.read_bytes(), key.read_bytes()) == before
    out, changed = run_play(tmp_path, extra, check=True)
    assert changed == 0

    register_node(cp, "n1", ip, port)

    # 2. the stand-in with the collection's certificate: the real apiserver verifies it and proxies
    good = StandIn(tmp_path / "good", cp, ip, port, crt, key)
    try:
        res = proxy_healthz(cp, "n1")
        assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
        out, dummy = run_play(tmp_path, dict(extra, test_issue=False, test_check=True))
        assert "VERIFIED=True" in out
    finally:
        good.stop()

    # 3a. self-signed (what kubeadm's kubelet makes without a serving certificate): refused, x509
    selfsigned = StandIn(tmp_path / "self", cp, ip, port)
    try:
        res = proxy_healthz(cp, "n1")
        assert res.returncode != 0 and "x509" in res.stderr + res.stdout, res.stderr
        out, dummy = run_play(tmp_path, dict(extra, test_issue=False, test_check=True))
        assert "VERIFIED=False" in out
    finally:
        selfsigned.stop()

    # 3b. the right names, but signed by another CA: refused, x509
    other = tmp_path / "other"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", other / "ca.key", "-out", other / "ca.crt",
            "-subj", "/CN=not-the-cluster-ca", "-days", "2")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", other / "s.key", "-out", other / "s.csr",
            "-subj", "/O=system:nodes/CN=system:node:n1")
    (other / "ext").write_text("subjectAltName=DNS:n1,IP:%s\nextendedKeyUsage=serverAuth\n" % ip)
    openssl("x509", "-req", "-in", other / "s.csr", "-CA", other / "ca.crt", "-CAkey", other / "ca.key",
            "-CAcreateserial", "-out", other / "s.crt", "-days", "2", "-extfile", other / "ext")
    stranger = StandIn(tmp_path / "stranger", cp, ip, port, other / "s.crt", other / "s.key")
    try:
        res = proxy_healthz(cp, "n1")
        assert res.returncode != 0 and "x509" in res.stderr + res.stdout, res.stderr
    finally:
        stranger.stop()
