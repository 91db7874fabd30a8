# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
"""TLS name filters (docs: k8s_tls_cipher_suites.yml, k8s_tls_min_version.yml next to this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._tls import (
    TLSConfigError, cipher_suites_for, tls_min_version)


def k8s_tls_cipher_suites(names, varname="tls_cipher_suites", profile="apiserver"):
    """Validate cipher suites and spell them for a component kind."""
    try:
        return cipher_suites_for(names, varname, profile)
    except TLSConfigError as exc:
        raise AnsibleFilterError(str(exc))


def k8s_tls_min_version(value, varname="tls_min_version", profile="apiserver"):
    """Normalise a minimum TLS version (VersionTLS12; etcd: TLS1.2)."""
    try:
        return tls_min_version(value, varname, profile)
    except TLSConfigError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {
            "k8s_tls_cipher_suites": k8s_tls_cipher_suites,
            "k8s_tls_min_version": k8s_tls_min_version,
        }
