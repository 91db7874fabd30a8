# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# Pure logic behind the file_permissions module (expand the rules into files, compare what is on
# disk with what the rules ask, say what must change) and the read_files module (find and read).
"""Plan file mode and ownership changes from rules, and find and read files, without touching anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import fnmatch
import hashlib
import os
import stat


class FileRuleError(Exception):
    """A rule is malformed (bad mode, no path)."""


def parse_mode(value, where):
    """'0600', '600', 0o600 or 384 -> 0o600; raises FileRuleError naming ``where``."""
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise FileRuleError("%s: mode %r is not an octal number such as '0600'" % (where, value))
    if mode < 0 or mode > 0o7777:
        raise FileRuleError("%s: mode %r is out of range" % (where, value))
    return mode


def normalize_rules(rules):
    """Validate rules and return them with parsed modes.

    A rule (the shape of the CIS table's file remedies):
    {path, mode?, owner?, group?, ids?, pattern?, recurse?, include_dir?, exact_mode?}.
    ``path`` is a file or a directory; with ``pattern`` (a glob such as '*.key')
    the rule applies to the matching files in the directory (below it too with
    ``recurse``; the directories themselves too with ``include_dir``). The mode
    is a ceiling, as in kube-bench's bitmask test: bits outside it are removed,
    none is added, so a file that is already stricter stays so; ``exact_mode:
    true`` sets the mode exactly.
    """
    out = []
    for index, rule in enumerate(rules or []):
        where = "rule %d (%s)" % (index, rule.get("path", "?"))
        if not rule.get("path"):
            raise FileRuleError("%s: path is required" % where)
        norm = dict(rule)
        # Older spellings of the same rule (kept so callers written against them keep working).
        if norm.get("recurse_pattern") and not norm.get("pattern"):
            norm["pattern"], norm["recurse"] = norm["recurse_pattern"], True
        if "include_dirs" in norm and "include_dir" not in norm:
            norm["include_dir"] = norm["include_dirs"]
        norm["mode"] = parse_mode(rule["mode"], where) if rule.get("mode") not in (None, "") else None
        norm["ids"] = list(rule.get("ids") or [])
        out.append(norm)
    return out


def wanted_mode(current, rule_mode, ceiling=True):
    """The mode a file should have: exactly rule_mode, or current with bits outside rule_mode removed."""
    if rule_mode is None:
        return current
    if ceiling:
        return current & rule_mode
    return rule_mode


def plan_one(path, st, rule, uid_of, gid_of):
    """Compare one stat result with a rule; return a change dict or None.

    ``uid_of``/``gid_of`` map a user/group name to an id (or raise KeyError).
    """
    current_mode = stat.S_IMODE(st.st_mode)
    target_mode = wanted_mode(current_mode, rule.get("mode"), not rule.get("exact_mode", False))
    change = {"path": path, "ids": rule["ids"]}
    if target_mode != current_mode:
        change["mode"] = {"before": "%04o" % current_mode, "after": "%04o" % target_mode, "value": target_mode}
    if rule.get("owner") not in (None, ""):
        uid = uid_of(rule["owner"])
        if uid != st.st_uid:
            change["owner"] = {"before": st.st_uid, "after": rule["owner"], "value": uid}
    if rule.get("group") not in (None, ""):
        gid = gid_of(rule["group"])
        if gid != st.st_gid:
            change["group"] = {"before": st.st_gid, "after": rule["group"], "value": gid}
    return change if len(change) > 2 else None


def expand(rule, walk=os.walk, lexists=os.path.lexists, isdir=os.path.isdir):
    """The paths a rule covers that exist (a rule for a missing file covers nothing)."""
    path = rule["path"]
    if not lexists(path):
        return []
    pattern = rule.get("pattern")
    if not pattern:
        return [path]
    if not isdir(path):
        return [path] if fnmatch.fnmatch(os.path.basename(path), pattern) else []
    include_dir = rule.get("include_dir", False)
    found = [path] if include_dir else []
    for root, dirs, files in walk(path):
        dirs.sort()
        names = sorted(files) + (sorted(dirs) if include_dir else [])
        for name in names:
            if fnmatch.fnmatch(name, pattern):
                found.append(os.path.join(root, name))
        if not rule.get("recurse", False):
            break
    return found


def describe(change):
    """One line per change, for the diff and the result."""
    parts = []
    if "mode" in change:
        parts.append("mode %s -> %s" % (change["mode"]["before"], change["mode"]["after"]))
    if "owner" in change:
        parts.append("owner uid %s -> %s" % (change["owner"]["before"], change["owner"]["after"]))
    if "group" in change:
        parts.append("group gid %s -> %s" % (change["group"]["before"], change["group"]["after"]))
    ids = (" [CIS %s]" % ", ".join(change["ids"])) if change.get("ids") else ""
    return "%s: %s%s" % (change["path"], ", ".join(parts), ids)


def find_files(paths, patterns, depth):
    """Regular files (links followed) below ``paths`` whose names match one of ``patterns``, at most ``depth``
    levels down (1: the directory itself), as ansible.builtin.find counts them; sorted, no duplicates."""
    out = []
    for base in paths:
        base = os.path.normpath(base)
        if not os.path.isdir(base):
            continue
        base_depth = base.rstrip(os.sep).count(os.sep)
        for directory, dirs, names in os.walk(base):
            level = directory.rstrip(os.sep).count(os.sep) - base_depth + 1
            if level >= depth:
                dirs[:] = []
            for name in names:
                path = os.path.join(directory, name)
                if os.path.isfile(path) and any(fnmatch.fnmatch(name, p) for p in patterns):
                    out.append(path)
    return sorted(set(out))


def read_entry(item, path, with_content, max_size):
    """One result in the shape of a slurp/stat loop item: ``item``, ``source``, ``stat`` (exists, sha256
    checksum, writeable) and, with ``with_content``, ``content`` in base64; a file that cannot be read has
    ``failed`` and ``msg``."""
    entry = {"item": item, "source": path, "stat": {"path": path, "exists": False}}
    if not os.path.isfile(path):
        entry.update(failed=True, msg="file not found: %s" % path, stat={"path": path,
                                                                         "exists": os.path.exists(path)})
        return entry
    try:
        if os.path.getsize(path) > max_size:
            entry.update(failed=True, msg="%s is larger than max_size (%d bytes)" % (path, max_size))
            return entry
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        entry.update(failed=True, msg="%s: %s" % (path, exc.strerror or exc))
        return entry
    entry["stat"] = {"path": path, "exists": True, "checksum": hashlib.sha256(data).hexdigest(),
                     "writeable": os.access(path, os.W_OK)}
    if with_content:
        entry["content"] = base64.b64encode(data).decode("ascii")
        entry["encoding"] = "base64"
    return entry


__all__ = ["FileRuleError", "describe", "expand", "find_files", "normalize_rules", "parse_mode", "plan_one",
           "read_entry", "wanted_mode"]
