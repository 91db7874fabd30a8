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

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import (
    TLSConfigError,
    cipher_suites_for,
)


class FlagError(ValueError):
    """A flag that cannot be written for this component/version."""


# The versions come from the version table (_versions.py); this module only knows the flags'
# names and the kind of value each takes.
SUPPORTED_MINORS = (_versions.MIN_MINOR, _versions.MAX_MINOR)
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

# value kinds: bool, int, tlsver, ciphers, authz, etcd-tlsver, etcd-ciphers, duration, None (any)
_BOOL = "bool"
_INT = "int"

_COMMON_SECURE_SERVING = {
    "bind-address": None,
    "secure-port": _INT,
    "tls-cert-file": None,
    "tls-private-key-file": None,
    "tls-min-version": "tlsver",
    "tls-cipher-suites": "ciphers",
    "profiling": _BOOL,
    "feature-gates": None,
    "v": _INT,
    "authentication-kubeconfig": None,
    "authorization-kubeconfig": None,
    "client-ca-file": None,
    "requestheader-client-ca-file": None,
    "leader-elect": _BOOL,
    "kubeconfig": None,
    "port": _INT,        # insecure port: removed (version table)
    "address": None,     # insecure bind address: removed (version table)
}

FLAGS = {
    "kube-apiserver": {
        "admission-control-config-file": None,
        "advertise-address": None,
        "allow-privileged": _BOOL,
        "anonymous-auth": _BOOL,
        "audit-log-compress": _BOOL,
        "audit-log-format": None,
        "audit-log-maxage": _INT,
        "audit-log-maxbackup": _INT,
        "audit-log-maxsize": _INT,
        "audit-log-mode": None,
        "audit-log-path": None,
        "audit-log-truncate-enabled": _BOOL,
        "audit-policy-file": None,
        "audit-webhook-config-file": None,
        "audit-webhook-mode": None,
        "authentication-config": None,
        "authorization-config": None,
        "authorization-mode": "authz",
        "authorization-webhook-config-file": None,
        "bind-address": None,
        "client-ca-file": None,
        "cloud-config": None,
        "cloud-provider": None,
        "disable-admission-plugins": "admission",
        "enable-admission-plugins": "admission",
        "enable-bootstrap-token-auth": _BOOL,
        "encryption-provider-config": None,
        "encryption-provider-config-automatic-reload": _BOOL,
        "etcd-cafile": None,
        "etcd-certfile": None,
        "etcd-keyfile": None,
        "etcd-servers": None,
        "event-ttl": "duration",
        "feature-gates": None,
        "kubelet-certificate-authority": None,
        "kubelet-client-certificate": None,
        "kubelet-client-key": None,
        "kubelet-preferred-address-types": None,
        "max-mutating-requests-inflight": _INT,
        "max-requests-inflight": _INT,
        "profiling": _BOOL,
        "proxy-client-cert-file": None,
        "proxy-client-key-file": None,
        "request-timeout": "duration",
        "requestheader-allowed-names": None,
        "requestheader-client-ca-file": None,
        "requestheader-extra-headers-prefix": None,
        "requestheader-group-headers": None,
        "requestheader-username-headers": None,
        "secure-port": _INT,
        "service-account-extend-token-expiration": _BOOL,
        "service-account-issuer": None,
        "service-account-key-file": None,
        "service-account-lookup": _BOOL,
        "service-account-max-token-expiration": "duration",
        "service-account-signing-key-file": None,
        "service-cluster-ip-range": None,
        "strict-transport-security-directives": None,
        "tls-cert-file": None,
        "tls-cipher-suites": "ciphers",
        "tls-min-version": "tlsver",
        "tls-private-key-file": None,
        "token-auth-file": None,
        "v": _INT,
        # removed (version table): setting them fails, removing them (absent_flags) is fine
        "insecure-port": _INT,
        "insecure-bind-address": None,
        "kubelet-https": _BOOL,
        "basic-auth-file": None,
    },
    "kube-controller-manager": dict(_COMMON_SECURE_SERVING, **{
        "cluster-signing-cert-file": None,
        "cluster-signing-key-file": None,
        "cluster-signing-duration": "duration",
        "controllers": None,
        "root-ca-file": None,
        "service-account-private-key-file": None,
        "terminated-pod-gc-threshold": _INT,
        "use-service-account-credentials": _BOOL,
    }),
    "kube-scheduler": dict(_COMMON_SECURE_SERVING),
    "etcd": {
        "advertise-client-urls": None,
        "auto-tls": _BOOL,
        "cert-file": None,
        "cipher-suites": "etcd-ciphers",
        "client-cert-auth": _BOOL,
        "data-dir": None,
        "experimental-initial-corrupt-check": _BOOL,
        "experimental-watch-progress-notify-interval": "duration",
        "feature-gates": None,
        "initial-advertise-peer-urls": None,
        "initial-cluster": None,
        "initial-cluster-state": None,
        "key-file": None,
        "listen-client-urls": None,
        "listen-metrics-urls": None,
        "listen-peer-urls": None,
        "log-level": None,
        "name": None,
        "peer-auto-tls": _BOOL,
        "peer-cert-file": None,
        "peer-client-cert-auth": _BOOL,
        "peer-key-file": None,
        "peer-trusted-ca-file": None,
        "snapshot-count": _INT,
        # etcd is versioned apart from Kubernetes: the version table gates it on the etcd version
        "tls-min-version": "etcd-tlsver",
        "trusted-ca-file": None,
        "watch-progress-notify-interval": "duration",
    },
}

AUTHZ_MODES = ("AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$")
_TLS_VERSIONS = ("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13")
AUTHN_KIND = "AuthenticationConfiguration"


def parse_version(version):
    """``1.28.7`` / ``v1.30`` -> minor as int (major must be 1); None for
    empty; FlagError for anything else."""
    if version is None or str(version).strip() == "":
        return None
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    try:
        return _versions.parse_version(str(version))[1]
    except _versions.VersionError:
        raise FlagError("kubernetes_version %r is not a Kubernetes version like 1.28.7" % (version,))


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


def validate_flags(component, flags, kubernetes_version=None, allow_unknown=False, etcd_version=None):
    """Check flags about to be written (``{name: value string or None}``).

    Versions come from the version table: a Kubernetes version for every component, and for etcd
    also the etcd version (``etcd_version``; its flags are versioned apart). Returns a list of
    warnings; raises FlagError naming every bad flag with the component and the version."""
    if component not in FLAGS:
        raise FlagError("unknown component %r, expected one of %s" % (component, ", ".join(COMPONENTS)))
    minor = parse_version(kubernetes_version)
    table = FLAGS[component]
    errors = []
    warnings = []
    if minor is not None and not _versions.supported(minor):
        warnings.append("Kubernetes 1.%d is outside the versions the version table covers "
                        "(1.%d to 1.%d)" % (minor, SUPPORTED_MINORS[0], SUPPORTED_MINORS[1]))
    for name, value in flags.items():
        kind = table.get(name, "unknown")
        if kind == "unknown" and not _versions.flag_problem(component, name, etcd_version or "0.0.0"):
            if not allow_unknown:
                errors.append("--%s is not a %s flag the collection knows; check the name, or "
                              "set allow_unknown_flags" % (name, component))
            continue
        if component == "etcd":
            problem = _versions.flag_problem(component, name, etcd_version) if etcd_version else None
        else:
            problem = _versions.flag_problem(component, name, minor) if minor is not None else None
        if problem:
            errors.append(problem)
        if kind == "admission":
            for plugin in [p.strip() for p in (value or "").split(",") if p.strip()]:
                problem = _versions.admission_plugin_problem(plugin, minor) if minor is not None else None
                if problem and name == "enable-admission-plugins":
                    errors.append(problem)
            continue
        problem = _check_value(component, name, value, None if kind == "unknown" else kind)
        if problem:
            errors.append(problem)
    if errors:
        raise FlagError("; ".join(errors))
    return warnings


def authn_config_problems(doc, kubernetes_version, where="the AuthenticationConfiguration"):
    """What the apiserver at ``kubernetes_version`` refuses in an AuthenticationConfiguration
    document (its apiVersion, an anonymous block); a list of sentences."""
    minor = parse_version(kubernetes_version)
    if not isinstance(doc, dict) or minor is None:
        return []
    api = str(doc.get("apiVersion") or "").rsplit("/", maxsplit=1)[-1]
    problems = []
    problem = _versions.config_api_problem(AUTHN_KIND, doc.get("apiVersion"), minor)
    known = [r["name"].split(" ", 1)[1] for r in _versions.rows(_versions.CONFIG_API, "kube-apiserver")
             if r["name"].startswith(AUTHN_KIND + " ")]
    if doc.get("apiVersion") not in known:
        problems.append("%s: apiVersion %r is not one of %s" % (where, doc.get("apiVersion"), ", ".join(known)))
    elif problem:
        problems.append("%s: %s; write %s" % (where, problem, _versions.value("authentication_config_api_version",
                                                                              minor)))
    if "anonymous" in doc and not _versions.feature("anonymous_in_authentication_config", minor):
        problems.append("%s: anonymous in AuthenticationConfiguration (%s) needs Kubernetes 1.32 or later; this "
                        "node runs 1.%d (control_plane_anonymous_auth_fallback applies)" % (where, api, minor))
    return problems


def check_conflicts(component, flags, kubernetes_version=None, authn_config=None):
    """Check the RESULTING flags of a manifest for combinations the component
    refuses (the version table's conflict rows). ``authn_config`` is the parsed file named by
    ``--authentication-config`` when it could be read. Raises FlagError."""
    if component != "kube-apiserver":
        return
    minor = parse_version(kubernetes_version)
    errors = []
    present = set(flags)
    if "authentication-config" in flags and isinstance(authn_config, dict) and "anonymous" in authn_config:
        present.add("authentication-config:anonymous")
    for row in _versions.conflicts(component, minor):
        if all(member in present for member in row["members"]):
            plain = [m for m in row["members"] if ":" not in m]
            if len(plain) == len(row["members"]):
                shown = "%s cannot both be set" % " and ".join("--%s" % m for m in plain)
            else:
                shown = ("%s conflicts with --authentication-config %s, which configures anonymous"
                         % (" and ".join("--%s" % m for m in plain), flags["authentication-config"]))
            errors.append("%s (Kubernetes 1.%s); %s" % (shown, minor if minor is not None else "?", row["fix"]))
    if "authentication-config" in flags and isinstance(authn_config, dict):
        errors.extend(authn_config_problems(authn_config, kubernetes_version,
                                            "--authentication-config %s" % flags["authentication-config"]))
    if errors:
        raise FlagError("; ".join(errors))


__all__ = [
    "FlagError",
    "SUPPORTED_MINORS",
    "COMPONENTS",
    "FLAGS",
    "AUTHZ_MODES",
    "parse_version",
    "validate_flags",
    "authn_config_problems",
    "check_conflicts",
]
