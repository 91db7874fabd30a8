#!/usr/bin/python3
# -*- coding: utf-8 -*-
"""Lab stand-in for the kubelet (installed as /usr/bin/kubelet on lab nodes).

NOT the kubelet. It does the part of the kubelet's work the hardening
collection depends on, honestly and visibly:

* takes the kubelet's command line (--config, --kubeconfig,
  --hostname-override, ...) and its KubeletConfiguration, and refuses to start
  (non-zero exit, one clear log line) on values the real kubelet refuses;
* serves GET /healthz -> "ok" on healthzBindAddress:healthzPort;
* runs static pods from staticPodPath: validates each manifest's paths
  against its volumes, runs the container's command for real when the binary
  is on the node (etcd always; kube-apiserver & co. when present in
  /usr/local/bin), restarts it when the manifest changes, restarts crashed
  processes with backoff, and writes each pod's state to
  /run/lab-kubelet/pods/<metadata.name>.json.

Pod processes run in their own transient systemd units (lab-pod-<name>), so
restarting or stopping this service leaves them running, as containers survive
a kubelet restart; on start the runner adopts a unit whose manifest hash still
matches. Python 3 standard library and PyYAML only.
"""

import hashlib
import http.server
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
import ssl

import yaml

STATE_DIR = os.environ.get("LAB_KUBELET_STATE_DIR", "/run/lab-kubelet/pods")
LOG_DIR = os.environ.get("LAB_KUBELET_LOG_DIR", "/var/log/lab-kubelet")
# systemd: pods in transient units (the lab); direct: child processes (tests on a host without systemd)
SPAWN = os.environ.get("LAB_KUBELET_SPAWN", "systemd")
EXTRA_BIN_DIR = "/usr/local/bin"
POLL_SECONDS = 1.0
BACKOFF_MAX = 20.0
# A process counts as started once it has lived this long (when its manifest
# has no HTTP startup/liveness probe to ask).
SETTLE_SECONDS = 3.0

# Go crypto/tls names (kubernetes component-base ciphersuites_flag.go).
SECURE_SUITES = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
INSECURE_SUITES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_RC4_128_SHA",
}
TLS_VERSIONS = {"VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"}
# protectKernelDefaults: sysctl -> (op, value), as the kubelet's container manager checks them.
KERNEL_DEFAULTS = {
    "vm/overcommit_memory": ("eq", 1),
    "vm/panic_on_oom": ("eq", 0),
    "kernel/panic": ("eq", 10),
    "kernel/panic_on_oops": ("eq", 1),
    "kernel/keys/root_maxkeys": ("ge", 1000000),
    "kernel/keys/root_maxbytes": ("ge", 25000000),
}
# Command-line flags that override KubeletConfiguration keys (the ones validated here).
FLAG_TO_CONFIG = {
    "read-only-port": ("readOnlyPort", int),
    "healthz-port": ("healthzPort", int),
    "healthz-bind-address": ("healthzBindAddress", str),
    "pod-manifest-path": ("staticPodPath", str),
    "protect-kernel-defaults": ("protectKernelDefaults", lambda v: v.lower() in ("true", "1", "")),
    "tls-cipher-suites": ("tlsCipherSuites", lambda v: [s for s in v.split(",") if s]),
    "tls-min-version": ("tlsMinVersion", str),
    "tls-cert-file": ("tlsCertFile", str),
    "tls-private-key-file": ("tlsPrivateKeyFile", str),
    "client-ca-file": ("authentication.x509.clientCAFile", str),
    "authorization-mode": ("authorization.mode", str),
}
# Flags whose value starts with "/" but is not a file on the node.
NOT_PATH_FLAGS = {"etcd-prefix", "cgroup-root", "kubelet-cgroups", "runtime-cgroups",
                  "system-cgroups", "service-account-jwks-uri"}
# Flags naming files the component creates: their parent directory must exist.
OUTPUT_PATH_FLAGS = {"audit-log-path", "log-file", "data-dir", "wal-dir", "cert-dir",
                     "log-dir", "profiling-output"}
# Flags of etcd 3.5 (what kubeadm 1.28 deploys) that Debian's etcd 3.4 does not
# know. Only these may be dropped for the process, and each drop is recorded.
ETCD35_ONLY_FLAGS = {
    "experimental-watch-progress-notify-interval", "experimental-initial-corrupt-check",
    "experimental-compact-hash-check-enabled", "experimental-compact-hash-check-time",
    "experimental-warning-unary-request-duration", "experimental-max-learners",
    "experimental-snapshot-catchup-entries", "experimental-wait-cluster-ready-timeout",
    "tls-min-version", "tls-max-version", "experimental-enable-lease-checkpoint-persist",
    "experimental-stop-grpc-service-on-defrag", "log-format", "experimental-enable-distributed-tracing",
}
# Health endpoints of etcd 3.5.11+ (kubeadm 1.33's etcd probes) that etcd 3.4 answers with
# 404: its /health stands in for them (the real control plane needs a running etcd pod).
ETCD34_PROBE_PATHS = {"/livez": "/health", "/readyz": "/health?serializable=false"}


def log(msg, *args):
    sys.stderr.write("lab-kubelet: " + (msg % args if args else msg) + "\n")
    sys.stderr.flush()


class ConfigError(Exception):
    pass


# --------------------------------------------------------------------------- flags and config
def parse_flags(argv):
    """kubelet-style flags: --name=value, --name value, --bool. -> ordered dict."""
    flags = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            continue
        name = arg.lstrip("-")
        if "=" in name:
            name, value = name.split("=", 1)
        elif i < len(argv) and not argv[i].startswith("-"):
            value = argv[i]
            i += 1
        else:
            value = "true"
        flags[name] = value
    return flags


def _set_path(cfg, dotted, value):
    node = cfg
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _get_path(cfg, dotted, default=None):
    node = cfg
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def read_sysctl(name, proc_sys="/proc/sys"):
    with open(os.path.join(proc_sys, name)) as handle:
        return int(handle.read().split()[0])


def load_config(flags, proc_sys="/proc/sys"):
    """The effective KubeletConfiguration (file + overriding flags); ConfigError if refused."""
    cfg = {}
    path = flags.get("config")
    if path:
        try:
            with open(path) as handle:
                cfg = yaml.safe_load(handle) or {}
        except OSError as exc:
            raise ConfigError("failed to load kubelet config file %s: %s" % (path, exc.strerror))
        except yaml.YAMLError as exc:
            raise ConfigError("failed to parse kubelet config file %s: %s" % (path, exc))
        if not isinstance(cfg, dict) or cfg.get("kind") != "KubeletConfiguration":
            raise ConfigError("%s: kind must be KubeletConfiguration" % path)
        if cfg.get("apiVersion") not in ("kubelet.config.k8s.io/v1beta1", "kubelet.config.k8s.io/v1"):
            raise ConfigError("%s: unsupported apiVersion %r" % (path, cfg.get("apiVersion")))
    for flag, (key, conv) in FLAG_TO_CONFIG.items():
        if flag in flags:
            try:
                _set_path(cfg, key, conv(flags[flag]))
            except ValueError:
                raise ConfigError("invalid value %r for flag --%s" % (flags[flag], flag))
    validate_config(cfg, proc_sys)
    return cfg


def validate_config(cfg, proc_sys="/proc/sys"):
    for key in ("readOnlyPort", "healthzPort", "port"):
        value = cfg.get(key)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= 65535):
            raise ConfigError("invalid configuration: %s (--%s) %r must be between 0 and 65535"
                              % (key, key, value))
    suites = cfg.get("tlsCipherSuites") or []
    if not isinstance(suites, list):
        raise ConfigError("tlsCipherSuites must be a list, got %r" % (suites,))
    for name in suites:
        if name in INSECURE_SUITES:
            # The real kubelet accepts these with a warning; the lab refuses
            # them so that a hardening mistake cannot pass unnoticed.
            raise ConfigError("tlsCipherSuites: cipher suite %s is insecure (lab policy: refused)" % name)
        if name not in SECURE_SUITES:
            raise ConfigError("tlsCipherSuites: Cipher suite %s not supported or doesn't exist" % name)
    minv = cfg.get("tlsMinVersion")
    if minv and minv not in TLS_VERSIONS:
        raise ConfigError("tlsMinVersion: unknown tls version %r (use one of %s)"
                          % (minv, ", ".join(sorted(TLS_VERSIONS))))
    mode = _get_path(cfg, "authorization.mode")
    if mode is not None and mode not in ("AlwaysAllow", "Webhook"):
        raise ConfigError("authorization.mode: unsupported authorization mode %r" % mode)
    for key in ("authentication.x509.clientCAFile", "tlsCertFile", "tlsPrivateKeyFile"):
        value = _get_path(cfg, key)
        if value and not os.path.isfile(value):
            raise ConfigError("%s: %s does not exist" % (key, value))
    if bool(cfg.get("tlsCertFile")) != bool(cfg.get("tlsPrivateKeyFile")):
        raise ConfigError("tlsCertFile and tlsPrivateKeyFile must be set together")
    if cfg.get("protectKernelDefaults"):
        bad = []
        for name, (op, want) in sorted(KERNEL_DEFAULTS.items()):
            try:
                have = read_sysctl(name, proc_sys)
            except (OSError, ValueError, IndexError):
                have = None
            ok = have is not None and (have == want if op == "eq" else have >= want)
            if not ok:
                bad.append("%s=%s (expected %s%s)" % (name.replace("/", "."), have,
                                                       ">=" if op == "ge" else "", want))
        if bad:
            raise ConfigError("failed to run Kubelet: protectKernelDefaults is true and the kernel "
                              "flags differ: " + "; ".join(bad))


def check_kubeconfig(flags):
    path = flags.get("kubeconfig")
    if not path:
        return
    if not os.path.exists(path):
        boot = flags.get("bootstrap-kubeconfig")
        if boot and os.path.exists(boot):
            return
        raise ConfigError("unable to load kubeconfig %s (and no bootstrap kubeconfig)" % path)
    try:
        with open(path) as handle:
            doc = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError("invalid kubeconfig %s: %s" % (path, exc))
    if not isinstance(doc, dict) or not doc.get("clusters"):
        raise ConfigError("invalid kubeconfig %s: no clusters" % path)


# --------------------------------------------------------------------------- manifests
def container_argv(doc):
    containers = ((doc.get("spec") or {}).get("containers") or [])
    if not containers:
        raise ValueError("spec.containers is empty")
    c = containers[0]
    argv = list(c.get("command") or []) + list(c.get("args") or [])
    if not argv:
        raise ValueError("container %s has no command" % c.get("name"))
    return [str(a) for a in argv], c


def mounts(doc, container):
    vols = {v.get("name"): v for v in (doc.get("spec") or {}).get("volumes") or []}
    out = []
    for m in container.get("volumeMounts") or []:
        vol = vols.get(m.get("name"))
        if vol is None:
            raise ValueError("volumeMount %s has no volume" % m.get("name"))
        host = (vol.get("hostPath") or {})
        out.append({"name": m.get("name"), "mountPath": m.get("mountPath", ""),
                    "hostPath": host.get("path"), "type": host.get("type", "")})
    return out


def prepare_volumes(mount_list):
    """What the kubelet does before starting a pod: hostPath types checked/created."""
    for m in mount_list:
        path, kind = m["hostPath"], m["type"]
        if not path:
            continue
        if kind == "DirectoryOrCreate" and not os.path.exists(path):
            os.makedirs(path, 0o755, exist_ok=True)
        elif kind == "FileOrCreate" and not os.path.exists(path):
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            with open(path, "a"):
                pass
            os.chmod(path, 0o644)
        elif kind in ("Directory", "DirectoryOrCreate") and not os.path.isdir(path):
            return "hostPath %s of volume %s is not a directory" % (path, m["name"])
        elif kind in ("File", "FileOrCreate") and not os.path.isfile(path):
            return "hostPath %s of volume %s is not a file" % (path, m["name"])
        elif not os.path.exists(path):
            return "hostPath %s of volume %s does not exist" % (path, m["name"])
    return None


def path_problems(argv, mount_list):
    """Every absolute path a flag names must lie under a mounted, existing hostPath."""
    problems = []
    for name, value in parse_flags(argv[1:]).items():
        if name in NOT_PATH_FLAGS or value is None:
            continue
        for item in value.split(","):
            item = item.strip()
            if not item.startswith("/"):
                continue
            mount = None
            for m in mount_list:
                mp = m["mountPath"].rstrip("/") or "/"
                if item == mp or item.startswith(mp + "/") or mp == "/":
                    if mount is None or len(mp) > len(mount["mountPath"]):
                        mount = m
            if mount is None:
                problems.append("--%s=%s: %s is not under any volumeMount" % (name, value, item))
                continue
            rel = os.path.relpath(item, mount["mountPath"])
            host = os.path.normpath(os.path.join(mount["hostPath"], rel)) if rel != "." else mount["hostPath"]
            if not os.path.exists(mount["hostPath"]):
                problems.append("--%s: hostPath %s (volume %s) does not exist" % (name, mount["hostPath"], mount["name"]))
            elif name in OUTPUT_PATH_FLAGS:
                if not os.path.isdir(os.path.dirname(host)) and not os.path.isdir(host):
                    problems.append("--%s: directory of %s does not exist" % (name, host))
            elif not os.path.exists(host):
                problems.append("--%s: %s does not exist on the node (volume %s)" % (name, host, mount["name"]))
    return problems


def find_binary(name):
    if os.path.isabs(name):
        return name if os.access(name, os.X_OK) else None
    if name == "etcd":
        return shutil.which("etcd")
    candidate = os.path.join(EXTRA_BIN_DIR, name)
    return candidate if os.access(candidate, os.X_OK) else None


def probe_of(container):
    for key in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = (container.get(key) or {}).get("httpGet")
        if get:
            return get
    return None


def probe_ok(get):
    scheme = (get.get("scheme") or "HTTP").lower()
    url = "%s://%s:%s%s" % (scheme, get.get("host") or "127.0.0.1", get.get("port"), get.get("path") or "/")
    ctx = ssl._create_unverified_context() if scheme == "https" else None  # the kubelet does not verify probes
    try:
        with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
            return 200 <= resp.status < 400
    except Exception:  # noqa: BLE001 - any failure is a failed probe
        return False


# --------------------------------------------------------------------------- processes
class Spawner(object):
    """Starts and watches one pod process: a transient systemd unit, or a child."""

    def __init__(self, pod_name):
        self.unit = "lab-pod-%s.service" % pod_name
        self.log_path = os.path.join(LOG_DIR, "%s.log" % pod_name)
        self.child = None

    def start(self, argv):
        os.makedirs(LOG_DIR, exist_ok=True)
        open(self.log_path, "w").close()
        if SPAWN == "systemd":
            self.stop()
            subprocess.run(["systemd-run", "--quiet", "--collect", "--unit", self.unit,
                            "--property=StandardOutput=append:" + self.log_path,
                            "--property=StandardError=append:" + self.log_path,
                            "--property=KillMode=mixed", "--"] + argv, check=True)
            return self.pid()
        out = open(self.log_path, "ab")
        self.child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        return self.child.pid

    def pid(self):
        if SPAWN == "systemd":
            res = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", self.unit],
                                 capture_output=True, text=True)
            try:
                pid = int(res.stdout.strip() or 0)
            except ValueError:
                pid = 0
            return pid or None
        if self.child is not None and self.child.poll() is None:
            return self.child.pid
        return None

    def alive(self):
        return self.pid() is not None

    def stop(self):
        if SPAWN == "systemd":
            subprocess.run(["systemctl", "stop", self.unit], capture_output=True)
            return
        if self.child is not None and self.child.poll() is None:
            os.killpg(self.child.pid, signal.SIGTERM)
            try:
                self.child.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.child.pid, signal.SIGKILL)
                self.child.wait()
        self.child = None

    def tail(self, lines=5):
        try:
            with open(self.log_path, errors="replace") as handle:
                return [l.rstrip() for l in handle.readlines()[-lines:]]
        except OSError:
            return []


def undefined_flag(log_lines):
    """Name of the flag a Go program rejected ("flag provided but not defined: -x")."""
    for line in log_lines:
        for marker in ("flag provided but not defined: ", "unknown flag: "):
            if marker in line:
                return line.split(marker, 1)[1].strip().lstrip("-").split("=")[0]
    return None


class Pod(object):
    def __init__(self, path, node_name):
        self.path = path
        self.node_name = node_name
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.sha = None
        self.state = "pending"
        self.reason = ""
        self.simulated = False
        self.dropped = []
        self.argv = None
        self.probe = None
        self.spawner = None
        self.pid = None
        self.started_at = None
        self.restarts = 0
        self.next_start = 0.0
        self.probe_deadline = 0.0
        self.start_time = 0.0

    # -- state file
    def state_path(self):
        return os.path.join(STATE_DIR, "%s.json" % self.name)

    def write_state(self):
        doc = {"name": self.name, "state": self.state, "reason": self.reason,
               "manifest_path": self.path, "manifest_sha256": self.sha, "pid": self.pid,
               "started_at": self.started_at, "simulated": self.simulated,
               "dropped_flags": list(self.dropped), "restarts": self.restarts,
               "node_name": self.node_name}
        os.makedirs(STATE_DIR, exist_ok=True)
        tmp = self.state_path() + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(doc, handle, indent=2, sort_keys=True)
        os.replace(tmp, self.state_path())

    def set(self, state, reason=""):
        changed = (state, reason) != (self.state, self.reason)
        self.state, self.reason = state, reason
        if changed:
            log("pod %s: %s %s", self.name, state, reason)
        self.write_state()

    # -- lifecycle
    def load(self, data, sha):
        """A new or changed manifest: validate, then start (or simulate)."""
        self.sha = sha
        self.dropped, self.restarts, self.pid, self.started_at = [], 0, None, None
        if self.spawner is not None:
            self.spawner.stop()
        try:
            doc = yaml.safe_load(data)
            if not isinstance(doc, dict) or doc.get("kind") != "Pod":
                raise ValueError("not a Pod")
            self.name = str((doc.get("metadata") or {}).get("name") or self.name)
            argv, container = container_argv(doc)
            mount_list = mounts(doc, container)
        except (ValueError, yaml.YAMLError, AttributeError, TypeError) as exc:
            self.argv = None
            self.set("invalid", "manifest: %s" % exc)
            return
        self.spawner = Spawner(self.name)
        problem = prepare_volumes(mount_list)
        problems = [problem] if problem else path_problems(argv, mount_list)
        if problems:
            self.argv = None
            self.spawner.stop()
            self.set("invalid", "; ".join(problems))
            return
        binary = find_binary(argv[0])
        self.probe = probe_of(container)
        if self.probe and os.path.basename(argv[0]) == "etcd" and self.probe.get("path") in ETCD34_PROBE_PATHS:
            self.probe = dict(self.probe, path=ETCD34_PROBE_PATHS[self.probe["path"]])
        if binary is None:
            self.simulated, self.argv = True, None
            self.spawner.stop()
            self.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.set("running", "simulated: %s is not installed on this node" % argv[0])
            return
        self.simulated = False
        self.argv = [binary] + argv[1:]
        if self.adopt():
            return
        self.next_start = 0.0
        self.start()

    def adopt(self):
        """After a kubelet restart: keep a pod process that runs this very manifest."""
        try:
            with open(self.state_path()) as handle:
                old = json.load(handle)
        except (OSError, ValueError):
            return False
        pid = self.spawner.pid()
        if old.get("manifest_sha256") != self.sha or not pid or old.get("state") != "running":
            return False
        self.pid, self.started_at = pid, old.get("started_at")
        self.dropped = [f for f in old.get("dropped_flags") or []]
        self.argv = [a for a in self.argv if a.lstrip("-").split("=")[0] not in self.dropped]
        self.restarts = old.get("restarts", 0)
        self.set("running", "adopted after kubelet restart")
        return True

    def start(self):
        self.pid = self.spawner.start(self.argv)
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.start_time = time.time()
        self.probe_deadline = self.start_time + 120
        self.set("pending", "started, waiting for the process to settle"
                 + (" and its probe" if self.probe else ""))

    def tick(self):
        if self.argv is None or self.simulated:
            return
        now = time.time()
        if self.state == "crashloop":
            if now >= self.next_start:
                self.start()
            return
        pid = self.spawner.pid()
        if pid is None:
            output = self.spawner.tail(lines=400)
            bad = undefined_flag(output)
            # Go programs print the offending flag first, then their usage text.
            tail = [l for l in output if "flag provided but not defined" in l or "unknown flag" in l] or output[-5:]
            base = os.path.basename(self.argv[0])
            if bad and base == "etcd" and bad in ETCD35_ONLY_FLAGS and bad not in self.dropped:
                # Debian's etcd 3.4 does not know this kubeadm (etcd 3.5) flag.
                self.dropped.append(bad)
                self.argv = [a for a in self.argv if a.lstrip("-").split("=")[0] != bad]
                log("pod %s: dropped --%s (unknown to this etcd)", self.name, bad)
                self.start()
                return
            self.restarts += 1
            delay = min(BACKOFF_MAX, 2.0 ** min(self.restarts, 5))
            self.next_start = now + delay
            self.pid = None
            self.set("crashloop", "exited (restart %d in %ds): %s"
                     % (self.restarts, delay, " | ".join(tail) or "no output"))
            return
        self.pid = pid
        if self.state == "pending":
            settled = now - self.start_time >= SETTLE_SECONDS
            if settled and (self.probe is None or probe_ok(self.probe)):
                self.set("running", "")
            elif now > self.probe_deadline:
                self.spawner.stop()
                self.restarts += 1
                self.next_start = now + BACKOFF_MAX
                self.set("crashloop", "startup probe failed for 120s: " + " | ".join(self.spawner.tail()))

    def remove(self):
        if self.spawner is not None:
            self.spawner.stop()
        try:
            os.unlink(self.state_path())
        except OSError:
            pass
        log("pod %s: manifest removed, pod stopped", self.name)


def manifest_files(directory):
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names
            if not n.startswith(".") and n.endswith((".yaml", ".yml", ".json"))
            and os.path.isfile(os.path.join(directory, n))]


def sync(directory, pods, node_name):
    seen = set()
    for path in manifest_files(directory):
        seen.add(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        sha = hashlib.sha256(data).hexdigest()
        pod = pods.get(path)
        if pod is None:
            pod = pods[path] = Pod(path, node_name)
        if pod.sha != sha:
            old_name = pod.name if pod.sha is not None else None
            pod.load(data, sha)
            if old_name and old_name != pod.name:
                try:
                    os.unlink(os.path.join(STATE_DIR, "%s.json" % old_name))
                except OSError:
                    pass
        else:
            pod.tick()
    for path in list(pods):
        if path not in seen:
            pods.pop(path).remove()


# --------------------------------------------------------------------------- healthz
class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path.split("?")[0] == "/healthz":
            body, code = b"ok", 200
        else:
            body, code = b"404 page not found\n", 404
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_healthz(cfg):
    port = cfg.get("healthzPort", 10248)
    if not port:
        return None
    addr = cfg.get("healthzBindAddress", "127.0.0.1")
    server = _Server((addr, port), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# The kubeadm version the lab's files come from (shared/reference/kubeadm-v1.28.7).
LAB_KUBELET_VERSION = "v1.28.7"


def main(argv):
    if "--version" in argv or "--version=true" in argv:
        # Like the real kubelet: print the version and exit, never start serving.
        print("Kubernetes %s" % LAB_KUBELET_VERSION)
        return 0
    flags = parse_flags(argv)
    node_name = flags.get("hostname-override") or os.uname()[1]
    try:
        check_kubeconfig(flags)
        cfg = load_config(flags)
    except ConfigError as exc:
        log("E: command failed: %s", exc)
        return 1
    try:
        serve_healthz(cfg)
    except OSError as exc:
        log("E: failed to serve healthz on %s:%s: %s", cfg.get("healthzBindAddress"),
            cfg.get("healthzPort"), exc)
        return 1
    directory = cfg.get("staticPodPath")
    log("started for node %s (lab stand-in, not the kubelet); static pods from %s", node_name, directory)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    os.makedirs(STATE_DIR, exist_ok=True)
    pods = {}
    while not stop.is_set():
        if directory:
            sync(directory, pods, node_name)
        stop.wait(POLL_SECONDS)
    if SPAWN != "systemd":
        for pod in pods.values():
            if pod.spawner is not None:
                pod.spawner.stop()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
