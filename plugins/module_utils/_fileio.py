# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# The one way the collection's modules write a file: a private temp file in the same
# directory (hidden: the kubelet ignores dot files in the manifests directory), then an
# atomic rename. No Ansible import: the caller passes its AnsibleModule (for SELinux contexts).
"""Atomic, private file writes shared by the modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import tempfile
import time


def write_atomic(module, path, data, mode=0o600, keep_existing_mode=False, owner=None):
    """Write ``data`` (text or bytes) to ``path`` atomically.

    The temp file is created 0600 by ``mkstemp`` in the target's directory; it gets its final owner and
    mode before the rename, so the content is never readable by anyone the final file does not allow, not
    even for an instant (Ansible's ``atomic_move`` gives a new file the umask's mode, 0644, after the
    rename). The final mode is ``mode``, or the replaced file's mode with ``keep_existing_mode``. The owner is
    ``owner`` (uid, gid) if given, else the replaced file's owner (as ``atomic_move`` keeps it), else the
    caller's. The SELinux context of the replaced file is kept. ``module`` is the caller's AnsibleModule.
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None
    final_mode = stat.S_IMODE(existing.st_mode) if (keep_existing_mode and existing) else mode
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if not isinstance(data, bytes) else data)
            handle.flush()
            os.fsync(handle.fileno())
            if owner is not None:
                os.fchown(handle.fileno(), owner[0], owner[1])
            elif existing is not None and (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(handle.fileno(), existing.st_uid, existing.st_gid)
                except PermissionError:
                    pass   # not root: the file becomes the caller's, as with atomic_move
            os.fchmod(handle.fileno(), final_mode)   # after chown, which may clear set-id bits
        if existing is not None and getattr(module, "selinux_enabled", lambda: False)():
            module.set_context_if_different(tmp, module.selinux_context(path), False)
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _stamp():
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "%06d" % int(now % 1 * 1e6)


def prune_backups(backup_dir, name, keep, suffix=""):
    """Remove all but the newest ``keep`` backups ``<name>.<stamp><suffix>`` in ``backup_dir`` (``keep`` 0:
    remove none). Returns the removed paths. Other files in the directory are never touched."""
    if keep is None or keep <= 0 or not os.path.isdir(backup_dir):
        return []
    pattern = re.compile(r"^%s\.\d{8}T\d{6}\d{0,6}%s$" % (re.escape(name), re.escape(suffix)))
    backups = sorted(n for n in os.listdir(backup_dir) if pattern.match(n))
    removed = []
    for entry in backups[:-keep]:
        path = os.path.join(backup_dir, entry)
        os.unlink(path)
        removed.append(path)
    return removed


def backup_copy(module, path, backup_dir, keep=10, data=None, name=None, suffix=""):
    """Keep the previous content of ``path`` as ``backup_dir/<name>.<UTC stamp, microseconds><suffix>``,
    0600 in a directory created 0700, then prune the backups of that name to the newest ``keep``.

    ``data``: the bytes to keep (default: a copy of ``path``); ``name``: default the file's name.
    Returns ``(backup path, removed paths)``."""
    if not os.path.isdir(backup_dir):
        os.makedirs(backup_dir, 0o700)
    name = name or os.path.basename(path)
    dest = os.path.join(backup_dir, "%s.%s%s" % (name, _stamp(), suffix))
    if data is None:
        with open(path, "rb") as handle:
            data = handle.read()
    write_atomic(module, dest, data, mode=0o600)
    return dest, prune_backups(backup_dir, name, keep, suffix)


def keep_backup(module, path, backup_dir, keep):
    """The backup of ``path`` before it is replaced: in ``backup_dir`` pruned to ``keep``, or, without a
    ``backup_dir``, next to the file (Ansible's own backup naming, never pruned)."""
    if not backup_dir:
        return module.backup_local(path), []
    return backup_copy(module, path, backup_dir, keep)


def file_error(exc, path=None):
    """One line for an OSError or a UnicodeDecodeError met while reading or writing ``path``: the file
    (the error's own file name first) and what went wrong, for the module's ``fail_json``."""
    if isinstance(exc, UnicodeDecodeError):
        return "%s is not UTF-8 text (byte 0x%02x at offset %d); nothing was changed" % (
            path or "a file", exc.object[exc.start], exc.start)
    name = getattr(exc, "filename", None) or path or "a file"
    if getattr(exc, "filename2", None):
        name = "%s -> %s" % (name, exc.filename2)
    return "%s: %s" % (name, getattr(exc, "strerror", None) or exc)


__all__ = ["backup_copy", "file_error", "keep_backup", "prune_backups", "write_atomic"]
