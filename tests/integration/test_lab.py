"""The `make lab-up` lab against the real kubeadm's own output, at the lab's version.

Runs only with K8S_LAB=1 and a running lab (`bash lab/lab.sh up`; another
lab with K8S_LAB_NAME=<name>; Molecule's default scenario runs it on its nodes in prepare, through lab/verify.yml).
Compares cp1 with ../shared/reference/kubeadm-v<version>/FILES.txt beside the
checkout (K8S_LAB_REFERENCE overrides; the version is the one the lab's nodes
were created with): what kubeadm wrote for node cp1, 10.0.0.10: every file and
mode, no file more, and for every certificate the subject, issuer, SANs,
extended key usages and validity as openssl prints them. Talks to the lab's
real etcd from this host over the lab network, with and without a client
certificate, with etcdctl and openssl s_client; checks that the real
kube-apiserver, controller-manager and scheduler run their manifests, that the
nodes are registered and that the real kubeadm reads its ConfigMaps.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PODMAN = os.path.join(ROOT, "lab", "bin", "podman")
# K8S_LAB_NAME: a lab started with LAB_NAME=<name> bash lab/lab.sh up (default: make lab-up's)
LAB = os.environ.get("K8S_LAB_NAME", "k8s-lab")
CP1, CP2, WORKER = LAB + "-cp1", LAB + "-cp2", LAB + "-worker1"
REF_NODE, REF_ADDR = "cp1", "10.0.0.10"
ADMIN = "/etc/kubernetes/admin.conf"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")

pytestmark = pytest.mark.skipif(os.environ.get("K8S_LAB") != "1",
                                reason="needs a running lab: K8S_LAB=1 after `bash lab/lab.sh up`")


def lab_version():
    """The Kubernetes version the lab's nodes were created with (lab.sh's label), else the binaries'."""
    if os.environ.get("K8S_LAB") != "1":
        return "1.33.3"
    res = subprocess.run([PODMAN, "container", "inspect", "-f", '{{index .Config.Labels "k8s-lab-version"}}', CP1],
                         capture_output=True, text=True, timeout=60, check=False)
    if res.returncode == 0 and res.stdout.strip() not in ("", "<no value>"):
        return res.stdout.strip()
    out = subprocess.run([PODMAN, "exec", CP1, "/opt/k8s/bin/kubeadm", "version", "-o", "short"],
                         capture_output=True, text=True, timeout=60, check=False).stdout.strip()
    return out.lstrip("v") or "1.33.3"


VERSION = lab_version()
MINOR = int(VERSION.split(".")[1])
REFERENCE = os.environ.get("K8S_LAB_REFERENCE", os.path.join(
    os.path.dirname(ROOT), "shared", "reference", "kubeadm-v" + VERSION))
# Kubeconfig client certificates kubeadm issues from 1.29 on (KEP-4214), for a reference
# tree that does not list them (the v1.33.3 one keeps no kubeconfigs).
KUBECONFIG_SUBJECTS_129 = {
    "admin.conf": "subject=O = kubeadm:cluster-admins, CN = kubernetes-admin",
    "super-admin.conf": "subject=O = system:masters, CN = kubernetes-super-admin",
    "controller-manager.conf": "subject=CN = system:kube-controller-manager",
    "scheduler.conf": "subject=CN = system:kube-scheduler",
    "kubelet.conf": "subject=O = system:nodes, CN = system:node:cp1",
}


def on(node, *argv, check=True):
    res = subprocess.run([PODMAN, "exec", node] + list(argv), capture_output=True, text=True, timeout=60, check=False)
    if check and res.returncode != 0:
        raise AssertionError("%s: %s failed: %s" % (node, " ".join(argv), res.stderr))
    return res


def node_address(node):
    return on(node, "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()


def reference_files():
    """[(mode, owner, path)] and {cert path: [openssl lines]} from FILES.txt."""
    files, certs, current = [], {}, None
    with open(os.path.join(REFERENCE, "FILES.txt")) as handle:
        for line in handle:
            line = line.rstrip("\n")
            m = re.match(r"^(\d{3}) (\S+) (/\S+)$", line)
            if m:
                files.append(m.groups())
                continue
            m = re.match(r"^== (\S+)( client cert)?$", line)
            if m:
                current = certs.setdefault(m.group(1), [])
                continue
            if current is not None and line.strip():
                current.append(line.strip())
    return files, certs


def to_lab(text, node, addr):
    return re.sub(r"\bcp1\b", node, text.replace(REF_ADDR, addr))


@pytest.fixture(scope="module")
def cp1_addr():
    return node_address(CP1)


@pytest.fixture(scope="module")
def reference():
    if not os.path.isfile(os.path.join(REFERENCE, "FILES.txt")):
        pytest.skip("no kubeadm reference tree for v%s at %s (K8S_LAB_REFERENCE)" % (VERSION, REFERENCE))
    return reference_files()


def kubectl(node, *args, kubeconfig=ADMIN, check=True):
    return on(node, "kubectl", "--kubeconfig", kubeconfig, *args, check=check)


def skip_if_hardened(node):
    """Modes are kubeadm's only until a hardening run changed the node (its backups are there)."""
    if on(node, "test", "-d", "/var/backups/k8s-hardening", check=False).returncode == 0:
        pytest.skip("%s was hardened since provisioning (modes may be stricter): "
                    "bash lab/lab.sh down && bash lab/lab.sh up for a pristine lab" % node)


def test_every_kubeadm_file_with_its_mode_on_cp1(reference):
    files, dummy = reference
    assert len(files) >= 30
    skip_if_hardened(CP1)
    out = on(CP1, "stat", "-c", "%a %U:%G %n", *[p for dummy, dummy, p in files]).stdout.splitlines()
    assert out == ["%s %s %s" % f for f in files]


@pytest.mark.parametrize("tree", ["/etc/kubernetes", "/var/lib/kubelet"])
def test_exactly_kubeadm_files_on_cp1(reference, tree):
    """No file missing and none more than kubeadm writes (a hardened node may hold the
    collection's own files: audit policy and log, encryption and admission configuration)."""
    files, dummy = reference
    want = sorted(p for dummy, dummy2, p in files if p.startswith(tree + "/"))
    argv = ["find", tree, "-type", "f"]
    if on(CP1, "test", "-d", "/var/backups/k8s-hardening", check=False).returncode == 0:
        argv += ["-not", "-path", "/etc/kubernetes/audit*", "-not", "-path", "/etc/kubernetes/*encryption*",
                 "-not", "-path", "/etc/kubernetes/admission*"]
    have = sorted(on(CP1, *argv).stdout.split())
    if tree == "/var/lib/kubelet":
        # Not kubeadm's, the kubelet's own: with no tlsCertFile it writes a self-signed serving pair into
        # its --cert-dir when it starts (kubeadm's reference tree was taken before the kubelet ran); on a
        # hardened node the collection's serving pair from the cluster CA.
        own = {"/var/lib/kubelet/pki/kubelet.crt", "/var/lib/kubelet/pki/kubelet.key"}
        if len(argv) > 4:
            own |= {"/var/lib/kubelet/pki/kubelet-serving.crt", "/var/lib/kubelet/pki/kubelet-serving.key"}
        have = [p for p in have if p not in own]
    if tree == "/etc/kubernetes":
        assert ("/etc/kubernetes/super-admin.conf" in want) == (MINOR >= 29)
    assert {"missing": sorted(set(want) - set(have)), "extra": sorted(set(have) - set(want))} == \
        {"missing": [], "extra": []}


def openssl_view(pem, kubeconfig=False):
    with tempfile.NamedTemporaryFile("w", suffix=".crt") as handle:
        handle.write(pem)
        handle.flush()
        out = subprocess.run(
            ["openssl", "x509", "-in", handle.name, "-noout", "-subject", "-issuer", "-startdate",
             "-enddate", "-ext", "extendedKeyUsage,subjectAltName"],
            capture_output=True, text=True, check=True).stdout
    return [l.strip() for l in out.splitlines() if l.strip() and l.strip() != "No extensions in certificate"]


def _date(line):
    return datetime.datetime.strptime(line.split("=", 1)[1].replace("  ", " "), "%b %d %H:%M:%S %Y GMT")


def _compare(ref_lines, lab_lines, node, addr):
    want = [to_lab(l, node, addr) for l in ref_lines
            if not l.startswith(("notBefore=", "notAfter=", "server:"))]
    have = [l for l in lab_lines if not l.startswith(("notBefore=", "notAfter="))]
    assert have == want


@pytest.mark.parametrize("path", [
    "/etc/kubernetes/pki/apiserver-etcd-client.crt", "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
    "/etc/kubernetes/pki/apiserver.crt", "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd/ca.crt",
    "/etc/kubernetes/pki/etcd/healthcheck-client.crt", "/etc/kubernetes/pki/etcd/peer.crt",
    "/etc/kubernetes/pki/etcd/server.crt", "/etc/kubernetes/pki/front-proxy-ca.crt",
    "/etc/kubernetes/pki/front-proxy-client.crt",
])
def test_certificate_like_kubeadm(path, reference, cp1_addr):
    dummy, certs = reference
    ref = certs[path]
    lab = openssl_view(on(CP1, "cat", path).stdout)
    _compare(ref, lab, CP1, cp1_addr)
    # validity: CAs 10 years, leaves 1 year, like the reference (same backdating)
    ref_days = (_date([l for l in ref if l.startswith("notAfter=")][0])
                - _date([l for l in ref if l.startswith("notBefore=")][0]))
    lab_days = (_date([l for l in lab if l.startswith("notAfter=")][0])
                - _date([l for l in lab if l.startswith("notBefore=")][0]))
    assert abs((lab_days - ref_days).total_seconds()) < 120


@pytest.mark.parametrize("conf", ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf",
                                  "kubelet.conf"])
def test_kubeconfig_client_certificate_like_kubeadm(conf, reference, cp1_addr):
    import base64
    import yaml
    dummy, certs = reference
    if conf == "super-admin.conf" and MINOR < 29:
        assert on(CP1, "test", "-e", "/etc/kubernetes/super-admin.conf", check=False).returncode != 0
        return
    ref = certs.get("/etc/kubernetes/" + conf) or [
        "server: https://%s:6443" % REF_ADDR, KUBECONFIG_SUBJECTS_129[conf], "issuer=CN = kubernetes"]
    doc = yaml.safe_load(on(CP1, "cat", "/etc/kubernetes/" + conf).stdout)
    server = [l for l in ref if l.startswith("server:")][0].split(None, 1)[1]
    assert doc["clusters"][0]["cluster"]["server"] == to_lab(server, CP1, cp1_addr)
    user = doc["users"][0]["user"]
    assert "client-key-data" in user
    pem = base64.b64decode(user["client-certificate-data"]).decode()
    lab = [l for l in openssl_view(pem) if l.startswith(("subject=", "issuer="))]
    want = [to_lab(l, CP1, cp1_addr) for l in ref if l.startswith(("subject=", "issuer="))]
    assert lab == want


def test_worker_has_what_kubeadm_join_leaves():
    skip_if_hardened(WORKER)
    out = on(WORKER, "stat", "-c", "%a %n", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt",
             "/var/lib/kubelet/config.yaml", "/var/lib/kubelet/kubeadm-flags.env",
             "/usr/lib/systemd/system/kubelet.service",
             "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf").stdout.split("\n")
    assert out[:4] == ["600 /etc/kubernetes/kubelet.conf", "644 /etc/kubernetes/pki/ca.crt",
                       "644 /var/lib/kubelet/config.yaml", "644 /var/lib/kubelet/kubeadm-flags.env"]
    assert on(WORKER, "test", "-e", "/etc/kubernetes/pki/ca.key", check=False).returncode != 0
    assert on(WORKER, "ls", "/etc/kubernetes/manifests").stdout.strip() == ""
    # one cluster: the worker trusts the control plane's CA
    assert on(WORKER, "cat", "/etc/kubernetes/pki/ca.crt").stdout == on(CP1, "cat", "/etc/kubernetes/pki/ca.crt").stdout


@pytest.mark.parametrize("node", [CP1, CP2, WORKER])
def test_kubelet_healthz(node):
    res = on(node, "python3", "-c",
             "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:10248/healthz').read().decode())")
    assert res.stdout.strip() == "ok"


@pytest.mark.parametrize("node", [CP1, CP2])
def test_etcd_pod_runs_for_real(node):
    state = json.loads(on(node, "cat", "/run/lab-kubelet/pods/etcd.json").stdout)
    sha = on(node, "sha256sum", "/etc/kubernetes/manifests/etcd.yaml").stdout.split()[0]
    assert state["state"] == "running" and state["simulated"] is False
    assert state["manifest_sha256"] == sha
    comm = on(node, "cat", "/proc/%d/comm" % state["pid"]).stdout.strip()
    assert comm == "etcd"


@pytest.fixture(scope="module")
def etcd_client_files():
    """The healthcheck-client certificate and key and the etcd CA, copied to a private temp dir."""
    tmp = tempfile.mkdtemp(prefix="lab-etcd-")
    os.chmod(tmp, 0o700)
    try:
        for name in ("ca.crt", "healthcheck-client.crt", "healthcheck-client.key"):
            path = os.path.join(tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(on(CP1, "cat", "/etc/kubernetes/pki/etcd/" + name).stdout)
        yield tmp
    finally:
        shutil.rmtree(tmp)


def etcdctl(*args, cert_dir=None, endpoints, with_cert=True):
    env = dict(os.environ, ETCDCTL_API="3")
    argv = ["etcdctl", "--endpoints", endpoints, "--cacert", os.path.join(cert_dir, "ca.crt"),
            "--dial-timeout=3s", "--command-timeout=5s"]
    if with_cert:
        argv += ["--cert", os.path.join(cert_dir, "healthcheck-client.crt"),
                 "--key", os.path.join(cert_dir, "healthcheck-client.key")]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, timeout=30, check=False)


def test_etcd_cluster_of_two_answers_the_healthcheck_client(etcd_client_files, cp1_addr):
    cp2_addr = node_address(CP2)
    endpoints = "https://%s:2379,https://%s:2379" % (cp1_addr, cp2_addr)
    res = etcdctl("member", "list", "-w", "json", cert_dir=etcd_client_files, endpoints=endpoints)
    assert res.returncode == 0, res.stderr
    members = sorted((m["name"], m["peerURLs"][0]) for m in json.loads(res.stdout)["members"])
    assert members == [(CP1, "https://%s:2380" % cp1_addr), (CP2, "https://%s:2380" % cp2_addr)]
    res = etcdctl("endpoint", "health", cert_dir=etcd_client_files, endpoints=endpoints)
    assert res.returncode == 0, res.stderr


def test_etcd_refuses_a_client_without_certificate(etcd_client_files, cp1_addr):
    res = etcdctl("get", "/", "--prefix", "--keys-only", cert_dir=etcd_client_files,
                  endpoints="https://%s:2379" % cp1_addr, with_cert=False)
    assert res.returncode != 0


def s_client(addr, cert_dir, with_cert):
    argv = ["openssl", "s_client", "-connect", "%s:2379" % addr, "-CAfile", os.path.join(cert_dir, "ca.crt"),
            "-verify_return_error", "-servername", "localhost", "-ign_eof"]
    if with_cert:
        argv += ["-cert", os.path.join(cert_dir, "healthcheck-client.crt"),
                 "-key", os.path.join(cert_dir, "healthcheck-client.key")]
    # a TLS 1.3 server refuses a missing client certificate after the client's
    # Finished: send a request so that the refusal (an alert) is read
    return subprocess.run(argv, input="GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                          capture_output=True, text=True, timeout=30, check=False)


def test_openssl_handshake_with_and_without_client_certificate(etcd_client_files, cp1_addr):
    good = s_client(cp1_addr, etcd_client_files, True)
    assert good.returncode == 0, good.stderr
    assert "Verify return code: 0 (ok)" in good.stdout
    assert '"etcdserver"' in good.stdout
    bad = s_client(cp1_addr, etcd_client_files, False)
    assert '"etcdserver"' not in bad.stdout
    assert re.search(r"alert|certificate required|handshake failure", bad.stderr + bad.stdout, re.I)


@pytest.mark.parametrize("node", [CP1, CP2])
@pytest.mark.parametrize("component", CONTROL_PLANE)
def test_control_plane_component_runs_its_manifest_for_real(node, component):
    import yaml
    state = json.loads(on(node, "cat", "/run/lab-kubelet/pods/%s.json" % component).stdout)
    manifest = on(node, "cat", "/etc/kubernetes/manifests/%s.yaml" % component).stdout
    assert state["state"] == "running" and state["simulated"] is False, state
    assert state["manifest_sha256"] == on(node, "sha256sum", "/etc/kubernetes/manifests/%s.yaml"
                                          % component).stdout.split()[0]
    argv = [a for a in on(node, "cat", "/proc/%d/cmdline" % state["pid"]).stdout.split("\0") if a]
    command = yaml.safe_load(manifest)["spec"]["containers"][0]["command"]
    assert argv == ["/usr/local/bin/" + component] + command[1:]
    version = on(node, "/usr/local/bin/" + component, "--version").stdout.split()[-1]
    assert version == "v" + VERSION


@pytest.mark.parametrize("node", [CP1, CP2])
def test_readyz_with_a_client_certificate(node):
    addr = node_address(node)
    res = on(node, "python3", "-c", (
        "import ssl, urllib.request\n"
        "ctx = ssl.create_default_context(cafile='/etc/kubernetes/pki/ca.crt')\n"
        "ctx.load_cert_chain('/etc/kubernetes/pki/apiserver-kubelet-client.crt', "
        "'/etc/kubernetes/pki/apiserver-kubelet-client.key')\n"
        "print(urllib.request.urlopen('https://%s:6443/readyz', context=ctx).read().decode())" % addr))
    assert res.stdout.strip() == "ok"


def test_nodes_registered_as_kubeadm_nodes():
    nodes = json.loads(kubectl(CP1, "get", "nodes", "-o", "json").stdout)["items"]
    by_name = {n["metadata"]["name"]: n for n in nodes}
    assert sorted(by_name) == sorted([CP1, CP2, WORKER])
    for name, node in by_name.items():
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == name
        assert ("node-role.kubernetes.io/control-plane" in labels) == (name != WORKER)
        taints = [t["key"] for t in node["spec"].get("taints", [])]
        assert ("node-role.kubernetes.io/control-plane" in taints) == (name != WORKER)
        addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
        assert addresses == {"InternalIP": node_address(name), "Hostname": name}
        assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 10250
        assert node["status"]["nodeInfo"]["kubeletVersion"] == "v" + VERSION


def test_kubeadm_configmaps_and_rbac_as_kubeadm_init_leaves_them():
    import yaml
    cm = json.loads(kubectl(CP1, "-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "json").stdout)
    cluster = yaml.safe_load(cm["data"]["ClusterConfiguration"])
    assert cluster["kubernetesVersion"] == "v" + VERSION
    assert cluster["apiVersion"] == ("kubeadm.k8s.io/v1beta4" if MINOR >= 31 else "kubeadm.k8s.io/v1beta3")
    kubelet = json.loads(kubectl(CP1, "-n", "kube-system", "get", "configmap", "kubelet-config", "-o", "json").stdout)
    assert yaml.safe_load(kubelet["data"]["kubelet"])["kind"] == "KubeletConfiguration"
    assert kubectl(CP1, "-n", "kube-public", "get", "configmap", "cluster-info", "-o", "name").stdout.strip() \
        == "configmap/cluster-info"
    bindings = kubectl(CP1, "get", "clusterrolebindings", "-o", "name").stdout.split()
    assert ("clusterrolebinding.rbac.authorization.k8s.io/kubeadm:cluster-admins" in bindings) == (MINOR >= 29)
    # admin.conf is a cluster admin through that binding (1.29+) or system:masters (1.28)
    assert kubectl(CP1, "auth", "can-i", "*", "*").stdout.strip() == "yes"


@pytest.mark.parametrize("node", [CP1, CP2])
def test_real_kubeadm_upgrade_dry_run_reads_the_cluster(node):
    import yaml
    res = on(node, "env", "KUBEADM_UPGRADE_DRYRUN_DIR=/tmp/kubeadm-dryrun", "kubeadm", "upgrade", "node",
             "phase", "control-plane", "--dry-run")
    # 1.28: "Reading configuration from the cluster...", 1.33: ... from the "kubeadm-config" ConfigMap
    assert re.search(r'Reading configuration from the (cluster|"kubeadm-config" ConfigMap)', res.stdout)
    out = re.sub(r"(?m)^\t", "", res.stdout)  # kubeadm 1.28 indents the files it prints with a tab
    for component in CONTROL_PLANE:
        m = re.search(r'Would write file "/etc/kubernetes/manifests/%s.yaml" with content:\n(.*?\nstatus: \{\}\n)'
                      % component, out, re.S)
        assert m, component
        written = yaml.safe_load(m.group(1))["spec"]["containers"][0]["command"]
        live = yaml.safe_load(on(node, "cat", "/etc/kubernetes/manifests/%s.yaml" % component).stdout)
        if on(node, "test", "-d", "/var/backups/k8s-hardening", check=False).returncode != 0:
            assert written == live["spec"]["containers"][0]["command"]
