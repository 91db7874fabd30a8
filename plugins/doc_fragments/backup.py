# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The pruning of backups, shared by every module that keeps one (plugins/module_utils/_fileio.py)."""

    DOCUMENTATION = r"""
options:
  backup_keep:
    description:
      - How many backups of the file to keep in O(backup_dir); older ones are removed right after a new one is
        written. Other files in the directory are never touched. C(0) keeps all.
    type: int
    default: 10
"""
