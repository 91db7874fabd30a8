#!/usr/bin/python3
# -*- coding: utf-8 -*-
"""Lab stand-in for the kubelet (installed as /usr/bin/kubelet on lab nodes).

NOT the kubelet. It does the part of the kubelet's work the hardening
collection depends on, honestly and visibly:

* takes the kubelet's command line and its KubeletConfiguration and refuses to
  start (exit 1, one "command failed" line) on exactly what the real kubelet
  refuses before it connects to the container runtime (flags of the version in
  LAB_KUBELET_VERSION, decoding, validation, TLS options, client CA, kubeconfig,
  authorization mode); lab/tests/test_lab_kubelet_agreement.py runs the real
  kubelet v1.28.7 and v1.33.3 on the same inputs and asserts agreement. What the
  real kubelet checks after the runtime is up (protectKernelDefaults' sysctls,
  the serving pair) is checked at start-up here. LAB_KUBELET_VALIDATE_ONLY=1
  stops where the real kubelet would meet the runtime;
* serves GET /healthz -> "ok" on healthzBindAddress:healthzPort, and HTTPS on
  address:port (default 0.0.0.0:10250) with tlsCertFile/tlsPrivateKeyFile (or a
  self-signed pair in --cert-dir), tlsMinVersion, tlsCipherSuites and x509 client
  authentication against authentication.x509.clientCAFile: /healthz, /pods,
  /configz;
* runs static pods from staticPodPath: validates each manifest's paths
  against its volumes, runs the container's command for real when the binary
  is on the node (etcd always; kube-apiserver & co. when present in
  /usr/local/bin), restarts it when the manifest changes, restarts crashed
  processes with backoff, and writes each pod's state to
  /run/lab-kubelet/pods/<metadata.name>.json.

Pod processes run in their own transient systemd units (lab-pod-<name>), so
restarting or stopping this service leaves them running, as containers survive
a kubelet restart; on start the runner adopts a unit whose manifest hash still
matches. Python 3 standard library, PyYAML and the openssl command only.
"""

import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
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

# ---------------------------------------------------------------------------- what the real kubelet takes
# These tables are the stand-in's own, written from the real kubelet binaries (v1.28.7 and
# v1.33.3, `kubelet --help` and their behaviour), never from the collection's tables: the
# agreement test (lab/tests/test_lab_kubelet_agreement.py) runs the real kubelet and this
# stand-in on the same files and flags and asserts they accept and refuse the same cases.

# Cipher suite names the real kubelet accepts (k8s.io/component-base/cli/flag
# ciphersuites_flag.go: Go's tls.CipherSuites() and tls.InsecureCipherSuites(), plus two
# legacy CHACHA20 spellings). The insecure ones are accepted with a warning, as the kubelet does.
GO_CIPHER_SUITES = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
GO_INSECURE_CIPHER_SUITES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_RC4_128_SHA",
}
# The same suites by their OpenSSL names, for serving (TLS 1.3 suites are not configurable
# in Go either; RC4 and 3DES are gone from OpenSSL 3 and are skipped with a warning).
OPENSSL_CIPHER = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
}
# tlsMinVersion / --tls-min-version: exactly these spellings (component-base TLSVersion).
TLS_VERSIONS = {"VersionTLS10": "TLSv1", "VersionTLS11": "TLSv1_1", "VersionTLS12": "TLSv1_2",
                "VersionTLS13": "TLSv1_3"}

# The kubelet's command-line flags (pflag): `kubelet --help` of the real v1.28.7; FLAG_CHANGES
# holds what differs from 1.31 on (`kubelet --help` of v1.33.3). An unknown flag is refused.
BOOL_FLAGS = set("""
anonymous-auth authentication-token-webhook cgroups-per-qos contention-profiling cpu-cfs-quota
enable-controller-attach-detach enable-debugging-handlers enable-load-reader enable-server
exit-on-lock-contention experimental-allocatable-ignore-eviction fail-swap-on help
keep-terminated-pod-volumes kernel-memcg-notification local-storage-capacity-isolation
log-cadvisor-usage log-json-split-stream make-iptables-util-chains protect-kernel-defaults
register-node register-schedulable rotate-certificates rotate-server-certificates runonce
seccomp-default serialize-image-pulls storage-driver-secure""".split())
INT_FLAGS = set("""
application-metrics-count-limit container-log-max-files event-burst event-qps
eviction-max-pod-grace-period healthz-port image-gc-high-threshold image-gc-low-threshold
kube-api-burst kube-api-qps max-open-files max-pods maximum-dead-containers
maximum-dead-containers-per-container node-status-max-images oom-score-adj pod-max-pids
pods-per-core port read-only-port registry-burst registry-qps v""".split())
VALUE_FLAGS = INT_FLAGS | set("""
address allowed-unsafe-sysctls authentication-token-webhook-cache-ttl authorization-mode
authorization-webhook-cache-authorized-ttl authorization-webhook-cache-unauthorized-ttl
boot-id-file bootstrap-kubeconfig cert-dir cgroup-driver cgroup-root client-ca-file
cloud-config cloud-provider cluster-dns cluster-domain config config-dir container-hints
container-log-max-size container-runtime-endpoint containerd containerd-namespace
cpu-cfs-quota-period cpu-manager-policy cpu-manager-policy-options
cpu-manager-reconcile-period enforce-node-allocatable event-storage-age-limit
event-storage-event-limit eviction-hard eviction-minimum-reclaim
eviction-pressure-transition-period eviction-soft eviction-soft-grace-period
experimental-mounter-path feature-gates file-check-frequency global-housekeeping-interval
hairpin-mode healthz-bind-address hostname-override housekeeping-interval http-check-frequency
image-credential-provider-bin-dir image-credential-provider-config image-service-endpoint
kube-api-content-type kube-reserved kube-reserved-cgroup kubeconfig kubelet-cgroups lock-file
log-flush-frequency log-json-info-buffer-size logging-format machine-id-file manifest-url
manifest-url-header memory-manager-policy minimum-container-ttl-duration
minimum-image-ttl-duration node-ip node-labels node-status-update-frequency pod-cidr
pod-infra-container-image pod-manifest-path provider-id qos-reserved register-with-taints
reserved-cpus reserved-memory resolv-conf root-dir runtime-cgroups runtime-request-timeout
storage-driver-buffer-duration storage-driver-db storage-driver-host
storage-driver-password storage-driver-table storage-driver-user
streaming-connection-idle-timeout sync-frequency system-cgroups system-reserved
system-reserved-cgroup tls-cert-file tls-cipher-suites tls-min-version tls-private-key-file
topology-manager-policy topology-manager-policy-options topology-manager-scope
vmodule volume-plugin-dir volume-stats-agg-period""".split())
SHORT_FLAGS = {"h": "help", "v": "v"}
FLAG_CHANGES = {31: {"bool": {"fail-cgroupv1", "log-text-split-stream"},
                     "value": {"log-text-info-buffer-size"},
                     "removed": {"keep-terminated-pod-volumes"}}}
# Go's strconv.ParseBool.
GO_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
# KubeletConfiguration keys a flag overrides (the flag wins, as in the real kubelet).
FLAG_TO_CONFIG = {
    "address": "address", "port": "port", "read-only-port": "readOnlyPort",
    "healthz-port": "healthzPort", "healthz-bind-address": "healthzBindAddress",
    "pod-manifest-path": "staticPodPath", "protect-kernel-defaults": "protectKernelDefaults",
    "tls-cipher-suites": "tlsCipherSuites", "tls-min-version": "tlsMinVersion",
    "tls-cert-file": "tlsCertFile", "tls-private-key-file": "tlsPrivateKeyFile",
    "client-ca-file": "authentication.x509.clientCAFile",
    "anonymous-auth": "authentication.anonymous.enabled",
    "authentication-token-webhook": "authentication.webhook.enabled",
    "authorization-mode": "authorization.mode", "event-qps": "eventRecordQPS",
    "event-burst": "eventBurst", "rotate-certificates": "rotateCertificates",
    "streaming-connection-idle-timeout": "streamingConnectionIdleTimeout",
}
# KubeletConfiguration v1beta1 duration fields: a value Go's time.ParseDuration refuses
# fails the decoding of the whole file.
DURATION_KEYS = {
    "syncFrequency", "fileCheckFrequency", "httpCheckFrequency", "streamingConnectionIdleTimeout",
    "nodeStatusUpdateFrequency", "nodeStatusReportFrequency", "imageMinimumGCAge",
    "imageMaximumGCAge", "volumeStatsAggPeriod", "cpuManagerReconcilePeriod",
    "runtimeRequestTimeout", "evictionPressureTransitionPeriod", "cpuCFSQuotaPeriod",
    "shutdownGracePeriod", "shutdownGracePeriodCriticalPods",
    "authentication.webhook.cacheTTL", "authorization.webhook.cacheAuthorizedTTL",
    "authorization.webhook.cacheUnauthorizedTTL",
}
GO_DURATION = r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$"
# protectKernelDefaults: sysctl -> (op, value), as the kubelet's container manager checks them
# (after the container runtime is up: the real kubelet's validation does not look at them).
KERNEL_DEFAULTS = {
    "vm/overcommit_memory": ("eq", 1),
    "vm/panic_on_oom": ("eq", 0),
    "kernel/panic": ("eq", 10),
    "kernel/panic_on_oops": ("eq", 1),
    "kernel/keys/root_maxkeys": ("ge", 1000000),
    "kernel/keys/root_maxbytes": ("ge", 25000000),
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
def kubelet_version():
    """The version this stand-in plays: LAB_KUBELET_VERSION (e.g. v1.33.3), else the version of the real
    kubelet the lab mounts on the node (REAL_KUBELET, /opt/k8s/bin/kubelet), else LAB_KUBELET_VERSION_DEFAULT."""
    if os.environ.get("LAB_KUBELET_VERSION"):
        return os.environ["LAB_KUBELET_VERSION"]
    if os.access(REAL_KUBELET, os.X_OK):
        try:
            out = subprocess.run([REAL_KUBELET, "--version"], capture_output=True, text=True, timeout=20,
                                 check=False).stdout.split()
        except (OSError, subprocess.SubprocessError):
            out = []
        if len(out) == 2 and out[1].startswith("v"):
            return out[1]
    return LAB_KUBELET_VERSION_DEFAULT


def kubelet_minor(version=None):
    parts = (version or kubelet_version()).lstrip("v").split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def parse_flags(argv):
    """Component flags in a static pod command: --name=value, --name value, --bool. -> dict."""
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


def kubelet_flag_sets(minor):
    bools, values = set(BOOL_FLAGS), set(VALUE_FLAGS)
    for since, change in sorted(FLAG_CHANGES.items()):
        if minor >= since:
            bools = (bools | change["bool"]) - change["removed"]
            values = (values | change["value"]) - change["removed"]
    return bools, values


def parse_kubelet_flags(argv, minor=None):
    """The kubelet's own command line, parsed as pflag does; ConfigError as the kubelet words it."""
    bools, values = kubelet_flag_sets(kubelet_minor() if minor is None else minor)
    flags = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            raise ConfigError("unknown command %s" % arg)
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
        else:
            short, eq, value = arg[1:].partition("=")
            if short not in SHORT_FLAGS:
                raise ConfigError("failed to parse kubelet flag: unknown shorthand flag: %r in %s" % (short[:1], arg))
            name = SHORT_FLAGS[short]
        if name == "version":
            flags[name] = value if eq else "true"
        elif name in bools:
            if eq and value not in GO_BOOLS:
                raise ConfigError('failed to parse kubelet flag: invalid argument "%s" for "--%s" flag: '
                                  'strconv.ParseBool: parsing "%s": invalid syntax' % (value, name, value))
            flags[name] = "true" if not eq or GO_BOOLS[value] else "false"
        elif name in values:
            if not eq:
                if i >= len(argv):
                    raise ConfigError("failed to parse kubelet flag: flag needs an argument: --%s" % name)
                value = argv[i]
                i += 1
            if name in INT_FLAGS:
                try:
                    int(value, 10)
                except ValueError:
                    raise ConfigError('failed to parse kubelet flag: invalid argument "%s" for "--%s" flag: '
                                      'strconv.ParseInt: parsing "%s": invalid syntax' % (value, name, value))
            flags[name] = value
        else:
            raise ConfigError("failed to parse kubelet flag: unknown flag: --%s" % name)
    return flags


def _set_path(cfg, dotted, value):
    node = cfg
    keys = dotted.split(".")
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
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


def _flag_value(flag, raw):
    if flag in BOOL_FLAGS:
        return raw == "true"
    if flag in INT_FLAGS:
        return int(raw, 10)
    if flag == "tls-cipher-suites":
        return [s.strip() for s in raw.split(",") if s.strip()]
    return raw


def read_config_file(path):
    """Decode a KubeletConfiguration file as the kubelet does (unknown fields only warn)."""
    try:
        with open(path) as handle:
            cfg = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError("failed to load kubelet config file, path: %s, error: failed to read kubelet "
                          "config file %r, error: %s" % (path, path, exc.strerror))
    except yaml.YAMLError as exc:
        raise ConfigError("failed to load kubelet config file, path: %s, error: failed to decode: %s" % (path, exc))
    if not isinstance(cfg, dict):
        raise ConfigError("failed to load kubelet config file, path: %s, error: not a KubeletConfiguration" % path)
    if cfg.get("kind") != "KubeletConfiguration" or cfg.get("apiVersion") != "kubelet.config.k8s.io/v1beta1":
        raise ConfigError('failed to load kubelet config file, path: %s, error: no kind "%s" is registered for '
                          'version "%s"' % (path, cfg.get("kind"), cfg.get("apiVersion")))
    for key in sorted(DURATION_KEYS):
        value = _get_path(cfg, key)
        if value is not None and not re.match(GO_DURATION, str(value)):
            raise ConfigError("failed to load kubelet config file, path: %s, error: failed to decode: "
                              "time: invalid duration %r (%s)" % (path, value, key))
    for key in ("port", "readOnlyPort", "healthzPort", "eventRecordQPS", "eventBurst"):
        value = cfg.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError("failed to load kubelet config file, path: %s, error: failed to decode: "
                              "%s: cannot unmarshal %r into an integer" % (path, key, value))
    return cfg


def effective_config(flags):
    """The KubeletConfiguration the kubelet runs with: file, v1beta1 defaults, flags on top."""
    cfg = read_config_file(flags["config"]) if flags.get("config") else {}
    # v1beta1 defaulting (pkg/kubelet/apis/config/v1beta1/defaults.go), for the keys used here
    if not cfg.get("port"):
        cfg["port"] = 10250
    for key, value in (("address", "0.0.0.0"), ("healthzPort", 10248), ("healthzBindAddress", "127.0.0.1"),
                       ("readOnlyPort", 0), ("eventRecordQPS", 50), ("eventBurst", 100)):
        if cfg.get(key) is None:  # absent or null
            cfg[key] = value
    if _get_path(cfg, "authentication.anonymous.enabled") is None:
        _set_path(cfg, "authentication.anonymous.enabled", False)
    if _get_path(cfg, "authentication.webhook.enabled") is None:
        _set_path(cfg, "authentication.webhook.enabled", True)
    if not _get_path(cfg, "authorization.mode"):
        _set_path(cfg, "authorization.mode", "Webhook")
    for flag, key in FLAG_TO_CONFIG.items():
        if flag in flags:
            _set_path(cfg, key, _flag_value(flag, flags[flag]))
    return cfg


def validate_config(cfg):
    """ValidateKubeletConfiguration and InitializeTLS: what the real kubelet refuses before the runtime."""
    for key, flag, low in (("port", "port", 1), ("readOnlyPort", "read-only-port", 0),
                           ("healthzPort", "healthz-port", 1)):
        value = cfg.get(key)
        if key == "healthzPort" and value == 0:
            continue  # 0 turns the healthz server off
        if not low <= value <= 65535:
            raise ConfigError("failed to validate kubelet configuration, error: invalid configuration: %s (--%s) "
                              "%s must be between %d and 65535, inclusive" % (key, flag, value, low))
    for key, flag in (("eventRecordQPS", "event-qps"), ("eventBurst", "event-burst")):
        if cfg.get(key) < 0:
            raise ConfigError("failed to validate kubelet configuration, error: invalid configuration: %s (--%s) "
                              "%s must not be a negative number" % (key, flag, cfg[key]))
    suites = cfg.get("tlsCipherSuites") or []
    for name in suites:
        if name in GO_INSECURE_CIPHER_SUITES:
            log("W: Use of insecure cipher '%s' detected.", name)
        elif name not in GO_CIPHER_SUITES:
            raise ConfigError("failed to construct kubelet dependencies: Cipher suite %s not supported or "
                              "doesn't exist" % name)
    minv = cfg.get("tlsMinVersion")
    if minv and minv not in TLS_VERSIONS:
        raise ConfigError('failed to construct kubelet dependencies: unknown tls version "%s"' % minv)
    ca = _get_path(cfg, "authentication.x509.clientCAFile")
    if ca:
        try:
            ssl.create_default_context(cafile=ca)
        except FileNotFoundError as exc:
            raise ConfigError("failed to construct kubelet dependencies: unable to load client CA file %s: "
                              "open %s: %s" % (ca, ca, exc.strerror.lower()))
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ConfigError("failed to construct kubelet dependencies: unable to load client CA file %s: "
                              "error creating pool from %s: %s" % (ca, ca, exc))


def kubeconfig_problem(path):
    """Why client-go would not load this kubeconfig, or None."""
    if not os.path.exists(path):
        return "stat %s: no such file or directory" % path
    try:
        with open(path) as handle:
            doc = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        return "error loading config file %r: %s" % (path, exc)
    doc = doc if isinstance(doc, dict) else {}
    current = doc.get("current-context")
    if not current:
        return "invalid configuration: no configuration has been provided"
    contexts = {c.get("name"): c.get("context") or {} for c in doc.get("contexts") or [] if isinstance(c, dict)}
    clusters = {c.get("name"): c.get("cluster") or {} for c in doc.get("clusters") or [] if isinstance(c, dict)}
    users = {u.get("name"): u.get("user") or {} for u in doc.get("users") or [] if isinstance(u, dict)}
    if current not in contexts:
        return "invalid configuration: context was not found for specified context: %s" % current
    context = contexts[current]
    cluster = clusters.get(context.get("cluster"), {})
    if not cluster.get("server"):
        return "invalid configuration: cluster has no server defined"
    user = users.get(context.get("user"), {})
    for owner, key in ((cluster, "certificate-authority"), (user, "client-certificate"), (user, "client-key")):
        name = owner.get(key)
        if name and not os.path.isabs(name):
            name = os.path.join(os.path.dirname(os.path.abspath(path)), name)
        if name and not os.access(name, os.R_OK):
            return "invalid configuration: unable to read %s %s" % (key, name)
    return None


def check_kubeconfig(flags, cfg):
    path = flags.get("kubeconfig")
    if not path:
        if _get_path(cfg, "authentication.webhook.enabled"):
            raise ConfigError("failed to run Kubelet: no client provided, cannot use webhook authentication")
        if _get_path(cfg, "authorization.mode") == "Webhook":
            raise ConfigError("failed to run Kubelet: no client provided, cannot use webhook authorization")
        return
    boot = flags.get("bootstrap-kubeconfig")
    if boot and not os.path.exists(path):
        problem = kubeconfig_problem(boot)
        if problem:
            raise ConfigError("failed to run Kubelet: unable to load bootstrap kubeconfig: %s" % problem)
        return
    problem = kubeconfig_problem(path)
    if problem:
        raise ConfigError("failed to run Kubelet: %s: %s" % (
            "unable to load kubeconfig" if cfg.get("rotateCertificates") else "invalid kubeconfig", problem))


def validate(argv):
    """Everything the real kubelet checks before it connects to the container runtime.

    -> (flags, effective config); ConfigError when the real kubelet would exit.
    """
    flags = parse_kubelet_flags(argv)
    cfg = effective_config(flags)
    validate_config(cfg)
    check_kubeconfig(flags, cfg)
    if cfg["authorization"]["mode"] not in ("AlwaysAllow", "Webhook"):
        raise ConfigError("failed to run Kubelet: unknown authorization mode %s" % cfg["authorization"]["mode"])
    return flags, cfg


def kernel_problems(cfg, proc_sys="/proc/sys"):
    """protectKernelDefaults: what the real kubelet's container manager refuses when it starts,
    after the container runtime is up (so no pre-runtime comparison exists for it)."""
    if not cfg.get("protectKernelDefaults"):
        return []
    bad = []
    for name, (op, want) in sorted(KERNEL_DEFAULTS.items()):
        try:
            have = read_sysctl(name, proc_sys)
        except (OSError, ValueError, IndexError):
            have = None
        ok = have is not None and (have == want if op == "eq" else have >= want)
        if not ok:
            bad.append("%s=%s (expected %s%s)" % (name.replace("/", "."), have, ">=" if op == "ge" else "", want))
    return bad


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
                                 capture_output=True, text=True, check=False)
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
            subprocess.run(["systemctl", "stop", self.unit], capture_output=True, check=False)
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
        self.dropped = list(old.get("dropped_flags") or [])
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


# --------------------------------------------------------------------------- serving
class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /healthz, /pods, /configz. On the kubelet port (TLS) the client is authenticated by
    x509 against authentication.x509.clientCAFile, as the kubelet does; anonymous requests get
    401 unless authentication.anonymous.enabled. Not done here: webhook (bearer token)
    authentication and the SubjectAccessReview of authorization.mode Webhook: an authenticated
    client is allowed, an anonymous one gets 403 under Webhook (what RBAC answers by default)."""

    server_version = "lab-kubelet"
    sys_version = ""

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                log("I: TLS handshake from %s refused: %s", self.client_address[0], exc)
                raise
        http.server.BaseHTTPRequestHandler.setup(self)

    def _user(self):
        if not isinstance(self.connection, ssl.SSLSocket):
            return "local"
        peer = self.connection.getpeercert() or {}
        for rdn in peer.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return None

    def _reply(self, code, body, ctype="text/plain; charset=utf-8"):
        body = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        cfg = self.server.kubelet_cfg
        path = self.path.split("?")[0]
        user = self._user()
        if user is None:
            if not _get_path(cfg, "authentication.anonymous.enabled"):
                return self._reply(401, "Unauthorized")
            if _get_path(cfg, "authorization.mode") != "AlwaysAllow":
                return self._reply(403, "Forbidden (user=system:anonymous, verb=get, resource=nodes)")
        if path == "/healthz":
            return self._reply(200, "ok")
        if path == "/pods" and self.server.kubelet_pods is not None:
            items = [{"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "%s-%s" % (p.name, self.server.node_name), "namespace": "kube-system"},
                      "status": {"phase": "Running" if p.state == "running" else "Pending"}}
                     for p in list(self.server.kubelet_pods.values())]
            return self._reply(200, json.dumps({"kind": "PodList", "apiVersion": "v1", "items": items}),
                               "application/json")
        if path == "/configz":
            return self._reply(200, json.dumps({"kubeletconfig": cfg}), "application/json")
        return self._reply(404, "404 page not found\n")

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _start(server, cfg, pods, node_name):
    server.kubelet_cfg, server.kubelet_pods, server.node_name = cfg, pods, node_name
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_healthz(cfg, pods=None, node_name=""):
    port = cfg.get("healthzPort", 10248)
    if not port:
        return None
    return _start(_Server((cfg.get("healthzBindAddress") or "127.0.0.1", port), _Handler), cfg, pods, node_name)


def self_signed(cert_dir, node_name):
    """No tlsCertFile/tlsPrivateKeyFile: like the kubelet, a self-signed pair in --cert-dir
    (kubelet.crt, kubelet.key), made once and reused."""
    crt, key = os.path.join(cert_dir, "kubelet.crt"), os.path.join(cert_dir, "kubelet.key")
    if os.path.isfile(crt) and os.path.isfile(key):
        return crt, key
    os.makedirs(cert_dir, 0o755, exist_ok=True)
    old = os.umask(0o077)
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                        "-subj", "/CN=%s@%d" % (node_name, int(time.time())),
                        "-addext", "subjectAltName=DNS:%s" % node_name, "-keyout", key, "-out", crt],
                       check=True, capture_output=True)
    finally:
        os.umask(old)
    os.chmod(crt, 0o644)
    return crt, key


def tls_context(cfg, cert_dir, node_name):
    """The kubelet port's TLS: serving pair, tlsMinVersion, tlsCipherSuites, client CA."""
    crt, key = cfg.get("tlsCertFile"), cfg.get("tlsPrivateKeyFile")
    if not crt and not key:
        crt, key = self_signed(cert_dir, node_name)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(crt or "", key or "")
    except (OSError, ssl.SSLError) as exc:
        # the real kubelet fails the same way when its server starts (after the runtime)
        raise ConfigError("failed to load the serving certificate %s and key %s: %s" % (crt, key, exc))
    minv = cfg.get("tlsMinVersion") or "VersionTLS12"
    ctx.minimum_version = getattr(ssl.TLSVersion, {"TLSv1": "TLSv1", "TLSv1_1": "TLSv1_1", "TLSv1_2": "TLSv1_2",
                                                   "TLSv1_3": "TLSv1_3"}[TLS_VERSIONS[minv]])
    suites = cfg.get("tlsCipherSuites") or []
    names = [OPENSSL_CIPHER[s] for s in suites if s in OPENSSL_CIPHER]
    for s in suites:
        if s not in OPENSSL_CIPHER and not s.startswith("TLS_AES") and not s.startswith("TLS_CHACHA20"):
            log("W: cipher suite %s is not available in this OpenSSL: not offered", s)
    if names:
        ctx.set_ciphers(":".join(dict.fromkeys(names)))
    ca = _get_path(cfg, "authentication.x509.clientCAFile")
    if ca:
        ctx.load_verify_locations(cafile=ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def serve_kubelet(cfg, cert_dir, pods=None, node_name=""):
    ctx = tls_context(cfg, cert_dir, node_name)
    server = _Server((cfg.get("address") or "0.0.0.0", cfg["port"]), _Handler, bind_and_activate=False)
    if ":" in (cfg.get("address") or ""):
        server.address_family = socket.AF_INET6
        server.socket = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.server_bind()
    server.server_activate()
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return _start(server, cfg, pods, node_name)


# The version the stand-in plays when LAB_KUBELET_VERSION is not set (kubeadm_facts asks
# `kubelet --version` on workers; the lab sets LAB_KUBELET_VERSION to its Kubernetes version).
LAB_KUBELET_VERSION_DEFAULT = "v1.28.7"
# The real kubelet binary the lab mounts read-only on every node (lab.sh, molecule platforms).
REAL_KUBELET = os.environ.get("LAB_REAL_KUBELET", "/opt/k8s/bin/kubelet")


def main(argv):
    if "--version" in argv or "--version=true" in argv:
        # Like the real kubelet: print the version and exit, never start serving.
        print("Kubernetes %s" % kubelet_version())
        return 0
    try:
        flags, cfg = validate(argv)
    except ConfigError as exc:
        log('E: "command failed" err="%s"', exc)
        return 1
    if os.environ.get("LAB_KUBELET_VALIDATE_ONLY") == "1":
        # the point where the real kubelet connects to the container runtime
        log("I: configuration accepted; stopping before the container runtime (LAB_KUBELET_VALIDATE_ONLY=1)")
        return 0
    node_name = flags.get("hostname-override") or os.uname()[1]
    # From here on: what the real kubelet checks after the container runtime is up.
    bad = kernel_problems(cfg, os.environ.get("LAB_KUBELET_PROC_SYS", "/proc/sys"))
    if bad:
        log('E: "Failed to start ContainerManager" err="invalid kernel flag: protectKernelDefaults is true '
            'and the kernel flags differ: %s"', "; ".join(bad))
        return 1
    pods = {}
    cert_dir = flags.get("cert-dir") or os.path.join(flags.get("root-dir") or "/var/lib/kubelet", "pki")
    try:
        serve_healthz(cfg, pods, node_name)
        serve_kubelet(cfg, cert_dir, pods, node_name)
    except (OSError, ConfigError, subprocess.CalledProcessError) as exc:
        log('E: "Failed to listen and serve" err="%s"', exc)
        return 1
    directory = cfg.get("staticPodPath")
    log("started for node %s (lab stand-in %s, not the kubelet); static pods from %s; serving https://%s:%s",
        node_name, kubelet_version(), directory, cfg.get("address"), cfg["port"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    os.makedirs(STATE_DIR, exist_ok=True)
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
