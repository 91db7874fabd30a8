# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection. Not a public API: it may
# change at any time without notice. Do not import it from outside the
# collection.
#
# The flags the collection may write into static pod manifests, per
# component, with the Kubernetes minor version they appeared in / were removed
# in, the values they take, and the conflicts between them. No Ansible import.

"""Version gates, value checks and conflicts for control-plane flags."""

from __future__ import annotations

import re

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import (
    TLSConfigError,
    cipher_suites_for,
)


class FlagError(ValueError):
    """A flag that cannot be written for this component/version."""


# Minors the table has been checked against.
SUPPORTED_MINORS = (28, 34)
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

# value kinds: bool, int, tlsver, ciphers, authz, etcd-tlsver, etcd-ciphers, duration, None (any)
# entry: flag -> (since_minor, removed_in_minor, kind)
_ANY = (0, None, None)
_BOOL = (0, None, "bool")
_INT = (0, None, "int")

_COMMON_SECURE_SERVING = {
    "bind-address": _ANY,
    "secure-port": _INT,
    "tls-cert-file": _ANY,
    "tls-private-key-file": _ANY,
    "tls-min-version": (0, None, "tlsver"),
    "tls-cipher-suites": (0, None, "ciphers"),
    "profiling": _BOOL,
    "feature-gates": _ANY,
    "v": _INT,
    "authentication-kubeconfig": _ANY,
    "authorization-kubeconfig": _ANY,
    "client-ca-file": _ANY,
    "requestheader-client-ca-file": _ANY,
    "leader-elect": _BOOL,
    "kubeconfig": _ANY,
    "port": (0, 24, "int"),        # insecure port, removed in 1.24
    "address": (0, 24, None),      # insecure bind address, removed in 1.24
}

FLAGS = {
    "kube-apiserver": {
        "admission-control-config-file": _ANY,
        "advertise-address": _ANY,
        "allow-privileged": _BOOL,
        "anonymous-auth": _BOOL,
        "audit-log-compress": _BOOL,
        "audit-log-format": _ANY,
        "audit-log-maxage": _INT,
        "audit-log-maxbackup": _INT,
        "audit-log-maxsize": _INT,
        "audit-log-mode": _ANY,
        "audit-log-path": _ANY,
        "audit-log-truncate-enabled": _BOOL,
        "audit-policy-file": _ANY,
        "audit-webhook-config-file": _ANY,
        "audit-webhook-mode": _ANY,
        "authentication-config": (30, None, None),
        "authorization-config": (30, None, None),
        "authorization-mode": (0, None, "authz"),
        "authorization-webhook-config-file": _ANY,
        "bind-address": _ANY,
        "client-ca-file": _ANY,
        "disable-admission-plugins": _ANY,
        "enable-admission-plugins": _ANY,
        "enable-bootstrap-token-auth": _BOOL,
        "encryption-provider-config": _ANY,
        "encryption-provider-config-automatic-reload": (26, None, "bool"),
        "etcd-cafile": _ANY,
        "etcd-certfile": _ANY,
        "etcd-keyfile": _ANY,
        "etcd-servers": _ANY,
        "event-ttl": (0, None, "duration"),
        "feature-gates": _ANY,
        "kubelet-certificate-authority": _ANY,
        "kubelet-client-certificate": _ANY,
        "kubelet-client-key": _ANY,
        "kubelet-preferred-address-types": _ANY,
        "max-mutating-requests-inflight": _INT,
        "max-requests-inflight": _INT,
        "profiling": _BOOL,
        "proxy-client-cert-file": _ANY,
        "proxy-client-key-file": _ANY,
        "request-timeout": (0, None, "duration"),
        "requestheader-allowed-names": _ANY,
        "requestheader-client-ca-file": _ANY,
        "requestheader-extra-headers-prefix": _ANY,
        "requestheader-group-headers": _ANY,
        "requestheader-username-headers": _ANY,
        "secure-port": _INT,
        "service-account-extend-token-expiration": _BOOL,
        "service-account-issuer": _ANY,
        "service-account-key-file": _ANY,
        "service-account-lookup": _BOOL,
        "service-account-max-token-expiration": (0, None, "duration"),
        "service-account-signing-key-file": _ANY,
        "service-cluster-ip-range": _ANY,
        "strict-transport-security-directives": _ANY,
        "tls-cert-file": _ANY,
        "tls-cipher-suites": (0, None, "ciphers"),
        "tls-min-version": (0, None, "tlsver"),
        "tls-private-key-file": _ANY,
        "token-auth-file": _ANY,
        "v": _INT,
        # removed: setting them fails, removing them (absent_flags) is fine
        "insecure-port": (0, 24, "int"),
        "insecure-bind-address": (0, 24, None),
        "kubelet-https": (0, 22, "bool"),
        "basic-auth-file": (0, 19, None),
    },
    "kube-controller-manager": dict(_COMMON_SECURE_SERVING, **{
        "cluster-signing-cert-file": _ANY,
        "cluster-signing-key-file": _ANY,
        "cluster-signing-duration": (0, None, "duration"),
        "controllers": _ANY,
        "root-ca-file": _ANY,
        "service-account-private-key-file": _ANY,
        "terminated-pod-gc-threshold": _INT,
        "use-service-account-credentials": _BOOL,
    }),
    "kube-scheduler": dict(_COMMON_SECURE_SERVING),
    "etcd": {
        "advertise-client-urls": _ANY,
        "auto-tls": _BOOL,
        "cert-file": _ANY,
        "cipher-suites": (0, None, "etcd-ciphers"),
        "client-cert-auth": _BOOL,
        "data-dir": _ANY,
        "experimental-initial-corrupt-check": _BOOL,
        "initial-advertise-peer-urls": _ANY,
        "initial-cluster": _ANY,
        "initial-cluster-state": _ANY,
        "key-file": _ANY,
        "listen-client-urls": _ANY,
        "listen-metrics-urls": _ANY,
        "listen-peer-urls": _ANY,
        "log-level": _ANY,
        "name": _ANY,
        "peer-auto-tls": _BOOL,
        "peer-cert-file": _ANY,
        "peer-client-cert-auth": _BOOL,
        "peer-key-file": _ANY,
        "peer-trusted-ca-file": _ANY,
        "snapshot-count": _INT,
        # etcd 3.5.8+ (kubeadm 1.28 ships 3.5.9/3.5.10): etcd is versioned apart from
        # Kubernetes, so the etcd role gates this flag on the detected etcd version
        "tls-min-version": (0, None, "etcd-tlsver"),
        "trusted-ca-file": _ANY,
    },
}

AUTHZ_MODES = ("AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$")
_TLS_VERSIONS = ("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13")

# AuthenticationConfiguration apiVersion -> first minor that accepts `anonymous`
ANONYMOUS_IN_AUTHN_CONFIG = {
    "apiserver.config.k8s.io/v1alpha1": 31,
    "apiserver.config.k8s.io/v1beta1": 32,
    "apiserver.config.k8s.io/v1": 34,
}


def parse_version(version):
    """``1.28.7`` / ``v1.30`` -> minor as int (major must be 1); None for
    empty; FlagError for anything else."""
    if version is None or str(version).strip() == "":
        return None
    match = re.match(r"^v?1\.([0-9]+)(\.[0-9]+)?([-+].*)?$", str(version).strip())
    if not match:
        raise FlagError("kubernetes_version %r is not a Kubernetes version like 1.28.7" % (version,))
    return int(match.group(1))


def _check_value(component, name, value, kind):
    if value is None or kind is None:
        return None
    if kind == "bool" and value not in ("true", "false"):
        return "--%s must be true or false, got %r" % (name, value)
    if kind == "int" and not re.match(r"^-?[0-9]+$", value):
        return "--%s must be an integer, got %r" % (name, value)
    if kind == "duration" and not _DURATION.match(value):
        return "--%s must be a duration like 60s or 1h0m0s, got %r" % (name, value)
    if kind == "tlsver" and value not in _TLS_VERSIONS:
        return "--%s must be one of %s, got %r" % (name, ", ".join(_TLS_VERSIONS), value)
    if kind == "etcd-tlsver" and value not in ("TLS1.2", "TLS1.3"):
        return "--%s for etcd must be TLS1.2 or TLS1.3, got %r" % (name, value)
    if kind == "authz":
        bad = [m for m in value.split(",") if m not in AUTHZ_MODES]
        if bad:
            return "--%s: unknown mode(s) %s (known: %s)" % (name, ", ".join(bad), ", ".join(AUTHZ_MODES))
    if kind in ("ciphers", "etcd-ciphers"):
        try:
            names = cipher_suites_for(value, "--%s of %s" % (name, component),
                                      "etcd" if kind == "etcd-ciphers" else "apiserver")
        except TLSConfigError as exc:
            return str(exc)
        if not names:
            return "--%s of %s: give at least one cipher suite, or remove the flag" % (name, component)
    return None


def validate_flags(component, flags, kubernetes_version=None, allow_unknown=False):
    """Check flags about to be written (``{name: value string or None}``).

    Returns a list of warnings; raises FlagError naming every bad flag with
    the component and the version."""
    if component not in FLAGS:
        raise FlagError("unknown component %r, expected one of %s" % (component, ", ".join(COMPONENTS)))
    minor = parse_version(kubernetes_version)
    table = FLAGS[component]
    errors = []
    warnings = []
    if minor is not None and not SUPPORTED_MINORS[0] <= minor <= SUPPORTED_MINORS[1]:
        warnings.append("Kubernetes 1.%d is outside the versions the flag table was checked "
                        "against (1.%d to 1.%d)" % (minor, SUPPORTED_MINORS[0], SUPPORTED_MINORS[1]))
    for name, value in flags.items():
        entry = table.get(name)
        if entry is None:
            if not allow_unknown:
                errors.append("--%s is not a %s flag the collection knows; check the name, or "
                              "set allow_unknown_flags" % (name, component))
            continue
        since, removed, kind = entry
        if minor is not None and minor < since:
            errors.append("--%s of %s needs Kubernetes 1.%d or later; this node runs 1.%d"
                          % (name, component, since, minor))
        if minor is not None and removed is not None and minor >= removed:
            errors.append("--%s of %s was removed in Kubernetes 1.%d; this node runs 1.%d"
                          % (name, component, removed, minor))
        problem = _check_value(component, name, value, kind)
        if problem:
            errors.append(problem)
    if errors:
        raise FlagError("; ".join(errors))
    return warnings


def check_conflicts(component, flags, kubernetes_version=None, authn_config=None):
    """Check the RESULTING flags of a manifest for combinations the component
    refuses. ``authn_config`` is the parsed file named by
    ``--authentication-config`` when it could be read. Raises FlagError."""
    if component != "kube-apiserver":
        return
    minor = parse_version(kubernetes_version)
    errors = []
    if "authorization-config" in flags and "authorization-mode" in flags:
        errors.append("--authorization-mode and --authorization-config cannot both be set; "
                      "remove --authorization-mode (absent_flags) when using --authorization-config")
    if "authentication-config" in flags and isinstance(authn_config, dict) and "anonymous" in authn_config:
        if "anonymous-auth" in flags:
            errors.append("--anonymous-auth conflicts with --authentication-config %s, which configures "
                          "anonymous; remove --anonymous-auth (absent_flags)" % flags["authentication-config"])
        api = authn_config.get("apiVersion")
        first = ANONYMOUS_IN_AUTHN_CONFIG.get(api)
        if first is None:
            errors.append("anonymous in AuthenticationConfiguration %s is not supported (apiVersion %r)"
                          % (flags["authentication-config"], api))
        elif minor is not None and minor < first:
            errors.append("anonymous in AuthenticationConfiguration %s needs Kubernetes 1.%d or later; "
                          "this node runs 1.%d" % (api, first, minor))
    if errors:
        raise FlagError("; ".join(errors))


__all__ = [
    "FlagError",
    "SUPPORTED_MINORS",
    "COMPONENTS",
    "FLAGS",
    "AUTHZ_MODES",
    "ANONYMOUS_IN_AUTHN_CONFIG",
    "parse_version",
    "validate_flags",
    "check_conflicts",
]
