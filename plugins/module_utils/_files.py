# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# Pure logic behind the file_permissions module: expand the rules into files,
# compare what is on disk with what the rules ask, and say what must change.
"""Plan file mode and ownership changes from rules, without touching anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
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

    A rule: {path, mode?, owner?, group?, ids?, recurse_pattern?, max_mode?}.
    ``path`` is a file or a directory; with ``recurse_pattern`` (a glob such as
    '*.key') the rule applies to the matching files below the directory; with
    ``max_mode: true`` the mode is a ceiling (bits outside it are removed,
    kube-bench's bitmask test), otherwise it is set exactly.
    """
    out = []
    for index, rule in enumerate(rules or []):
        where = "rule %d (%s)" % (index, rule.get("path", "?"))
        if not rule.get("path"):
            raise FileRuleError("%s: path is required" % where)
        norm = dict(rule)
        norm["mode"] = parse_mode(rule["mode"], where) if rule.get("mode") not in (None, "") else None
        norm["ids"] = list(rule.get("ids") or [])
        out.append(norm)
    return out


def wanted_mode(current, rule_mode, ceiling):
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
    target_mode = wanted_mode(current_mode, rule.get("mode"), rule.get("max_mode", False))
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
    pattern = rule.get("recurse_pattern")
    if not pattern:
        return [path]
    if not isdir(path):
        return [path] if fnmatch.fnmatch(os.path.basename(path), pattern) else []
    found = []
    if pattern in ("*", "**") and rule.get("include_dirs", False):
        found.append(path)
    for root, dirs, files in walk(path):
        dirs.sort()
        names = sorted(files) + (sorted(dirs) if rule.get("include_dirs", False) else [])
        for name in names:
            if fnmatch.fnmatch(name, pattern):
                found.append(os.path.join(root, name))
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


__all__ = ["FileRuleError", "describe", "expand", "normalize_rules", "parse_mode", "plan_one", "wanted_mode"]
