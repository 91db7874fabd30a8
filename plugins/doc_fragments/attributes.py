# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The author and the attributes every module of the collection shares.

    A module states only what differs (diff_mode full, details); its own entries win over these.
    """

    DOCUMENTATION = r"""
options: {}
author:
  - k8s_hardening.kubeadm contributors !UNKNOWN
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
"""
