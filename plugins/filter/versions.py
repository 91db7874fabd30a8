# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
"""Filters over the version table (docs: k8s_version_*.yml and k8s_cis_benchmark.yml next to this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._version_checks import (
    VersionCheckError, preflight, upgrade_findings)


def k8s_version_check(version, allow_untested=False, host=None):
    """Refuse a version outside the table (unless allow_untested); returns the warnings."""
    try:
        return _versions.check_supported(version, bool(allow_untested), host=host)
    except _versions.VersionError as exc:
        raise AnsibleFilterError(str(exc))


def k8s_version_value(version, name):
    """The table's value of ``name`` at ``version`` (cis_benchmark, authentication_config_api_version, ...)."""
    try:
        return _versions.value(name, version)
    except (KeyError, _versions.VersionError) as exc:
        raise AnsibleFilterError("k8s_version_value: %s" % exc)


def k8s_version_feature(version, name):
    """True when the table's feature ``name`` applies at ``version``."""
    try:
        return _versions.feature(name, version)
    except (KeyError, _versions.VersionError) as exc:
        raise AnsibleFilterError("k8s_version_feature: %s" % exc)


def k8s_version_flag_allowed(version, component, flag):
    """True when ``component`` at ``version`` takes ``--flag`` (etcd: give the etcd version)."""
    try:
        return _versions.flag_allowed(component, flag, version)
    except _versions.VersionError as exc:
        raise AnsibleFilterError("k8s_version_flag_allowed: %s" % exc)


def k8s_version_preflight(plan, version, allow_untested=False, host=None):
    """{errors, warnings} for what a run would write (see _version_checks.preflight)."""
    try:
        return preflight(plan, version, bool(allow_untested), host)
    except (VersionCheckError, _versions.VersionError) as exc:
        raise AnsibleFilterError(str(exc))


def k8s_version_upgrade(state, current_version, target_version):
    """Findings for the node's state at the target version (see _version_checks.upgrade_findings)."""
    try:
        return upgrade_findings(state, current_version, target_version)
    except (VersionCheckError, _versions.VersionError) as exc:
        raise AnsibleFilterError("k8s_hardening_target_version: %s" % exc)


def k8s_cis_benchmark(versions):
    """The CIS benchmark kube-bench maps the cluster's version to: the API server's version when given one
    version, else the lowest of the versions given (None entries ignored)."""
    if isinstance(versions, str):
        versions = [versions]
    minors = []
    for version in versions or []:
        if version in (None, ""):
            continue
        try:
            minors.append(_versions.minor_of(version))
        except _versions.VersionError as exc:
            raise AnsibleFilterError("k8s_cis_benchmark: %s" % exc)
    if not minors:
        raise AnsibleFilterError("k8s_cis_benchmark: no Kubernetes version detected on any node; name the "
                                 "benchmark with report_benchmark (cis-1.10, cis-1.11 or cis-1.12)")
    return _versions.value("cis_benchmark", min(minors))


class FilterModule(object):
    def filters(self):
        return {
            "k8s_version_check": k8s_version_check,
            "k8s_version_value": k8s_version_value,
            "k8s_version_feature": k8s_version_feature,
            "k8s_version_flag_allowed": k8s_version_flag_allowed,
            "k8s_version_preflight": k8s_version_preflight,
            "k8s_version_upgrade": k8s_version_upgrade,
            "k8s_cis_benchmark": k8s_cis_benchmark,
        }
