"""A real Kubernetes control plane on this host, for tests that need a real API server.

The real binaries (.cache/k8s/v<version>/, unpacked by scripts/k8s-binaries.sh) run as
plain processes on 127.0.0.1, on free high ports, in a temp directory:

* PKI and kubeconfigs are written by the REAL kubeadm of that version
  (``kubeadm init phase certs all`` and ``init phase kubeconfig``), so subjects, SANs
  and groups are kubeadm's own (1.29+: admin.conf is ``kubeadm:cluster-admins``,
  super-admin.conf is ``system:masters``);
* etcd is Debian's etcd-server with kubeadm's etcd certificates and client-cert auth;
* kube-apiserver (and, when asked, kube-controller-manager and kube-scheduler) run
  with the flags of kubeadm's reference manifest of that version
  (../shared/reference/kubeadm-v<version>/), paths and ports rewritten for the temp
  directory; ``extra_flags`` adds or replaces flags, a value of None removes one.

Nothing here is simulated; when the binaries or etcd are missing, ``missing()`` says
what, and tests skip with that reason (``K8S_REQUIRE_REAL=1`` turns the skip into a
failure: make test sets it, so the suite never passes without the real components).
"""
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_VERSION = os.environ.get("K8S_TEST_VERSION", "1.33.3")


def bin_dir(version):
    return os.path.join(ROOT, ".cache", "k8s", "v" + version)


def reference_dir(version):
    return os.path.join(ROOT, "..", "shared", "reference", "kubeadm-v" + version)


def missing(version=DEFAULT_VERSION):
    """Why a real control plane cannot run here, or None."""
    if not shutil.which("etcd"):
        return "needs Debian's etcd-server on the host (make setup installs it)"
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubeadm", "kubectl"):
        if not os.access(os.path.join(bin_dir(version), name), os.X_OK):
            return "needs the real v%s binaries in .cache/k8s/v%s (make setup: scripts/k8s-binaries.sh)" % (version, version)
    if not os.path.isdir(reference_dir(version)):
        return "needs kubeadm's reference manifests in ../shared/reference/kubeadm-v%s" % version
    return None


def skip_or_fail(pytest, version=DEFAULT_VERSION):
    """pytest.skip with the reason, or pytest.fail when K8S_REQUIRE_REAL=1."""
    why = missing(version)
    if why:
        if os.environ.get("K8S_REQUIRE_REAL") == "1":
            pytest.fail("K8S_REQUIRE_REAL=1 but " + why)
        pytest.skip(why)


def free_ports(n):
    socks = [socket.socket() for dummy in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def manifest_command(version, component):
    """The command list of kubeadm's reference manifest for a component."""
    path = os.path.join(reference_dir(version), "etc", "kubernetes", "manifests", component + ".yaml")
    with open(path) as fh:
        pod = yaml.safe_load(fh)
    return list(pod["spec"]["containers"][0]["command"])


def flags_of(command):
    """['kube-x', '--a=1', '--b'] -> ordered dict {'a': '1', 'b': None}"""
    out = {}
    for arg in command[1:]:
        name, sep, value = arg[2:].partition("=")
        out[name] = value if sep else None
    return out


def command_of(binary, flags):
    argv = [binary]
    for name, value in flags.items():
        argv.append("--%s=%s" % (name, value) if value is not None else "--" + name)
    return argv


class ControlPlane(object):
    """A real control plane in ``root``; start() returns when /readyz answers."""

    def __init__(self, root, version=DEFAULT_VERSION, controller_manager=False, scheduler=False,
                 extra_flags=None, node_name="realk8s"):
        self.root = root
        self.version = version
        self.bin = bin_dir(version)
        self.node_name = node_name
        self.pki = os.path.join(root, "pki")
        self.kubeconfig_dir = os.path.join(root, "kubeconfigs")
        self.want_cm = controller_manager
        self.want_scheduler = scheduler
        self.extra_flags = dict(extra_flags or {})
        (self.port, self.etcd_port, self.etcd_peer_port, self.cm_port,
         self.sched_port) = free_ports(5)
        self.url = "https://127.0.0.1:%d" % self.port
        self.etcd_url = "https://127.0.0.1:%d" % self.etcd_port
        self.procs = {}
        self.logs = {}
        os.makedirs(root, exist_ok=True)

    # -- kubeadm ------------------------------------------------------------
    def kubeadm_config(self):
        minor = int(self.version.split(".")[1])
        api = "kubeadm.k8s.io/v1beta4" if minor >= 31 else "kubeadm.k8s.io/v1beta3"
        docs = [
            # kubeadm refuses a loopback advertiseAddress and picks the default interface's
            # address itself; the server listens on 127.0.0.1 only, which certSANs add.
            {"apiVersion": api, "kind": "InitConfiguration",
             "localAPIEndpoint": {"bindPort": self.port},
             "nodeRegistration": {"name": self.node_name}},
            {"apiVersion": api, "kind": "ClusterConfiguration", "kubernetesVersion": "v" + self.version,
             "clusterName": "kubernetes", "certificatesDir": self.pki,
             "controlPlaneEndpoint": "127.0.0.1:%d" % self.port,
             "apiServer": {"certSANs": ["127.0.0.1", "localhost"]},
             "networking": {"podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/12"}},
        ]
        path = os.path.join(self.root, "kubeadm.yaml")
        with open(path, "w") as fh:
            yaml.safe_dump_all(docs, fh)
        return path

    def kubeadm(self, *args):
        return subprocess.run([os.path.join(self.bin, "kubeadm")] + list(args), check=True,
                              capture_output=True, text=True, timeout=120)

    def make_pki(self):
        cfg = self.kubeadm_config()
        self.kubeadm("init", "phase", "certs", "all", "--config", cfg)
        os.makedirs(self.kubeconfig_dir, exist_ok=True)
        names = ["admin", "controller-manager", "scheduler"]
        if int(self.version.split(".")[1]) >= 29:
            names.append("super-admin")
        for name in names:
            self.kubeadm("init", "phase", "kubeconfig", name, "--config", cfg,
                         "--kubeconfig-dir", self.kubeconfig_dir)
            # the controller-manager's and scheduler's kubeconfigs name the local advertise
            # address; this server listens on 127.0.0.1 only
            path = os.path.join(self.kubeconfig_dir, name + ".conf")
            with open(path) as fh:
                conf = yaml.safe_load(fh)
            for cluster in conf["clusters"]:
                cluster["cluster"]["server"] = self.url
            with open(path, "w") as fh:
                yaml.safe_dump(conf, fh)

    @property
    def kubeconfig(self):
        """A system:masters kubeconfig (super-admin.conf from 1.29, admin.conf on 1.28)."""
        name = "super-admin.conf" if int(self.version.split(".")[1]) >= 29 else "admin.conf"
        return os.path.join(self.kubeconfig_dir, name)

    @property
    def admin_kubeconfig(self):
        return os.path.join(self.kubeconfig_dir, "admin.conf")

    # -- processes ----------------------------------------------------------
    def _spawn(self, name, argv):
        log = open(os.path.join(self.root, name + ".log"), "a")
        self.logs[name] = log.name
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)

    def log_tail(self, name, lines=30):
        try:
            with open(self.logs[name]) as fh:
                return "".join(fh.readlines()[-lines:])
        except (KeyError, OSError):
            return ""

    def start_etcd(self):
        data = os.path.join(self.root, "etcd-data")
        os.makedirs(data, mode=0o700, exist_ok=True)
        p = os.path.join(self.pki, "etcd")
        peer = "https://127.0.0.1:%d" % self.etcd_peer_port
        self._spawn("etcd", [
            "etcd", "--name=" + self.node_name, "--data-dir=" + data,
            "--listen-client-urls=" + self.etcd_url, "--advertise-client-urls=" + self.etcd_url,
            "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=%s=%s" % (self.node_name, peer),
            "--cert-file=" + os.path.join(p, "server.crt"), "--key-file=" + os.path.join(p, "server.key"),
            "--client-cert-auth=true", "--trusted-ca-file=" + os.path.join(p, "ca.crt"),
            "--peer-cert-file=" + os.path.join(p, "peer.crt"), "--peer-key-file=" + os.path.join(p, "peer.key"),
            "--peer-client-cert-auth=true", "--peer-trusted-ca-file=" + os.path.join(p, "ca.crt"),
            "--logger=zap", "--log-outputs=stderr"])

    def etcdctl(self, *args):
        p = os.path.join(self.pki, "etcd")
        env = dict(os.environ, ETCDCTL_API="3")
        return subprocess.run(
            ["etcdctl", "--endpoints=" + self.etcd_url, "--cacert=" + os.path.join(p, "ca.crt"),
             "--cert=" + os.path.join(p, "healthcheck-client.crt"),
             "--key=" + os.path.join(p, "healthcheck-client.key")] + list(args),
            check=True, capture_output=True, timeout=30, env=env)

    def _rewrite(self, flags):
        out = {}
        for name, value in flags.items():
            if isinstance(value, str) and value.startswith("/etc/kubernetes/pki"):
                value = self.pki + value[len("/etc/kubernetes/pki"):]
            elif isinstance(value, str) and value.startswith("/etc/kubernetes/"):
                value = os.path.join(self.kubeconfig_dir, value[len("/etc/kubernetes/"):])
            out[name] = value
        return out

    def apiserver_flags(self):
        flags = self._rewrite(flags_of(manifest_command(self.version, "kube-apiserver")))
        flags.update({"advertise-address": "127.0.0.1", "bind-address": "127.0.0.1",
                      "secure-port": str(self.port), "etcd-servers": self.etcd_url})
        for name, value in self.extra_flags.items():
            if value is None:
                flags.pop(name, None)
            else:
                flags[name] = value
        return flags

    def start_apiserver(self):
        self._spawn("kube-apiserver", command_of(os.path.join(self.bin, "kube-apiserver"), self.apiserver_flags()))

    def start_controller_manager(self):
        flags = self._rewrite(flags_of(manifest_command(self.version, "kube-controller-manager")))
        flags.update({"secure-port": str(self.cm_port), "leader-elect": "false"})
        self._spawn("kube-controller-manager",
                    command_of(os.path.join(self.bin, "kube-controller-manager"), flags))

    def start_scheduler(self):
        flags = self._rewrite(flags_of(manifest_command(self.version, "kube-scheduler")))
        flags.update({"secure-port": str(self.sched_port), "leader-elect": "false"})
        self._spawn("kube-scheduler", command_of(os.path.join(self.bin, "kube-scheduler"), flags))

    def start(self, timeout=180):
        self.make_pki()
        self.start_etcd()
        self.start_apiserver()
        self.wait_ready(timeout)
        if int(self.version.split(".")[1]) >= 29:
            # What kubeadm init does for admin.conf's group (EnsureAdminClusterRoleBinding).
            self.kubectl("create", "clusterrolebinding", "kubeadm:cluster-admins",
                         "--clusterrole=cluster-admin", "--group=kubeadm:cluster-admins")
        if self.want_cm:
            self.start_controller_manager()
        if self.want_scheduler:
            self.start_scheduler()
        if self.want_cm:
            self.wait_for(lambda: self.kubectl("get", "serviceaccount", "default", "-n", "default",
                                               check=False).returncode == 0, timeout,
                          "the controller-manager to create the default service account")
        return self

    def restart_apiserver(self, extra_flags=None, timeout=180, wait=True):
        """Stop the apiserver and start it with other flags (as a manifest change would)."""
        self.stop_one("kube-apiserver")
        if extra_flags is not None:
            self.extra_flags = dict(extra_flags)
        self.start_apiserver()
        if wait:
            self.wait_ready(timeout)

    def stop_one(self, name):
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self):
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            self.stop_one(name)

    # -- access -------------------------------------------------------------
    def ssl_context(self, client=True):
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.crt"))
        if client:
            ctx.load_cert_chain(os.path.join(self.pki, "apiserver-kubelet-client.crt"),
                                os.path.join(self.pki, "apiserver-kubelet-client.key"))
        return ctx

    def get(self, path, client=False, timeout=5):
        """(status, body) of a GET, anonymous unless client=True."""
        try:
            with urllib.request.urlopen(self.url + path, context=self.ssl_context(client), timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_for(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError("%s exited while waiting for %s:\n%s"
                                   % (dead[0], what, self.log_tail(dead[0])))
            try:
                if predicate():
                    return
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.5)
        raise RuntimeError("timed out after %ss waiting for %s:\n%s"
                           % (timeout, what, self.log_tail("kube-apiserver")))

    def wait_ready(self, timeout=180):
        self.wait_for(lambda: self.get("/readyz", client=True)[0] == 200, timeout, "kube-apiserver /readyz")

    def kubectl(self, *args, **kw):
        check = kw.pop("check", True)
        kubeconfig = kw.pop("kubeconfig", self.kubeconfig)
        return subprocess.run([os.path.join(self.bin, "kubectl"), "--kubeconfig", kubeconfig] + list(args),
                              check=check, capture_output=True, text=True, timeout=60, **kw)


__all__ = ["ControlPlane", "missing", "skip_or_fail", "free_ports", "DEFAULT_VERSION"]
