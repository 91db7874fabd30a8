#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: encryption_config
short_description: Manage the apiserver's EncryptionConfiguration and its key rotation stages, never showing key material
version_added: 0.1.0
description:
  - Manages an C(apiserver.config.k8s.io/v1) EncryptionConfiguration as data. Before anything is written it validates
    base64 keys and their length (16, 24 or 32 bytes for aescbc/aesgcm, 32 for secretbox), unique key names, and
    providers the Kubernetes version supports.
  - The file is written only when its content differs semantically, atomically, C(0600 root:root), in a C(0700)
    directory, with a C(0600) backup of the previous file in I(backup_dir).
  - M(k8s_hardening.kubeadm.encryption_config_info) reads the file and the rotation state record next to it and
    returns a redacted summary and a fingerprint, so nodes can be compared without moving key material.
  - C(state=plan), C(state=present) with I(nodes) and C(state=advance) run the rotation stage machine
    (add the new key second, promote it first, re-encrypt, prune the old keys) over the configs of every
    control-plane node (I(nodes)) and their state records (I(states)). C(plan) only says what comes next;
    C(present) also writes this node's config for that stage; C(advance) returns the record that marks the stage
    complete once every node holds it. A new key is generated on the node with C(secrets.token_bytes) when, and
    only when, no node holds one that fits the target. Nodes whose files disagree make it fail, naming them.
  - Results and diffs hold resources, providers and key names in their order, never a key. O(config) and
    O(nodes) are C(no_log) parameters and each O(keys[].secret) is, so no key reaches the node's log or the
    echoed C(invocation); every key they hold is masked in results and messages.
options:
  path:
    description: The EncryptionConfiguration file on this node.
    type: path
    default: /etc/kubernetes/enc/encryption-config.yaml
  state:
    description:
      - C(present) writes, C(plan) and C(advance) compute the rotation and write nothing.
      - To read a node's config, use M(k8s_hardening.kubeadm.encryption_config_info).
    type: str
    choices: [present, plan, advance]
    default: present
  config:
    description: A whole EncryptionConfiguration to write as is (C(state=present) without I(nodes)).
    type: dict
  nodes:
    description: Every control-plane node's config file text (C('') when it has none), by node name.
    type: dict
  states:
    description: The rotation state records read on the nodes (null for none).
    type: list
    elements: raw
    default: []
  enabled:
    description: Whether Secrets should be encrypted (false is a rotation to identity, then a re-encryption).
    type: bool
    default: true
  provider:
    description: Provider that should encrypt new writes.
    type: str
    choices: [secretbox, aescbc, aesgcm, kms, identity]
    default: secretbox
  resources:
    description: Resources to encrypt.
    type: list
    elements: str
    default: [secrets]
  keep_identity:
    description: Keep C(identity) last as a read fallback for data still in plain text.
    type: bool
    default: true
  keys:
    description: User-supplied keys (C(name), C(secret) base64); the first becomes the writer. Empty to generate one.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Key name (letters, digits, C(.), C(_), C(-)).
        type: str
        required: true
      secret:
        description: base64 of random bytes.
        type: str
        required: true
  kms:
    description: The kms provider configuration, passed through (C(apiVersion), C(name), C(endpoint), C(timeout)).
    type: dict
  rotate:
    description: Start a new rotation (a new key) even when the config already matches the target.
    type: bool
    default: false
  kubernetes_minor:
    description:
      - Kubernetes minor version, to check the providers against the version table (0 = unknown, no check). From
        1.29 a C(kms) provider with C(apiVersion) v1 (the default) is refused unless O(kms_v1_feature_gate).
    type: int
    default: 0
  kms_v1_feature_gate:
    description: The apiserver runs with C(--feature-gates=KMSv1=true), so a kms v1 provider works on 1.29+.
    type: bool
    default: false
  backup_dir:
    description: Directory (created C(0700)) for the backup of a replaced config. Empty to keep no backup.
    type: path
    default: /var/backups/k8s-hardening/encryption
  backup_keep:
    description:
      - How many backups of the config to keep in O(backup_dir); older ones are removed after a new one is
        written, so keys removed by a rotation do not stay on disk in old backups for ever. C(0) keeps all.
    type: int
    default: 10
attributes:
  diff_mode:
    support: full
    details: Redacted, key names and positions only.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
  - k8s_hardening.kubeadm.backup
"""

EXAMPLES = r"""
- name: Write this node's config for the stage under way
  k8s_hardening.kubeadm.encryption_config:
    state: present
    nodes: "{{ encryption__texts }}"      # slurped on every control-plane node
    states: "{{ encryption__states }}"
    provider: secretbox
    kubernetes_minor: 28
  no_log: true
  register: enc_write
"""

RETURN = r"""
exists:
  description: Whether the file existed.
  type: bool
  returned: always
fingerprint:
  description: sha256 of the canonical content (one-way; equal on nodes with identical configs).
  type: str
  returned: when there is a config
summary:
  description: Resource groups with providers and key names in order (C(secretbox:key2,key1), C(identity)).
  type: list
  returned: always
writer:
  description: The provider and key that encrypt new writes, C(secretbox:key2) or C(identity).
  type: str
  returned: always
stage:
  description: The rotation stage this config belongs to, C(add), C(promote), C(reencrypt), C(prune) or C(idle).
  type: str
  returned: state=plan, present with nodes, advance
action:
  description: C(write) (write the config and restart every apiserver), C(reencrypt) (rewrite every object), or C(none).
  type: str
  returned: state=plan, present with nodes
rotation_state:
  description:
    - With plan/present, the state record to write on every node before the config (null to leave it).
    - With advance, the record marking the stage complete (null when nothing is under way).
  type: dict
  returned: always except state=present with config
backup_file:
  description: Where the previous file was saved.
  type: str
  returned: when changed and a file existed
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import backup_copy, file_error, write_atomic
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._nolog import add_secrets, hide_params

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._encryption import (
    EncryptionConfigError,
    dump,
    fingerprint,
    parse_config,
    read_config_file,
    summarize,
    summary_text,
    validate_doc,
    validate_entries,
    writer_label,
)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._rotation import (
    RotationError,
    advance,
    plan,
)


def ensure_dir(path, mode):
    if not os.path.isdir(path):
        os.makedirs(path, mode)
    os.chmod(path, mode)


def backup(module, path):
    backup_dir = module.params["backup_dir"]
    if not backup_dir:
        return None, []
    return backup_copy(module, path, backup_dir, module.params["backup_keep"])


def write(module, path, text):
    directory = os.path.dirname(path)
    ensure_dir(directory, 0o700)
    write_atomic(module, path, text, mode=0o600, owner=(0, 0))


def protect(module, doc):
    """Mask every key of ``doc`` wherever it could appear in the result."""
    if not isinstance(doc, dict):
        return
    secrets = []
    for group in doc.get("resources") or []:
        for provider in (group or {}).get("providers") or [] if isinstance(group, dict) else []:
            for body in (provider or {}).values() if isinstance(provider, dict) else []:
                for key in (body or {}).get("keys") or [] if isinstance(body, dict) else []:
                    if isinstance(key, dict) and key.get("secret"):
                        secrets.append(str(key["secret"]))
    add_secrets(module, secrets)


def parse_nodes(nodes):
    """{node: text or ''} -> {node: document or None}; a bad file fails naming its node."""
    return {node: (parse_config(text, "%s: encryption config" % node) if text else None)
            for node, text in (nodes or {}).items()}


def target_of(params):
    keys = params["keys"] or []
    target = {"enabled": params["enabled"], "provider": params["provider"], "resources": params["resources"],
              "keep_identity": params["keep_identity"], "kms": params["kms"] or None,
              "kms_v1_gate": True if params["kms_v1_feature_gate"] else None,
              "key": dict(keys[0]) if keys else None}
    if params["enabled"] and params["provider"] != "identity":
        if params["provider"] == "kms":
            entries = [{"type": "kms", "config": params["kms"] or {}}]
        elif keys:
            entries = [{"type": params["provider"], "keys": [dict(k) for k in keys]}]
        else:
            entries = [{"type": "identity"}]   # a key will be generated
        validate_entries(params["resources"], entries,
                         "encryption_keys" if keys else "encryption_provider", params["kubernetes_minor"] or None,
                         target["kms_v1_gate"])
    elif not params["resources"]:
        raise EncryptionConfigError("encryption_resources must not be empty (use [secrets])")
    return target


def write_config(module, result, before, after):
    path = module.params["path"]
    result["fingerprint"] = fingerprint(after)
    if fingerprint(before) != fingerprint(after):
        result["changed"] = True
        result["diff"] = {"before_header": path, "after_header": path,
                          "before": summary_text(before), "after": summary_text(after)}
        if not module.check_mode:
            if before is not None:
                result["backup_file"], result["backups_removed"] = backup(module, path)
            write(module, path, dump(after))
    elif before is not None:
        st = os.stat(path)
        if (st.st_mode & 0o777) != 0o600 or st.st_uid != 0 or st.st_gid != 0:
            result["changed"] = True
            result["diff"] = {"before": "mode %o uid %d gid %d\n" % (st.st_mode & 0o777, st.st_uid, st.st_gid),
                              "after": "mode 600 uid 0 gid 0\n"}
            if not module.check_mode:
                os.chmod(path, 0o600)
                os.chown(path, 0, 0)


def run(module):
    params = module.params
    # config and nodes hold keys: out of the echoed parameters; only the keys stay masked in results
    hidden = hide_params(module, ["config", "nodes"])
    config, nodes = hidden["config"], hidden["nodes"]
    path = params["path"]
    result = dict(changed=False)
    protect(module, config)
    try:
        before = read_config_file(path)
        protect(module, before)
        result["exists"] = before is not None
        if params["state"] == "present" and config:
            after = dict(config)
            validate_doc(after, "config", params["kubernetes_minor"] or None,
                         True if params["kms_v1_feature_gate"] else None)
            after = parse_config(dump(after), "config")
            write_config(module, result, before, after)   # OSError: handled below
            result.update(summary=summarize(after), writer=writer_label(after))
            module.exit_json(**result)
        if nodes is None:
            module.fail_json(msg="state=%s needs nodes (every control-plane node's config text, '' for none), "
                                 "or config with state=present" % params["state"])
        target = target_of(params)
        docs = parse_nodes(nodes)
        for doc in docs.values():
            protect(module, doc)
        states = params["states"] or []
        if params["state"] == "advance":
            record = advance(docs, states)
            module.exit_json(changed=False, rotation_state=record, stage=(record or {}).get("stage", "idle"))
        step = plan(docs, states, target, rotate=params["rotate"], kubernetes_minor=params["kubernetes_minor"] or None)
    except (EncryptionConfigError, RotationError) as exc:
        module.fail_json(msg=str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=file_error(exc, path))
    after = step["config"]
    protect(module, after)
    result.update(stage=step["stage"], action=step["action"], rotation_state=step["state"], resume=step["resume"],
                  summary=summarize(after) or [], writer=writer_label(after),
                  current_state=step["current_state"])
    if params["state"] == "present" and after is not None:
        try:
            write_config(module, result, before, after)
        except OSError as exc:
            module.fail_json(msg=file_error(exc, path))
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/kubernetes/enc/encryption-config.yaml"),
            state=dict(type="str", choices=["present", "plan", "advance"], default="present"),
            config=dict(type="dict", no_log=True),
            nodes=dict(type="dict", no_log=True),
            states=dict(type="list", elements="raw", default=[]),
            enabled=dict(type="bool", default=True),
            provider=dict(type="str", default="secretbox", choices=["secretbox", "aescbc", "aesgcm", "kms", "identity"]),
            resources=dict(type="list", elements="str", default=["secrets"]),
            keep_identity=dict(type="bool", default=True),
            keys=dict(type="list", elements="dict", no_log=False, default=[],   # names shown; each secret no_log
                      options=dict(name=dict(type="str", required=True), secret=dict(type="str", required=True, no_log=True))),
            kms=dict(type="dict"),
            rotate=dict(type="bool", default=False),
            kubernetes_minor=dict(type="int", default=0),
            kms_v1_feature_gate=dict(type="bool", default=False),
            backup_dir=dict(type="path", default="/var/backups/k8s-hardening/encryption"),
            backup_keep=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    run(module)


if __name__ == "__main__":
    main()
