# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# The one way the collection's modules write a file: a private temp file in the same
# directory (hidden: the kubelet ignores dot files in the manifests directory), then an
# atomic rename. No Ansible import: the caller passes its AnsibleModule for atomic_move.
"""Atomic, private file writes shared by the modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def write_atomic(module, path, data, mode=0o600, keep_existing_mode=False, owner=None):
    """Write ``data`` (text or bytes) to ``path`` atomically.

    The temp file is created with ``mode`` (0600 by default), so content is never readable
    by others, not even for an instant. After the rename the file has ``mode``, unless
    ``keep_existing_mode`` and the file existed (atomic_move keeps an existing file's mode
    and owner). ``owner`` is an optional (uid, gid).
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    existed = os.path.exists(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if not isinstance(data, bytes) else data)
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if not (keep_existing_mode and existed):
        os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner[0], owner[1])
    return path


__all__ = ["write_atomic"]
