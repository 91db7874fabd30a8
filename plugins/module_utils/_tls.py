# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
#
# PRIVATE to the k8s_hardening.kubeadm collection. Not a public API: it may
# change at any time without notice. Do not import it from outside the
# collection.
#
# TLS names Kubernetes components accept (component-base ciphersuites_flag.go,
# kube-apiserver reference "Preferred/Insecure values") and the allow-lists
# kube-bench uses for CIS 1.2.29 and 4.2.12. No Ansible import.

"""Validate and normalise TLS cipher suite names and TLS versions."""

from __future__ import annotations


class TLSConfigError(ValueError):
    """A cipher suite or TLS version that cannot be used; names the variable."""


# tls.CipherSuites() plus the two legacy CHACHA aliases component-base adds.
GO_SECURE_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)

# tls.InsecureCipherSuites()
GO_INSECURE_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_RC4_128_SHA",
)

# kube-bench cis-1.10..1.12, check 4.2.12 valid_elements (kubelet).
KUBELET_CIS_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
)

# kube-bench check 1.2.29 valid_elements (kube-apiserver).
APISERVER_CIS_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)

# The recommended strong set (reference 4.1): satisfies 1.2.29 and 4.2.12.
STRONG_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
)

# TLS 1.3 suites: always on in Go, not configurable; etcd rejects the names.
TLS13_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
)

# canonical Go name -> legacy alias (both accepted by Kubernetes)
CHACHA_LEGACY = {
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
}

# OpenSSL spelling -> Go name (the legacy CHACHA aliases, which every
# component and both kube-bench lists accept).
OPENSSL_TO_GO = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "ECDHE-ECDSA-AES128-SHA": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE-RSA-AES128-SHA": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "ECDHE-ECDSA-AES256-SHA": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "ECDHE-RSA-AES256-SHA": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "ECDHE-ECDSA-AES128-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-RSA-AES128-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-ECDSA-RC4-SHA": "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "ECDHE-RSA-RC4-SHA": "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "ECDHE-RSA-DES-CBC3-SHA": "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "DES-CBC3-SHA": "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "AES128-SHA": "TLS_RSA_WITH_AES_128_CBC_SHA",
    "AES256-SHA": "TLS_RSA_WITH_AES_256_CBC_SHA",
    "AES128-SHA256": "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "AES128-GCM-SHA256": "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "AES256-GCM-SHA384": "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "RC4-SHA": "TLS_RSA_WITH_RC4_128_SHA",
}

TLS_VERSIONS = ("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13")
# etcd spells them differently (--tls-min-version=TLS1.2)
ETCD_TLS_VERSIONS = {"VersionTLS12": "TLS1.2", "VersionTLS13": "TLS1.3"}

PROFILES = ("apiserver", "kubelet", "etcd")


def _as_list(names, varname):
    if names is None:
        return []
    if isinstance(names, str):
        return [n.strip() for n in names.split(",") if n.strip()]
    if isinstance(names, (list, tuple)):
        result = []
        for name in names:
            if not isinstance(name, str):
                raise TLSConfigError("%s: cipher suite names must be strings, got %r" % (varname, name))
            if name.strip():
                result.append(name.strip())
        return result
    raise TLSConfigError("%s: expected a list of cipher suite names, got %s"
                         % (varname, type(names).__name__))


def normalize_cipher_suites(names, varname, allow=None):
    """Map names (list or comma string; Go or OpenSSL spelling) to Go names.

    Raises TLSConfigError naming the cipher and ``varname`` for an insecure
    or unknown suite, or one not in ``allow`` (when given). Duplicates are
    dropped, order kept."""
    result = []
    for raw in _as_list(names, varname):
        name = OPENSSL_TO_GO.get(raw.upper(), raw.upper())
        if name in GO_INSECURE_SUITES:
            raise TLSConfigError(
                "%s: cipher suite %s is in Go's insecure list; use names from the "
                "secure list, e.g. %s" % (varname, raw, ", ".join(STRONG_SUITES)))
        if name not in GO_SECURE_SUITES:
            raise TLSConfigError(
                "%s: cipher suite %s is not supported or doesn't exist; accepted names: %s"
                % (varname, raw, ", ".join(GO_SECURE_SUITES)))
        if allow is not None and name not in allow:
            raise TLSConfigError(
                "%s: cipher suite %s is not allowed here; allowed: %s"
                % (varname, raw, ", ".join(allow)))
        if name not in result:
            result.append(name)
    return result


def cipher_suites_for(names, varname, profile="apiserver"):
    """Validate and spell cipher suites for one component kind.

    ``apiserver``: Go names as given (OpenSSL spellings mapped).
    ``kubelet``: CHACHA suites in the legacy spelling kube-bench 4.2.12 lists.
    ``etcd``: legacy CHACHA spelling; TLS 1.3 names refused (etcd rejects
    them and TLS 1.3 suites cannot be configured anyway)."""
    if profile not in PROFILES:
        raise TLSConfigError("%s: unknown TLS profile %r, expected one of %s"
                             % (varname, profile, ", ".join(PROFILES)))
    names = normalize_cipher_suites(names, varname)
    if profile in ("kubelet", "etcd"):
        names = [CHACHA_LEGACY.get(n, n) for n in names]
    if profile == "etcd":
        bad = [n for n in names if n in TLS13_SUITES]
        if bad:
            raise TLSConfigError(
                "%s: %s is a TLS 1.3 suite; etcd rejects TLS 1.3 names in --cipher-suites "
                "(TLS 1.3 suites are always enabled); remove it" % (varname, bad[0]))
    result = []
    for name in names:
        if name not in result:
            result.append(name)
    return result


def tls_min_version(value, varname, profile="apiserver"):
    """``VersionTLS12`` / ``TLS1.2`` / ``1.2`` / ``tls12`` -> the spelling the
    component wants (``VersionTLS12``; etcd: ``TLS1.2``)."""
    if value is None or not str(value).strip():
        raise TLSConfigError("%s: a TLS version is required, one of %s"
                             % (varname, ", ".join(TLS_VERSIONS)))
    raw = str(value).strip()
    key = raw.lower().replace("versiontls", "").replace("tlsv", "").replace("tls", "")
    key = key.replace(".", "").replace("_", "")
    mapping = {"10": "VersionTLS10", "11": "VersionTLS11", "12": "VersionTLS12", "13": "VersionTLS13"}
    version = mapping.get(key)
    if version is None:
        raise TLSConfigError("%s: unknown TLS version %r, expected one of %s"
                             % (varname, raw, ", ".join(TLS_VERSIONS)))
    if profile == "etcd":
        if version not in ETCD_TLS_VERSIONS:
            raise TLSConfigError("%s: etcd accepts only TLS1.2 or TLS1.3, got %r" % (varname, raw))
        return ETCD_TLS_VERSIONS[version]
    if profile not in PROFILES:
        raise TLSConfigError("%s: unknown TLS profile %r, expected one of %s"
                             % (varname, profile, ", ".join(PROFILES)))
    return version


__all__ = [
    "TLSConfigError",
    "GO_SECURE_SUITES",
    "GO_INSECURE_SUITES",
    "KUBELET_CIS_SUITES",
    "APISERVER_CIS_SUITES",
    "STRONG_SUITES",
    "TLS13_SUITES",
    "CHACHA_LEGACY",
    "OPENSSL_TO_GO",
    "TLS_VERSIONS",
    "ETCD_TLS_VERSIONS",
    "PROFILES",
    "normalize_cipher_suites",
    "cipher_suites_for",
    "tls_min_version",
]
