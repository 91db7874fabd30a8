# -*- coding: utf-8 -*-
# Copyright: (c) 2026, k8s_hardening.kubeadm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the k8s_hardening.kubeadm collection: not a public API, may change
# without notice. Pure logic for the kubelet: KubeletConfiguration merge,
# compare, diff and validation, and kubeadm-flags.env parsing/editing.
# No Ansible import here.

from __future__ import annotations

import copy
import json
import re
import shlex

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _fileio

KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1"
KUBELET_KIND = "KubeletConfiguration"

# Top-level fields of KubeletConfiguration (kubelet.config.k8s.io/v1beta1,
# Kubernetes 1.28-1.34). Used to catch typos in the *settings* the caller asks
# for; keys already present in a file are never rejected (newer kubelets).
KNOWN_TOP_LEVEL_KEYS = frozenset("""
apiVersion kind enableServer staticPodPath podLogsDir syncFrequency fileCheckFrequency
httpCheckFrequency staticPodURL staticPodURLHeader address port readOnlyPort
tlsCertFile tlsPrivateKeyFile tlsCipherSuites tlsMinVersion rotateCertificates
serverTLSBootstrap authentication authorization registryPullQPS registryBurst
imagePullCredentialsVerificationPolicy preloadedImagesVerificationAllowlist
eventRecordQPS eventBurst enableDebuggingHandlers enableContentionProfiling
healthzPort healthzBindAddress oomScoreAdj clusterDomain clusterDNS
streamingConnectionIdleTimeout nodeStatusUpdateFrequency nodeStatusReportFrequency
nodeLeaseDurationSeconds imageMinimumGCAge imageMaximumGCAge
imageGCHighThresholdPercent imageGCLowThresholdPercent volumeStatsAggPeriod
kubeletCgroups systemCgroups cgroupRoot cgroupsPerQOS cgroupDriver cpuManagerPolicy
singleProcessOOMKill cpuManagerPolicyOptions cpuManagerReconcilePeriod
memoryManagerPolicy topologyManagerPolicy topologyManagerScope
topologyManagerPolicyOptions qosReserved runtimeRequestTimeout hairpinMode maxPods
podCIDR podPidsLimit resolvConf runOnce cpuCFSQuota cpuCFSQuotaPeriod
nodeStatusMaxImages maxOpenFiles contentType kubeAPIQPS kubeAPIBurst
serializeImagePulls maxParallelImagePulls evictionHard evictionSoft
evictionSoftGracePeriod evictionPressureTransitionPeriod evictionMaxPodGracePeriod
evictionMinimumReclaim mergeDefaultEvictionSettings podsPerCore
enableControllerAttachDetach protectKernelDefaults makeIPTablesUtilChains
iptablesMasqueradeBit iptablesDropBit featureGates failSwapOn memorySwap
containerLogMaxSize containerLogMaxFiles containerLogMaxWorkers
containerLogMonitorInterval configMapAndSecretChangeDetectionStrategy
systemReserved kubeReserved reservedSystemCPUs showHiddenMetricsForVersion
systemReservedCgroup kubeReservedCgroup enforceNodeAllocatable allowedUnsafeSysctls
volumePluginDir providerID kernelMemcgNotification logging enableSystemLogHandler
enableSystemLogQuery shutdownGracePeriod shutdownGracePeriodCriticalPods
shutdownGracePeriodByPodPriority crashLoopBackOff reservedMemory
enableProfilingHandler enableDebugFlagsHandler seccompDefault memoryThrottlingFactor
registerWithTaints registerNode tracing localStorageCapacityIsolation
containerRuntimeEndpoint imageServiceEndpoint failCgroupV1 userNamespaces
""".split())

# Go time.Duration string: "0", or [-+]? (number unit)+
_DURATION_RE = re.compile(r"^[-+]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1e3, "\u00b5s": 1e3, "\u03bcs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}

TLS_MIN_VERSIONS = ("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13")
AUTHORIZATION_MODES = ("Webhook", "AlwaysAllow")

BOOL_KEYS = (
    "enableServer", "rotateCertificates", "serverTLSBootstrap", "enableDebuggingHandlers",
    "protectKernelDefaults", "makeIPTablesUtilChains", "seccompDefault", "failSwapOn",
    "cgroupsPerQOS", "serializeImagePulls", "registerNode",
    "authentication.anonymous.enabled", "authentication.webhook.enabled",
)
DURATION_KEYS = (
    "streamingConnectionIdleTimeout", "syncFrequency", "fileCheckFrequency",
    "httpCheckFrequency", "nodeStatusUpdateFrequency", "nodeStatusReportFrequency",
    "imageMinimumGCAge", "volumeStatsAggPeriod", "cpuManagerReconcilePeriod",
    "runtimeRequestTimeout", "evictionPressureTransitionPeriod", "shutdownGracePeriod",
    "shutdownGracePeriodCriticalPods", "authentication.webhook.cacheTTL",
    "authorization.webhook.cacheAuthorizedTTL", "authorization.webhook.cacheUnauthorizedTTL",
)
PORT_KEYS = ("readOnlyPort", "port", "healthzPort")

# The six sysctls the kubelet checks when protectKernelDefaults is true
# (pkg/kubelet/cm/container_manager_linux.go setupKernelTunables).
KERNEL_DEFAULTS = {
    "vm.overcommit_memory": "1",
    "vm.panic_on_oom": "0",
    "kernel.panic": "10",
    "kernel.panic_on_oops": "1",
    "kernel.keys.root_maxkeys": "1000000",
    "kernel.keys.root_maxbytes": "25000000",
}


class KubeletConfigError(Exception):
    """Invalid KubeletConfiguration content or settings."""


# --------------------------------------------------------------------------
# data helpers

def load(text):
    """Parse a KubeletConfiguration YAML/JSON text; empty text gives {}."""
    try:
        doc = yaml.safe_load(text) if text and text.strip() else {}
    except yaml.YAMLError as exc:
        raise KubeletConfigError("not valid YAML: %s" % exc)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise KubeletConfigError("a KubeletConfiguration must be a mapping, got %s" % type(doc).__name__)
    return doc


def dump(doc):
    """Serialise like kubeadm does: block style, keys in their existing order."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def deep_merge(base, settings):
    """Return a copy of base with settings merged in recursively.

    Dicts merge key by key (existing keys keep their position, new keys are
    appended); any other value replaces. A value of None removes the key.
    """
    result = copy.deepcopy(base) if base is not None else {}
    for key, value in (settings or {}).items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        elif isinstance(value, dict):
            result[key] = deep_merge({}, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def get_path(doc, path, default=None):
    """Value at a dotted path ("authentication.anonymous.enabled")."""
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _flatten(doc, prefix=""):
    out = {}
    for key, value in doc.items():
        path = "%s.%s" % (prefix, key) if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def diff_paths(before, after):
    """List of {path, old, new} for every leaf that differs (sorted by path).

    A missing leaf is reported as None.
    """
    flat_b = _flatten(before or {})
    flat_a = _flatten(after or {})
    changes = []
    for path in sorted(set(flat_b) | set(flat_a)):
        old, new = flat_b.get(path), flat_a.get(path)
        if old != new or (path in flat_b) != (path in flat_a):
            changes.append({"path": path, "old": old, "new": new})
    return changes


def format_changes(changes):
    """Human lines 'path: old -> new'."""
    return ["%s: %s -> %s" % (c["path"], _show(c["old"]), _show(c["new"])) for c in changes]


def _show(value):
    return "(unset)" if value is None else json.dumps(value, sort_keys=True)


# --------------------------------------------------------------------------
# validation

def parse_duration(value):
    """Go time.Duration string -> nanoseconds (float). Raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("a duration must be a string like '5m0s', got %r" % (value,))
    text = value.strip()
    if not _DURATION_RE.match(text):
        raise ValueError("%r is not a Go duration (e.g. 300ms, 5m, 4h0m0s)" % value)
    sign = -1 if text.startswith("-") else 1
    total = sum(float(num) * _UNIT_NS[unit] for num, unit in _DURATION_PART.findall(text))
    return sign * total


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def validate(doc, cipher_normalizer=None, settings_keys=None, path_exists=None):
    """Validate a (merged) KubeletConfiguration; return a list of error strings.

    cipher_normalizer(names, varname) -> list raises on bad names (the
    collection passes _tls.normalize_cipher_suites). settings_keys, when
    given, are the top-level keys the caller set; unknown ones are errors.
    """
    errors = []
    if doc.get("apiVersion", KUBELET_API_VERSION) != KUBELET_API_VERSION:
        errors.append("apiVersion must be %s, got %r" % (KUBELET_API_VERSION, doc.get("apiVersion")))
    if doc.get("kind", KUBELET_KIND) != KUBELET_KIND:
        errors.append("kind must be %s, got %r" % (KUBELET_KIND, doc.get("kind")))
    for key in sorted(settings_keys or ()):
        if key not in KNOWN_TOP_LEVEL_KEYS:
            errors.append("%s is not a KubeletConfiguration field (check the spelling)" % key)

    for key in PORT_KEYS:
        value = get_path(doc, key)
        if value is not None and (not _is_int(value) or not 0 <= value <= 65535):
            errors.append("%s must be an integer 0..65535, got %r" % (key, value))
    for key in BOOL_KEYS:
        value = get_path(doc, key)
        if value is not None and not isinstance(value, bool):
            errors.append("%s must be true or false, got %r" % (key, value))
    for key in DURATION_KEYS:
        value = get_path(doc, key)
        if value is None:
            continue
        try:
            nanos = parse_duration(value)
        except ValueError as exc:
            errors.append("%s: %s" % (key, exc))
            continue
        if nanos < 0:
            errors.append("%s must not be negative, got %r" % (key, value))
        # 0 in a file means "the kubelet default" (4h); refuse it only when asked for
        if key == "streamingConnectionIdleTimeout" and nanos == 0 and key in (settings_keys or ()):
            errors.append("streamingConnectionIdleTimeout must be a non-zero duration (CIS 4.2.5), e.g. 5m")

    for key in ("eventRecordQPS", "eventBurst"):
        value = doc.get(key)
        if value is not None and (not _is_int(value) or value < 0):
            errors.append("%s must be an integer >= 0 (CIS 4.2.8), got %r" % (key, value))
    value = doc.get("podPidsLimit")
    if value is not None and (not _is_int(value) or value < -1):
        errors.append("podPidsLimit must be an integer >= -1, got %r" % (value,))

    mode = get_path(doc, "authorization.mode")
    if mode is not None and mode not in AUTHORIZATION_MODES:
        errors.append("authorization.mode must be one of %s, got %r" % (", ".join(AUTHORIZATION_MODES), mode))
    ca_file = get_path(doc, "authentication.x509.clientCAFile")
    if ca_file is not None and (not isinstance(ca_file, str) or not ca_file.startswith("/")):
        errors.append("authentication.x509.clientCAFile must be an absolute path, got %r" % (ca_file,))

    value = doc.get("tlsMinVersion")
    if value is not None and value not in TLS_MIN_VERSIONS:
        errors.append("tlsMinVersion must be one of %s, got %r" % (", ".join(TLS_MIN_VERSIONS), value))
    suites = doc.get("tlsCipherSuites")
    if suites is not None:
        if not isinstance(suites, list) or not all(isinstance(s, str) for s in suites) or not suites:
            errors.append("tlsCipherSuites must be a non-empty list of cipher suite names, got %r" % (suites,))
        elif cipher_normalizer is not None:
            try:
                cipher_normalizer(suites, "tlsCipherSuites")
            except Exception as exc:  # the normalizer's own error names the cipher
                errors.append(str(exc))

    cert, key = doc.get("tlsCertFile"), doc.get("tlsPrivateKeyFile")
    if bool(cert) != bool(key):
        errors.append("tlsCertFile and tlsPrivateKeyFile must be set together")
    if path_exists is not None:
        for name, value in (("authentication.x509.clientCAFile", ca_file), ("tlsCertFile", cert),
                            ("tlsPrivateKeyFile", key)):
            if isinstance(value, str) and value and not path_exists(value):
                errors.append("%s: %s does not exist on this node (the kubelet would not start)" % (name, value))

    gates = doc.get("featureGates")
    if gates is not None:
        if not isinstance(gates, dict) or not all(isinstance(v, bool) for v in gates.values()):
            errors.append("featureGates must map gate names to true/false, got %r" % (gates,))
    if doc.get("serverTLSBootstrap") is True and get_path(doc, "featureGates.RotateKubeletServerCertificate") is False:
        errors.append("serverTLSBootstrap: true needs featureGates.RotateKubeletServerCertificate not false")
    return errors


# --------------------------------------------------------------------------
# kubeadm-flags.env and systemd drop-ins

_ENV_LINE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


def parse_env_file(text):
    """Parse an EnvironmentFile: list of (name or None, raw_line, value)."""
    entries = []
    for line in text.splitlines():
        match = _ENV_LINE.match(line.strip())
        if not match:
            entries.append((None, line, None))
            continue
        raw = match.group("value").strip()
        try:
            parts = shlex.split(raw)
        except ValueError as exc:
            raise KubeletConfigError("cannot parse %s: %s" % (match.group("name"), exc))
        entries.append((match.group("name"), line, " ".join(parts)))
    return entries


def split_args(arg_string):
    """'--a=b --c' -> ordered list of (flag, value or None)."""
    out = []
    for token in shlex.split(arg_string or ""):
        if not token.startswith("-"):
            raise KubeletConfigError("unexpected argument %r (only --flag=value is supported)" % token)
        name, sep, value = token.lstrip("-").partition("=")
        out.append((name, value if sep else None))
    return out


def join_args(args):
    return " ".join("--%s=%s" % (n, v) if v is not None else "--%s" % n for n, v in args)


def render_env_file(entries, variable, args):
    """Rebuild the env file text with `variable` set to the joined args."""
    lines = []
    for name, raw, _value in entries:
        if name == variable:
            lines.append('%s="%s"' % (variable, join_args(args).replace('"', '\\"')))
        else:
            lines.append(raw)
    return "\n".join(lines) + "\n"


def _false(value):
    return value is not None and value.strip().lower() == "false"


def _duration_zero(value):
    try:
        return parse_duration(value) == 0
    except ValueError:
        return False


# flag -> (CIS id, test returning True when the value is weak, why)
WEAK_FLAG_RULES = {
    "hostname-override": ("4.2.7", lambda v: True, "--hostname-override is set"),
    "anonymous-auth": ("4.2.1", lambda v: v is None or not _false(v), "anonymous requests are allowed"),
    "authorization-mode": ("4.2.2", lambda v: "AlwaysAllow" in (v or "").split(","), "authorization-mode AlwaysAllow"),
    "read-only-port": ("4.2.4", lambda v: (v or "").strip() != "0", "the unauthenticated read-only port is open"),
    "streaming-connection-idle-timeout": ("4.2.5", _duration_zero, "idle streaming connections never time out"),
    "make-iptables-util-chains": ("4.2.6", _false, "iptables util chains are off"),
    "event-qps": ("4.2.8", lambda v: _int_or_none(v) is not None and _int_or_none(v) < 0, "event-qps is negative"),
    "rotate-certificates": ("4.2.10", _false, "client certificate rotation is off"),
    "feature-gates": ("4.2.11", lambda v: "rotatekubeletservercertificate=false" in (v or "").lower().replace(" ", ""),
                      "RotateKubeletServerCertificate=false"),
    "tls-cipher-suites": ("4.2.12", lambda v: True, "overrides tlsCipherSuites in the config file"),
    "tls-min-version": ("4.2.12", lambda v: (v or "") in ("VersionTLS10", "VersionTLS11"), "weak minimum TLS version"),
    "protect-kernel-defaults": ("4.2.6", _false, "overrides protectKernelDefaults in the config file"),
    "seccomp-default": ("4.2.14", _false, "seccomp default profile off"),
}


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def weak_flags(args):
    """Findings for command-line flags that weaken the config file.

    args: list of (flag, value). Returns [{flag, value, cis, reason}].
    """
    findings = []
    for name, value in args:
        rule = WEAK_FLAG_RULES.get(name)
        if rule and rule[1](value):
            findings.append({"flag": name, "value": value, "cis": rule[0], "reason": rule[2]})
    return findings


def edit_flags_env(text, variable="KUBELET_KUBEADM_ARGS", remove_hostname_override=False, extra_remove=()):
    """Drop weak flags from `variable` in a kubeadm-flags.env text.

    Returns dict(text, removed, reported, changed). --hostname-override is only
    reported unless remove_hostname_override (removing it changes the node
    name when the host name differs).
    """
    entries = parse_env_file(text)
    values = [v for n, _r, v in entries if n == variable]
    if not values:
        return {"text": text, "removed": [], "reported": [], "changed": False}
    args = split_args(values[-1])
    findings = weak_flags(args)
    drop, removed, reported = set(extra_remove), [], []
    for finding in findings:
        if finding["flag"] == "hostname-override" and not remove_hostname_override:
            reported.append(finding)
        else:
            drop.add(finding["flag"])
    for name, value in args:
        if name in drop:
            match = [f for f in findings if f["flag"] == name]
            removed.append(match[0] if match else {"flag": name, "value": value, "cis": None, "reason": "requested"})
    kept = [(n, v) for n, v in args if n not in drop]
    if kept == args:
        return {"text": text, "removed": [], "reported": reported, "changed": False}
    return {"text": render_env_file(entries, variable, kept), "removed": removed,
            "reported": reported, "changed": True}


def dropin_flags(text):
    """Flags found in a systemd unit or drop-in (Environment= and ExecStart=)."""
    args = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or "=" not in stripped:
            continue
        key, _sep, value = stripped.partition("=")
        if key.strip() not in ("Environment", "ExecStart"):
            continue
        try:
            tokens = shlex.split(value)
        except ValueError:
            continue
        for token in tokens:
            if "=" in token and not token.startswith("-"):
                token = token.split("=", 1)[1]  # Environment="KUBELET_X=--flag=v"
            for part in token.split():
                if part.startswith("--"):
                    name, sep, val = part[2:].partition("=")
                    args.append((name, val if sep else None))
    return args


# --------------------------------------------------------------------------
# file writing for the module shells (duck-typed `module`: atomic_move,
# add_cleanup_file, fail_json; no Ansible import here)

def write_atomic(module, path, text, mode=0o600):
    """Write text atomically (_fileio.write_atomic); an existing file keeps its mode and owner,
    a new one gets ``mode``."""
    return _fileio.write_atomic(module, path, text, mode=mode, keep_existing_mode=True)


__all__ = [
    "KUBELET_API_VERSION", "KUBELET_KIND", "KNOWN_TOP_LEVEL_KEYS", "KERNEL_DEFAULTS",
    "TLS_MIN_VERSIONS", "AUTHORIZATION_MODES", "WEAK_FLAG_RULES", "KubeletConfigError",
    "load", "dump", "deep_merge", "get_path", "diff_paths", "format_changes",
    "parse_duration", "validate", "parse_env_file", "split_args", "join_args",
    "render_env_file", "weak_flags", "edit_flags_env", "dropin_flags", "write_atomic",
]
