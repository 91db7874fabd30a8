# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# No Ansible import: unit-tested with pytest (tests/unit/plugins/module_utils/test_fingerprint.py).
"""The state fingerprint behind harden.yml's cheap no-op run (docs/noop.md).

A node's fingerprint is a digest over every file the roles read or write: type, mode, owner,
group and the sha256 of the content (or, for large files and for files marked ``content: false``,
the size and mtime; for files marked ``volatile: true``, such as the audit logs a running apiserver
writes all the time, only type, mode, owner and group). After a full run that changed nothing on a node, the node keeps a record
of that digest and of the digest of the run's inputs. A later run whose node digest and input
digest both equal the record's is the same evaluation of the same state: harden.yml then skips
the node's roles. Any edited flag, key, mode or owner changes the digest, and the full run
happens, names the drift and corrects it.

The record holds digests only (no content, no key material).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import stat

RECORD_VERSION = 1
DEFAULT_MAX_CONTENT = 4 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 20000


class FingerprintError(Exception):
    """Bad input or a tree too large to fingerprint."""


def normalize_specs(specs):
    """Validate ``[{path, content, recurse, volatile}]``; a bare string is ``{path: s}``."""
    out = []
    for spec in specs or []:
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict) or not spec.get("path"):
            raise FingerprintError("each path entry needs a 'path', got %r" % (spec,))
        path = str(spec["path"])
        if not os.path.isabs(path):
            raise FingerprintError("path %r is not absolute" % path)
        unknown = set(spec) - {"path", "content", "recurse", "volatile"}
        if unknown:
            raise FingerprintError("path %s: unknown keys %s (known: path, content, recurse, volatile)"
                                   % (path, ", ".join(sorted(unknown))))
        volatile = bool(spec.get("volatile", False))
        out.append({"path": os.path.normpath(path), "content": bool(spec.get("content", True)) and not volatile,
                    "recurse": bool(spec.get("recurse", False)), "volatile": volatile})
    return out


def _file_hash(path, max_content):
    digest = hashlib.sha256()
    read = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(65536)
            if not chunk:
                break
            read += len(chunk)
            if read > max_content:
                return None
            digest.update(chunk)
    return digest.hexdigest()


def describe_entry(path, content=True, max_content=DEFAULT_MAX_CONTENT, lstat=os.lstat, volatile=False):
    """One line that changes whenever the path's type, mode, owner, group or content does
    (``volatile``: a regular file's content, size and mtime never count)."""
    try:
        st = lstat(path)
    except FileNotFoundError:
        return "absent"
    except NotADirectoryError:
        return "absent"
    meta = "%o|%d|%d" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISLNK(st.st_mode):
        return "link|%s|%s" % (meta, os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return "dir|%s" % meta
    if not stat.S_ISREG(st.st_mode):
        return "other|%s|%o" % (meta, stat.S_IFMT(st.st_mode))
    if volatile:
        return "file|%s" % meta
    if content:
        # /proc/sys files report size 0: read them all the same.
        try:
            sha = _file_hash(path, max_content)
        except OSError as exc:
            return "file|%s|unreadable:%s" % (meta, exc.__class__.__name__)
        if sha is not None:
            return "file|%s|sha256:%s" % (meta, sha)
    return "file|%s|size:%d|mtime:%d" % (meta, st.st_size, st.st_mtime_ns)


def _below(path, tree):
    return path.startswith(tree.rstrip(os.sep) + os.sep)


def walk(specs, max_content=DEFAULT_MAX_CONTENT, max_entries=DEFAULT_MAX_ENTRIES, lstat=os.lstat):
    """``{path: line}`` for every spec path and, with ``recurse``, everything below it
    (symbolic links are described, never followed)."""
    entries = {}
    specs = normalize_specs(specs)
    # Trees hashed in full; a path at or below one of them (e.g. /etc/kubernetes/pki, named by two roles
    # inside /etc/kubernetes) is already covered, with its content, and is not walked again.
    trees = sorted({s["path"] for s in specs if s["recurse"] and s["content"]})
    trees = [t for t in trees if not any(_below(t, other) for other in trees if other != t)]
    walked = set()
    for spec in specs:
        path = spec["path"]
        if path in trees and spec["recurse"] and spec["content"]:
            if path in walked:
                continue
            walked.add(path)
        elif any(path == tree or _below(path, tree) for tree in trees):
            continue
        todo = [path]
        while todo:
            path = todo.pop()
            line = describe_entry(path, spec["content"], max_content, lstat, spec["volatile"])
            # A path named twice (e.g. a file inside a recursed directory) keeps the stricter
            # description: the one that includes the content.
            if path not in entries or "sha256:" in line:
                entries[path] = line
            if len(entries) > max_entries:
                raise FingerprintError("more than %d entries below %s: fingerprint fewer or smaller trees"
                                       % (max_entries, spec["path"]))
            if spec["recurse"] and line.startswith("dir|"):
                try:
                    names = sorted(os.listdir(path))
                except OSError:
                    continue
                todo.extend(os.path.join(path, name) for name in reversed(names))
    return entries


def entry_digests(entries):
    """``{path: short digest}``: what a record keeps per path (no content, no mode in clear)."""
    return {path: hashlib.sha256(("%s\0%s" % (path, line)).encode("utf-8")).hexdigest()[:16]
            for path, line in entries.items()}


def combined_digest(entries):
    digest = hashlib.sha256()
    for path in sorted(entries):
        digest.update(("%s\0%s\n" % (path, entries[path])).encode("utf-8"))
    return digest.hexdigest()


def inputs_digest(values, extra=""):
    """The digest of a run's inputs: canonical JSON of ``values`` plus ``extra`` (the collection's own
    digest). Values that JSON cannot hold are turned into strings."""
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(("%s\n%s" % (text, extra)).encode("utf-8")).hexdigest()


def tree_digest(root, parts, skip_dirs=("__pycache__", ".git", "tests"), skip_suffixes=(".pyc", ".pyo")):
    """The digest of the files below ``root/part`` for each of ``parts`` (content and relative path)."""
    digest = hashlib.sha256()
    for part in parts:
        base = os.path.join(root, part)
        if os.path.isfile(base):
            files = [base]
        else:
            files = []
            for directory, dirs, names in os.walk(base):
                dirs[:] = sorted(d for d in dirs if d not in skip_dirs)
                files.extend(os.path.join(directory, n) for n in sorted(names) if not n.endswith(skip_suffixes))
        for path in files:
            digest.update(os.path.relpath(path, root).encode("utf-8") + b"\0")
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def build_record(entries, inputs, now):
    return {"version": RECORD_VERSION, "digest": combined_digest(entries), "inputs": inputs,
            "recorded_at": int(now), "entries": entry_digests(entries)}


def compare(record, entries, inputs, now, max_age_seconds):
    """Is the node in the state a recorded no-op run left, with the same inputs, recently enough?

    Returns ``{converged, reasons, drifted}``; ``drifted`` lists the paths whose digest differs
    from the record's (added, removed or changed)."""
    reasons, drifted = [], []
    if not isinstance(record, dict) or record.get("version") != RECORD_VERSION:
        return {"converged": False, "reasons": ["no record of a verified no-op run on this node"], "drifted": []}
    current = entry_digests(entries)
    if record.get("digest") != combined_digest(entries):
        old = record.get("entries") or {}
        drifted = sorted(p for p in set(old) | set(current) if old.get(p) != current.get(p))
        reasons.append("files changed since the last verified run: %s%s"
                       % (", ".join(drifted[:10]), " and %d more" % (len(drifted) - 10) if len(drifted) > 10 else ""))
    if record.get("inputs") != inputs:
        reasons.append("the variables or the collection changed since the last verified run")
    age = now - int(record.get("recorded_at") or 0)
    if max_age_seconds is not None and (age > max_age_seconds or age < -300):
        reasons.append("the last verified run is %d s old (at most %d s: certificate renewal and other "
                       "time-based decisions need a full run)" % (age, max_age_seconds))
    return {"converged": not reasons, "reasons": reasons, "drifted": drifted}


def load_record(text):
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def dump_record(record):
    return json.dumps(record, sort_keys=True, indent=1) + "\n"


__all__ = [
    "FingerprintError", "build_record", "combined_digest", "compare", "describe_entry", "dump_record",
    "entry_digests", "inputs_digest", "load_record", "normalize_specs", "tree_digest", "walk",
]
