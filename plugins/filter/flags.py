# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)
"""Filters over static pod flags (docs: the .yml file of each filter next to this one)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import (
    ManifestError, checksum_annotations, checksum_of_digests, flag_value_str, flags_from_command, format_flag,
    merge_contributions, parse_flag)

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def k8s_flags_to_dict(command):
    """A command list (``[binary, --a=b, --c]``) -> ordered ``{a: b, c: None}``."""
    if isinstance(command, str):
        command = command.split()
    if not isinstance(command, (list, tuple)):
        raise AnsibleFilterError("k8s_flags_to_dict expects a list of command arguments, got %s"
                                 % type(command).__name__)
    try:
        return flags_from_command([str(c) for c in command])
    except ManifestError as exc:
        raise AnsibleFilterError("k8s_flags_to_dict: %s" % exc)


def k8s_dict_to_flags(flags, binary=None, sort=False):
    """``{a: b, c: None, d: [x, y]}`` -> ``[--a=b, --c, --d=x,y]``, prefixed with ``binary``."""
    if not isinstance(flags, dict):
        raise AnsibleFilterError("k8s_dict_to_flags expects a dict, got %s" % type(flags).__name__)
    names = sorted(flags) if sort else list(flags)
    result = [binary] if binary else []
    for name in names:
        clean, dummy = parse_flag("--" + str(name).lstrip("-"))
        result.append(format_flag(clean, flag_value_str(flags[name])))
    return result


def k8s_static_pod_merge(contributions):
    """Merge static pod contributions per component (conflicts fail naming both sources)."""
    try:
        return merge_contributions(contributions, COMPONENTS)
    except ManifestError as exc:
        raise AnsibleFilterError("k8s_hardening_static_pod_changes: %s" % exc)


def k8s_config_checksum(stats, missing_ok=False):
    """One sha256 over files from ``ansible.builtin.stat`` results (a loop's ``results`` or a
    list of ``stat`` dicts, with checksum_algorithm sha256). A missing file fails, unless
    ``missing_ok`` (check mode: the file another role would write is not there yet)."""
    return checksum_of_digests(_stat_pairs(stats, missing_ok))


def k8s_config_checksums(stats, missing_ok=False):
    """{annotation key: sha256}, one annotation per file, from the same stat results."""
    return checksum_annotations(_stat_pairs(stats, missing_ok))


def _stat_pairs(stats, missing_ok):
    pairs = []
    for item in stats or []:
        stat = item.get("stat", item) if isinstance(item, dict) else None
        if not isinstance(stat, dict):
            raise AnsibleFilterError("k8s_config_checksum expects stat results, got %r" % (item,))
        path = stat.get("path") or (item.get("item") if isinstance(item, dict) else None)
        if missing_ok and not stat.get("exists"):
            pairs.append((str(path), "missing"))
            continue
        if not stat.get("exists") or not stat.get("checksum"):
            raise AnsibleFilterError("k8s_config_checksum: %s does not exist or is not a readable file"
                                     % (path or item.get("item")))
        if len(stat["checksum"]) != 64:
            raise AnsibleFilterError("k8s_config_checksum: %s: use ansible.builtin.stat with "
                                     "checksum_algorithm: sha256" % path)
        pairs.append((path, stat["checksum"]))
    return pairs


class FilterModule(object):
    def filters(self):
        return {
            "k8s_flags_to_dict": k8s_flags_to_dict,
            "k8s_dict_to_flags": k8s_dict_to_flags,
            "k8s_static_pod_merge": k8s_static_pod_merge,
            "k8s_config_checksum": k8s_config_checksum,
            "k8s_config_checksums": k8s_config_checksums,
        }
