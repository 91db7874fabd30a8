# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# Pure logic behind encryption at rest: the EncryptionConfiguration
# (apiserver.config.k8s.io/v1) as data, its validation, a redacted summary for
# diffs and logs (key names and positions, never key material), key
# generation, and the classification of raw etcd values by their
# k8s:enc:<provider>:v1:<key>: prefix.
"""EncryptionConfiguration as data: build, parse, validate, summarise, classify."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import hashlib
import json
import os
import re
import secrets

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import yaml

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"

# Providers this collection writes itself (with keys it manages).
KEYED_PROVIDERS = ("secretbox", "aescbc", "aesgcm")
# Every provider name the apiserver knows; kms is passed through as configuration.
PROVIDERS = KEYED_PROVIDERS + ("kms", "identity")
# Lengths in bytes of the decoded key.
KEY_LENGTHS = {"secretbox": (32,), "aescbc": (16, 24, 32), "aesgcm": (16, 24, 32)}
# Which Kubernetes takes which kms apiVersion: the version table (_versions.py, feature gate KMSv1).
KMS_V1_GATE_VARIABLE = "encryption_kms_v1_feature_gate"
KEY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
ENC_PREFIX_RE = re.compile(rb"^k8s:enc:([a-z0-9]+):(v[0-9]+):([^:]*):")
REDACTED = "<redacted>"


class EncryptionConfigError(Exception):
    """The configuration or a key is invalid; the message names the variable and the fix."""


# ---------------------------------------------------------------- keys

def generate_secret(provider="secretbox", length=32):
    """A fresh key, base64, from the operating system's CSPRNG (secrets.token_bytes)."""
    if provider in ("aescbc", "aesgcm") and length not in KEY_LENGTHS[provider]:
        raise EncryptionConfigError("key length %d is not valid for %s" % (length, provider))
    if provider == "secretbox":
        length = 32
    return base64.b64encode(secrets.token_bytes(length)).decode("ascii")


def decode_secret(secret, where):
    """Strict base64 decode; raises EncryptionConfigError naming ``where``."""
    if not isinstance(secret, str) or not secret:
        raise EncryptionConfigError("%s: the key secret is empty; give base64 of random bytes "
                                    "(head -c 32 /dev/urandom | base64)" % where)
    try:
        return base64.b64decode(secret.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise EncryptionConfigError("%s: the key secret is not valid base64 "
                                    "(head -c 32 /dev/urandom | base64 makes one)" % where)


def next_key_name(used_names, prefix="key"):
    """keyN with N one above the highest keyN in ``used_names`` (key1 when none)."""
    highest = 0
    for name in used_names:
        match = re.match(r"^%s(\d+)$" % re.escape(prefix), name or "")
        if match:
            highest = max(highest, int(match.group(1)))
    return "%s%d" % (prefix, highest + 1)


# ---------------------------------------------------------------- providers model
# A provider entry in our model: {"type": "secretbox", "keys": [{"name": .., "secret": ..}]}
# or {"type": "identity"} or {"type": "kms", "config": {...}} (passed through).


def entry_from_doc(item, where):
    """One element of providers: [...] in the file -> our entry."""
    if not isinstance(item, dict) or len(item) != 1:
        raise EncryptionConfigError("%s: each provider must be a mapping with exactly one provider name" % where)
    ptype, body = next(iter(item.items()))
    if ptype not in PROVIDERS:
        raise EncryptionConfigError("%s: unknown provider %r; use one of %s" % (where, ptype, ", ".join(PROVIDERS)))
    if ptype == "identity":
        return {"type": "identity"}
    if body is not None and not isinstance(body, dict):
        raise EncryptionConfigError("%s: %s must be a mapping" % (where, ptype))
    if ptype == "kms":
        return {"type": "kms", "config": copy.deepcopy(body or {})}
    keys = []
    found = (body or {}).get("keys") or []
    if not isinstance(found, list) or not all(isinstance(key, dict) for key in found):
        raise EncryptionConfigError("%s: %s keys must be a list of {name, secret}" % (where, ptype))
    for key in found:
        keys.append({"name": key.get("name"), "secret": key.get("secret")})
    return {"type": ptype, "keys": keys}


def entry_to_doc(entry):
    """Our entry -> one element of providers: [...] as the apiserver reads it."""
    if entry["type"] == "identity":
        return {"identity": {}}
    if entry["type"] == "kms":
        return {"kms": copy.deepcopy(entry.get("config") or {})}
    return {entry["type"]: {"keys": [{"name": k["name"], "secret": k["secret"]} for k in entry["keys"]]}}


def build_config(resources, providers):
    """The EncryptionConfiguration document for one resource group."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "resources": [{
            "resources": list(resources),
            "providers": [entry_to_doc(e) for e in providers],
        }],
    }


def parse_config(text, where="encryption config"):
    """YAML/JSON text -> document; raises EncryptionConfigError when it is not an EncryptionConfiguration."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # PyYAML's message quotes the offending line, which may hold a key: line, column and problem only
        mark = getattr(exc, "problem_mark", None)
        at = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        raise EncryptionConfigError("%s: not valid YAML%s: %s" % (where, at, getattr(exc, "problem", None)
                                                                  or type(exc).__name__))
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise EncryptionConfigError("%s: not an %s" % (where, KIND))
    if doc.get("apiVersion") not in (API_VERSION, "apiserver.config.k8s.io/v1beta1"):
        raise EncryptionConfigError("%s: apiVersion %r is not %s" % (where, doc.get("apiVersion"), API_VERSION))
    if not isinstance(doc.get("resources"), list) or not doc["resources"]:
        raise EncryptionConfigError("%s: resources is empty" % where)
    return doc


def groups(doc, where="encryption config"):
    """[(resources, [entries])] for every resource group of a parsed document."""
    out = []
    for gi, group in enumerate(doc.get("resources") or []):
        gwhere = "%s resources[%d]" % (where, gi)
        if not isinstance(group, dict):
            raise EncryptionConfigError("%s: must be a mapping" % gwhere)
        entries = [entry_from_doc(p, "%s providers[%d]" % (gwhere, pi))
                   for pi, p in enumerate(group.get("providers") or [])]
        out.append((list(group.get("resources") or []), entries))
    return out


def single_group(doc, where="encryption config"):
    """(resources, entries) of a document with exactly one resource group (what this collection manages)."""
    found = groups(doc, where)
    if len(found) != 1:
        raise EncryptionConfigError(
            "%s: has %d resource groups; this collection manages exactly one (resources sharing one provider "
            "list). Merge them by hand or move the file away" % (where, len(found)))
    return found[0]


# ---------------------------------------------------------------- validation

def kms_v1_problem(config, kubernetes_minor, kms_v1_gate=None, where="kms"):
    """A sentence when a kms provider with apiVersion v1 (the default when absent) would stop the
    apiserver at ``kubernetes_minor``: the KMSv1 gate is off by default from 1.29 (version table).
    ``kms_v1_gate``: the KMSv1 value the apiserver gets (None: the version's default)."""
    if not kubernetes_minor or str((config or {}).get("apiVersion") or "v1") != "v1":
        return None
    enabled = _versions.gate_default("KMSv1", kubernetes_minor) if kms_v1_gate is None else bool(kms_v1_gate)
    if enabled:
        return None
    return ("%s: kms apiVersion v1 stops kube-apiserver 1.%d (the KMSv1 feature gate is off by default from 1.29); "
            "use apiVersion: v2 (encryption_kms.apiVersion), or set %s: true, which adds --feature-gates=KMSv1=true"
            % (where, int(kubernetes_minor), KMS_V1_GATE_VARIABLE))


def validate_entries(resources, entries, varname, kubernetes_minor=None, kms_v1_gate=None):
    """Raise EncryptionConfigError with every problem found, naming ``varname``."""
    problems = []
    if not resources:
        problems.append("%s: resources must not be empty (use [secrets])" % varname)
    for res in resources:
        if not isinstance(res, str) or not res:
            problems.append("%s: resource %r is not a resource name such as secrets" % (varname, res))
    if not entries:
        problems.append("%s: at least one provider is needed" % varname)
    names = {}
    seen_types = []
    for pi, entry in enumerate(entries):
        ptype = entry.get("type")
        where = "%s provider %d (%s)" % (varname, pi, ptype)
        if ptype not in PROVIDERS:
            problems.append("%s: unknown provider; use one of %s" % (where, ", ".join(PROVIDERS)))
            continue
        if ptype in seen_types and ptype != "kms":
            problems.append("%s: provider %s is listed twice; put all its keys in one entry" % (where, ptype))
        seen_types.append(ptype)
        if ptype == "kms":
            problem = kms_v1_problem(entry.get("config"), kubernetes_minor, kms_v1_gate, where)
            if problem:
                problems.append(problem)
            if not (entry.get("config") or {}).get("name"):
                problems.append("%s: kms needs a name" % where)
            continue
        if ptype == "identity":
            continue
        if not entry.get("keys"):
            problems.append("%s: needs at least one key" % where)
        for ki, key in enumerate(entry.get("keys") or []):
            kwhere = "%s key %d (%s)" % (where, ki, key.get("name"))
            name = key.get("name")
            if not isinstance(name, str) or not KEY_NAME_RE.match(name):
                problems.append("%s: key name %r must be letters, digits, '.', '_' or '-'" % (kwhere, name))
            elif name in names:
                problems.append("%s: key name %r is used twice (also in %s); key names must be unique"
                                % (kwhere, name, names[name]))
            else:
                names[name] = where
            try:
                raw = decode_secret(key.get("secret"), kwhere)
            except EncryptionConfigError as exc:
                problems.append(str(exc))
                continue
            if len(raw) not in KEY_LENGTHS[ptype]:
                problems.append("%s: the key is %d bytes; %s needs %s bytes (head -c 32 /dev/urandom | base64)"
                                % (kwhere, len(raw), ptype, " or ".join(str(n) for n in KEY_LENGTHS[ptype])))
    if problems:
        raise EncryptionConfigError("; ".join(problems))


def validate_doc(doc, varname, kubernetes_minor=None, kms_v1_gate=None):
    for resources, entries in groups(doc, varname):
        validate_entries(resources, entries, varname, kubernetes_minor, kms_v1_gate)


# ---------------------------------------------------------------- redacted views

def entry_label(entry):
    """'secretbox:key2,key1', 'identity', 'kms:name' -- names and order only."""
    if entry["type"] == "identity":
        return "identity"
    if entry["type"] == "kms":
        return "kms:%s" % (entry.get("config") or {}).get("name", "?")
    return "%s:%s" % (entry["type"], ",".join(k["name"] for k in entry.get("keys") or []))


def summarize(doc):
    """Redacted structure: [{resources, providers: ['secretbox:key1', 'identity']}] or None."""
    if doc is None:
        return None
    return [{"resources": res, "providers": [entry_label(e) for e in entries]} for res, entries in groups(doc)]


def summary_text(doc):
    """A few lines for a diff: resource groups and providers with key names in order, no key material."""
    summary = summarize(doc)
    if summary is None:
        return "(no encryption configuration)\n"
    lines = []
    for group in summary:
        lines.append("resources: %s" % ", ".join(group["resources"]))
        for pos, label in enumerate(group["providers"]):
            lines.append("  %d. %s%s" % (pos + 1, label, "   <- encrypts new writes" if pos == 0 else ""))
    return "\n".join(lines) + "\n"


def key_fingerprint(secret):
    """A short, non-reversible tag for a key (sha256 of the decoded bytes, 12 hex digits)."""
    try:
        raw = base64.b64decode(secret.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, AttributeError, UnicodeEncodeError):
        raw = str(secret).encode("utf-8")
    return hashlib.sha256(b"k8s-hardening-enc-key:" + raw).hexdigest()[:12]


def canonical(doc):
    """Stable JSON of the semantic content (order of lists kept: it matters)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def fingerprint(doc):
    """sha256 of the canonical content; safe to show (one-way over high-entropy content)."""
    if doc is None:
        return None
    return hashlib.sha256(canonical(doc).encode("utf-8")).hexdigest()


def dump(doc):
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def writer(doc, where="encryption config"):
    """(provider, key name or None) that encrypts new writes; ('identity', None) when there is no config.
    A group without providers, or a first keyed provider without keys (the apiserver refuses both), raises
    EncryptionConfigError."""
    if doc is None:
        return ("identity", None)
    _res, entries = single_group(doc, where)
    if not entries:
        raise EncryptionConfigError("%s: the resource group has no providers (the apiserver refuses it); "
                                    "write a complete config or move the file away" % where)
    first = entries[0]
    if first["type"] in KEYED_PROVIDERS:
        if not first["keys"]:
            raise EncryptionConfigError("%s: the first provider (%s) has no keys (the apiserver refuses it); "
                                        "write a complete config or move the file away" % (where, first["type"]))
        return (first["type"], first["keys"][0]["name"])
    if first["type"] == "kms":
        return ("kms", (first.get("config") or {}).get("name"))
    return ("identity", None)


# ---------------------------------------------------------------- etcd values

def classify_value(value, current):
    """Classify one raw etcd value.

    ``current`` is (provider, key name) that encrypts new writes. Returns
    (status, provider, key) with status one of: current, old, plaintext.
    """
    match = ENC_PREFIX_RE.match(value or b"")
    if not match:
        return ("plaintext", "identity", None)
    provider = match.group(1).decode("ascii", "replace")
    key = match.group(3).decode("utf-8", "replace")
    status = "current" if (provider, key) == tuple(current) else "old"
    return (status, provider, key)


def census(values, current):
    """Count classified values: {total, current, old, plaintext, by_key: {'aescbc:key1': n, ...}}."""
    result = {"total": 0, "current": 0, "old": 0, "plaintext": 0, "by_key": {}}
    for value in values:
        status, provider, key = classify_value(value, current)
        result["total"] += 1
        result[status] += 1
        label = "identity" if status == "plaintext" else "%s:%s" % (provider, key)
        result["by_key"][label] = result["by_key"].get(label, 0) + 1
    result["by_key"] = dict(sorted(result["by_key"].items()))
    return result


def prefix_range_end(prefix):
    """etcd's range end for a prefix: the prefix with its last byte incremented."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[:i + 1])
    return b"\x00"


def range_pages(fetch, prefix, page_size):
    """Walk an etcd v3 range over ``prefix`` page by page.

    fetch(request_dict) -> response_dict speaks the gRPC-gateway JSON of
    /v3/kv/range (keys and values base64). Yields lists of (key bytes, value bytes).
    """
    start = prefix
    end = prefix_range_end(prefix)
    while True:
        resp = fetch({"key": base64.b64encode(start).decode("ascii"),
                      "range_end": base64.b64encode(end).decode("ascii"),
                      "limit": int(page_size)})
        kvs = [(base64.b64decode(kv.get("key", "")), base64.b64decode(kv.get("value", "")))
               for kv in resp.get("kvs") or []]
        yield kvs
        if not resp.get("more") or not kvs:
            return
        start = kvs[-1][0] + b"\x00"


# ---------------------------------------------------------------- files on the node

def read_config_file(path):
    """The parsed config at ``path`` (None when there is none). Raises EncryptionConfigError, OSError,
    UnicodeDecodeError."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        return parse_config(fh.read().decode("utf-8"), path)


def read_state_file(path):
    """The rotation state record at ``path`` (None when there is none)."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        try:
            return json.loads(fh.read().decode("utf-8"))
        except ValueError:
            raise EncryptionConfigError("%s is not JSON; move it away (it holds only the rotation stage)" % path)


def writer_label(doc, where="encryption config"):
    """``secretbox:key2``, ``kms:<name>`` or ``identity``: what encrypts new writes."""
    prov, key = writer(doc, where)
    return prov if key is None else "%s:%s" % (prov, key)


def describe_file(path, state_path):
    """What encryption_config_info returns: the config at ``path`` and the record at ``state_path``,
    without key material."""
    doc = read_config_file(path)
    return {"exists": doc is not None, "fingerprint": fingerprint(doc), "summary": summarize(doc) or [],
            "writer": writer_label(doc, path), "rotation_state": read_state_file(state_path)}


__all__ = [
    "API_VERSION", "KIND", "KEYED_PROVIDERS", "PROVIDERS", "KEY_LENGTHS", "KMS_V1_GATE_VARIABLE", "kms_v1_problem",
    "REDACTED", "EncryptionConfigError", "generate_secret", "decode_secret", "next_key_name",
    "entry_from_doc", "entry_to_doc", "build_config", "parse_config", "groups", "single_group",
    "validate_entries", "validate_doc", "entry_label", "summarize", "summary_text", "key_fingerprint",
    "canonical", "fingerprint", "dump", "writer", "classify_value", "census", "prefix_range_end", "range_pages",
    "read_config_file", "read_state_file", "writer_label", "describe_file",
]
