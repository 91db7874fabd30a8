# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0
#
# PRIVATE to the k8s_hardening.kubeadm collection: no stability promise.
# The encryption key rotation as a pure, resumable stage machine. It follows
# the upstream procedure (encrypt-data.md, "Rotate a decryption key"):
#   add      the new key (or provider, or identity) second: every apiserver can read it
#   promote  the new key first: every apiserver writes with it
#   reencrypt  every object is rewritten through the API (no config change)
#   prune    the old keys are removed (identity kept last when asked)
# A stage begins only when the previous one is complete on every
# control-plane node (configuration written and apiserver restarted). The
# state record (no key material) is written on every node *before* the
# configurations of a stage, so a run interrupted anywhere is resumed from
# what is on disk. Enabling encryption (from no configuration), changing the
# provider and turning encryption off are rotations too.
"""Stage machine for encryption key rotation: plan the next config and state, advance when complete."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._encryption import (
    KEYED_PROVIDERS,
    EncryptionConfigError,
    build_config,
    entry_label,
    fingerprint,
    generate_secret,
    next_key_name,
    single_group,
    validate_entries,
)

STAGES = ("add", "promote", "reencrypt", "prune")
STATE_VERSION = 1


class RotationError(Exception):
    """The nodes or the state are in a shape the machine cannot continue from safely."""


# ---------------------------------------------------------------- entries helpers

def _label_entries(entries):
    """Entries with key material removed (for the state record and comparisons)."""
    out = []
    for e in entries:
        e2 = {"type": e["type"]}
        if e["type"] in KEYED_PROVIDERS:
            e2["keys"] = [{"name": k["name"]} for k in e["keys"]]
        elif e["type"] == "kms":
            e2["config"] = copy.deepcopy(e.get("config") or {})
        out.append(e2)
    return out


def labels(entries):
    return [entry_label(e) for e in entries]


def _find(entries, new):
    """Index of the entry that holds ``new`` (by type, and kms name), or None."""
    for i, e in enumerate(entries):
        if e["type"] != new["type"]:
            continue
        if e["type"] == "kms" and (e.get("config") or {}).get("name") != (new.get("config") or {}).get("name"):
            continue
        return i
    return None


def _base(entries):
    return copy.deepcopy(entries) if entries else [{"type": "identity"}]


def stage_add(entries, new):
    """The new writer added second (readable everywhere, used by nobody yet)."""
    out = _base(entries)
    i = _find(out, new)
    if new["type"] in KEYED_PROVIDERS:
        key = new["keys"][0]
        if i is None:
            out.insert(1, {"type": new["type"], "keys": [copy.deepcopy(key)]})
        elif key["name"] not in [k["name"] for k in out[i]["keys"]]:
            out[i]["keys"].insert(1 if i == 0 else 0, copy.deepcopy(key))
    elif i is None:
        out.insert(1, copy.deepcopy(new))
    return out


def stage_promote(entries, new):
    """The new writer moved first."""
    out = copy.deepcopy(entries)
    i = _find(out, new)
    if i is None:
        raise RotationError("the new %s is missing from the configuration to promote" % entry_label(new))
    entry = out.pop(i)
    if new["type"] in KEYED_PROVIDERS:
        name = new["keys"][0]["name"]
        keys = entry["keys"]
        entry["keys"] = [k for k in keys if k["name"] == name] + [k for k in keys if k["name"] != name]
    out.insert(0, entry)
    return out


def stage_prune(entries, new, keep_identity):
    """Only the new writer (and identity last, when kept as a read fallback)."""
    out = copy.deepcopy(entries)
    i = _find(out, new)
    if i is None:
        raise RotationError("the new %s is missing from the configuration to prune" % entry_label(new))
    entry = out[i]
    if new["type"] in KEYED_PROVIDERS:
        name = new["keys"][0]["name"]
        entry = {"type": entry["type"], "keys": [k for k in entry["keys"] if k["name"] == name]}
    result = [entry]
    if keep_identity and new["type"] != "identity":
        result.append({"type": "identity"})
    return result


def stage_entries(stage, before, new, keep_identity):
    """Entries for ``stage`` given the entries of the stage before it."""
    if stage == "add":
        return stage_add(before, new)
    if stage == "promote":
        return stage_promote(before, new)
    if stage == "reencrypt":
        return copy.deepcopy(before)
    if stage == "prune":
        return stage_prune(before, new, keep_identity)
    raise RotationError("unknown stage %r" % stage)


def chain(start, new, keep_identity):
    """{stage: entries} for every stage, from the entries before the rotation."""
    out, cur = {}, start
    for stage in STAGES:
        cur = stage_entries(stage, cur, new, keep_identity)
        out[stage] = cur
    return out


# ---------------------------------------------------------------- state records

def state_rank(state):
    """Order of progress: (stage index, complete). None is before everything."""
    if not state:
        return (-1, True)
    return (STAGES.index(state["stage"]), bool(state.get("complete")))


def latest_state(states):
    """The most advanced state record among the nodes' records (None when there is none)."""
    best = None
    for state in states:
        if state and state.get("stage") in STAGES and state_rank(state) > state_rank(best):
            best = state
    return best


def is_idle(state):
    return state is None or (state.get("stage") == "prune" and state.get("complete"))


def _record(stage, complete, start_labels_entries, new, keep_identity, resources, rotation):
    return {
        "version": STATE_VERSION,
        "stage": stage,
        "complete": complete,
        "from": labels(start_labels_entries) if start_labels_entries is not None else None,
        "from_entries": _label_entries(start_labels_entries) if start_labels_entries is not None else None,
        "new": entry_label(new),
        "new_entry": _label_entries([new])[0],
        "keep_identity": keep_identity,
        "resources": list(resources),
        "rotation": rotation,
    }


# ---------------------------------------------------------------- node reading

def node_entries(node_docs):
    """{node: (resources, entries) or None}; raises RotationError naming the node on a bad file."""
    out = {}
    for node in sorted(node_docs):
        doc = node_docs[node]
        if doc is None:
            out[node] = None
            continue
        try:
            out[node] = single_group(doc, "%s: encryption config" % node)
        except EncryptionConfigError as exc:
            raise RotationError(str(exc))
    return out


def check_key_material(nodes):
    """Every key name must carry the same key on every node; raises RotationError naming the nodes."""
    seen = {}
    for node, value in sorted(nodes.items()):
        if value is None:
            continue
        for e in value[1]:
            for k in e.get("keys") or []:
                ident = "%s:%s" % (e["type"], k["name"])
                if ident in seen and seen[ident][1] != k["secret"]:
                    raise RotationError(
                        "key %s differs between %s and %s: the encryption configs disagree; nothing was "
                        "changed. Decide which file is right (the one the running apiservers use) and copy it "
                        "to the other nodes" % (ident, seen[ident][0], node))
                seen.setdefault(ident, (node, k["secret"]))


def _groups_by_labels(nodes):
    """{labels tuple or None: [nodes]}"""
    out = {}
    for node, value in sorted(nodes.items()):
        key = None if value is None else (tuple(value[0]), tuple(labels(value[1])))
        out.setdefault(key, []).append(node)
    return out


# ---------------------------------------------------------------- target

def new_writer(target, current_entries, new_secret=None):
    """The entry that should encrypt new writes, reusing what is on the nodes when it already fits."""
    provider = target["provider"] if target.get("enabled", True) else "identity"
    if provider == "identity":
        return {"type": "identity"}
    if provider == "kms":
        return {"type": "kms", "config": copy.deepcopy(target.get("kms") or {})}
    user_key = target.get("key")
    if user_key:
        return {"type": provider, "keys": [{"name": user_key["name"], "secret": user_key["secret"]}]}
    used = [k["name"] for e in (current_entries or []) for k in e.get("keys") or []]
    secret = new_secret if new_secret is not None else generate_secret(provider)
    return {"type": provider, "keys": [{"name": next_key_name(used), "secret": secret}]}


def at_target(resources, entries, target):
    """True when the config already is what the target asks (no rotation needed)."""
    enabled = target.get("enabled", True)
    if entries is None:
        return not enabled
    if list(resources) != list(target["resources"]):
        return False
    first = entries[0]
    if not enabled:
        return [e["type"] for e in entries] == ["identity"]
    if first["type"] != target["provider"]:
        return False
    if first["type"] == "kms":
        return first.get("config") == target.get("kms") and entries == stage_prune(
            entries, first, target.get("keep_identity", True))
    user_key = target.get("key")
    if user_key and (first["keys"][0]["name"] != user_key["name"] or first["keys"][0]["secret"] != user_key["secret"]):
        return False
    return entries == stage_prune(entries, {"type": first["type"], "keys": [first["keys"][0]]},
                                  target.get("keep_identity", True))


def _check_resources(current_resources, current_entries, target):
    if current_entries is None or list(current_resources) == list(target["resources"]):
        return
    if current_entries[0]["type"] == "identity":
        return
    raise RotationError(
        "encryption_resources changes from %s to %s while %s encrypts them: a node reading with the other list "
        "could not read the data. Turn encryption off first (encryption_enabled: false, a rotation that decrypts), "
        "then enable it with the new resources"
        % (list(current_resources), list(target["resources"]), entry_label(current_entries[0])))


# ---------------------------------------------------------------- plan / advance

def plan(node_docs, states, target, rotate=False, new_secret=None, kubernetes_minor=None):
    """What to do next.

    node_docs: {node: parsed EncryptionConfiguration or None} for every control-plane node.
    states: the state records read on the nodes (any order, None for none).
    target: {enabled, provider, resources, keep_identity, key: {name, secret} (optional), kms: {...} (optional)}.
    rotate: start a new rotation even when the config already matches the target (new key).
    new_secret: key material to use if a new key must be made (else generated here).

    Returns {stage, action: none|write|reencrypt, config: document for every node (None: no file),
             state: the record to write on every node before the config (None: leave as is),
             current_state, resume: bool, summary: labels}.
    """
    nodes = node_entries(node_docs)
    check_key_material(nodes)
    state = latest_state(states)
    by_labels = _groups_by_labels(nodes)
    present = {k: v for k, v in by_labels.items() if k is not None}

    if is_idle(state):
        if len(present) > 1:
            raise RotationError(
                "the encryption configs disagree between nodes (%s) and no rotation is in progress; nothing was "
                "changed. Make them identical (copy the file the running apiservers use) and run again"
                % "; ".join("%s: %s" % (",".join(ns), " > ".join(k[1])) for k, ns in sorted(present.items())))
        current = None
        for value in nodes.values():
            if value is not None:
                current = value
        if current is not None:
            # identical labels but different content (same names, same keys checked above) -> the kms config
            fps = {fingerprint(build_config(*v)) for v in nodes.values() if v is not None}
            if len(fps) > 1:
                raise RotationError("the encryption configs disagree between nodes (%s); nothing was changed"
                                    % ", ".join(sorted(n for n, v in nodes.items() if v is not None)))
        cur_res, cur_entries = current if current is not None else (list(target["resources"]), None)
        _check_resources(cur_res, cur_entries, target)
        if at_target(cur_res, cur_entries, target) and not (rotate and target.get("enabled", True)):
            config = build_config(cur_res, cur_entries) if cur_entries is not None else None
            return {"stage": "idle", "action": "none", "config": config, "state": None, "current_state": state,
                    "resume": False, "summary": labels(cur_entries or [])}
        if (cur_entries and not rotate and not target.get("key") and target.get("enabled", True)
                and cur_entries[0]["type"] == target["provider"] and cur_entries[0]["type"] in KEYED_PROVIDERS):
            # The key already on the nodes is kept: only the shape changes (old keys, identity).
            new = {"type": cur_entries[0]["type"], "keys": [copy.deepcopy(cur_entries[0]["keys"][0])]}
        else:
            new = new_writer(target, cur_entries, new_secret)
        if new["type"] in KEYED_PROVIDERS and cur_entries:
            for e in cur_entries:
                for k in e.get("keys") or []:
                    if k["name"] == new["keys"][0]["name"] and k["secret"] != new["keys"][0]["secret"]:
                        raise RotationError(
                            "encryption_keys: key name %r is already used on the nodes with another key; give "
                            "the new key a new name" % k["name"])
        entries = _check_new(stage_add(cur_entries, new), target, kubernetes_minor)
        record = _record("add", False, cur_entries, new, target.get("keep_identity", True), target["resources"],
                         (state or {}).get("rotation", 0) + 1 if state else 1)
        return {"stage": "add", "action": "write", "config": build_config(target["resources"], entries),
                "state": record, "current_state": state, "resume": False, "summary": labels(entries)}

    # a rotation is under way
    stage, complete = state["stage"], bool(state.get("complete"))
    new_label = state["new_entry"]
    start = state.get("from_entries")
    keep_identity = state.get("keep_identity", True)
    label_chain = chain(start, new_label, keep_identity)
    if complete:
        stage_now = STAGES[STAGES.index(stage) + 1]
        prev_stage = stage
    else:
        stage_now = stage
        prev_stage = STAGES[STAGES.index(stage) - 1] if STAGES.index(stage) > 0 else None
    expected_now = labels(label_chain[stage_now])
    expected_prev = labels(label_chain[prev_stage]) if prev_stage else (labels(start) if start is not None else None)
    resources = state["resources"]

    good_now, good_prev, bad = [], [], []
    for node, value in sorted(nodes.items()):
        got = None if value is None else labels(value[1])
        if got is not None and got == expected_now and list(value[0]) == list(resources):
            good_now.append(node)
        elif got == expected_prev:
            good_prev.append(node)
        else:
            bad.append("%s has %s" % (node, " > ".join(got) if got else "no config"))
    if bad:
        raise RotationError(
            "rotation stage %s: nodes do not hold the expected configuration (%s, or %s before it): %s. Nothing "
            "was changed; restore the files from the backups or finish by hand"
            % (stage_now, " > ".join(expected_now), " > ".join(expected_prev or ["no config"]), "; ".join(bad)))
    if good_now:
        res, entries = nodes[good_now[0]]
    else:
        source = nodes[good_prev[0]] if good_prev else None
        prev_entries = source[1] if source else None
        new = _material(new_label, prev_entries, new_secret, target.get("key"))
        entries = stage_entries(stage_now, prev_entries, new, keep_identity)
        entries = _check_new(entries, target, kubernetes_minor)
    config = build_config(resources, entries)
    record = None
    if complete:
        record = dict(state, stage=stage_now, complete=False)
    action = "reencrypt" if stage_now == "reencrypt" else "write"
    return {"stage": stage_now, "action": action, "config": config, "state": record, "current_state": state,
            "resume": not complete, "summary": labels(entries)}


def _material(new_label, prev_entries, new_secret, user_key=None):
    """The new writer with its key material: from the nodes when a node has it, else fresh."""
    if new_label["type"] not in KEYED_PROVIDERS:
        return copy.deepcopy(new_label)
    name = new_label["keys"][0]["name"]
    for e in prev_entries or []:
        if e["type"] == new_label["type"]:
            for k in e.get("keys") or []:
                if k["name"] == name:
                    return {"type": e["type"], "keys": [copy.deepcopy(k)]}
    # No node holds it yet: only possible while adding it, when nobody can have used it.
    if user_key and user_key.get("name") == name:
        return {"type": new_label["type"], "keys": [{"name": name, "secret": user_key["secret"]}]}
    secret = new_secret if new_secret is not None else generate_secret(new_label["type"])
    return {"type": new_label["type"], "keys": [{"name": name, "secret": secret}]}


def _check_new(entries, target, kubernetes_minor):
    try:
        validate_entries(target["resources"], entries, "encryption config", kubernetes_minor,
                         target.get("kms_v1_gate"))
    except EncryptionConfigError as exc:
        raise RotationError(str(exc))
    return entries


def advance(node_docs, states):
    """The state record after the stage under way is complete on every node; raises RotationError if not."""
    state = latest_state(states)
    if is_idle(state):
        return None
    if state.get("complete"):
        return None
    nodes = node_entries(node_docs)
    check_key_material(nodes)
    expected = labels(chain(state.get("from_entries"), state["new_entry"], state.get("keep_identity", True))
                      [state["stage"]])
    behind = [n for n, v in sorted(nodes.items()) if v is None or labels(v[1]) != expected]
    if behind:
        raise RotationError("stage %s is not complete: %s do not hold %s yet; run the rotation again"
                            % (state["stage"], ", ".join(behind), " > ".join(expected)))
    return dict(state, complete=True)


__all__ = [
    "STAGES", "RotationError", "stage_add", "stage_promote", "stage_prune", "stage_entries", "chain",
    "labels", "latest_state", "is_idle", "node_entries", "check_key_material", "new_writer", "at_target",
    "plan", "advance",
]
