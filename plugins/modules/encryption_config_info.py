#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: encryption_config_info
short_description: Read the apiserver's EncryptionConfiguration and its rotation state, without key material
version_added: 0.1.0
description:
  - Reads the EncryptionConfiguration of this node and the rotation state record next to it, and returns a redacted
    summary (resources, providers and key names in order) and a fingerprint, so nodes can be compared without moving
    key material. Never returns a key.
  - A file the apiserver would refuse (no providers, a keyed provider without keys, not UTF-8, not YAML) fails naming it.
  - M(k8s_hardening.kubeadm.encryption_config) writes the file.
options:
  path:
    description: The EncryptionConfiguration file on this node.
    type: path
    default: /etc/kubernetes/enc/encryption-config.yaml
  state_path:
    description: The rotation state record.
    type: path
    default: /etc/kubernetes/enc/rotation-state.json
attributes:
  diff_mode:
    support: none
    details: Read-only.
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Read the config of this node (no key material returned)
  k8s_hardening.kubeadm.encryption_config_info:
  register: enc_info
"""

RETURN = r"""
exists:
  description: Whether the file exists.
  type: bool
  returned: always
fingerprint:
  description: sha256 of the canonical content (one-way; equal on nodes with identical configs).
  type: str
  returned: when there is a config
summary:
  description: Resource groups with providers and key names in order (C(secretbox:key2,key1), C(identity)).
  type: list
  elements: dict
  returned: always
writer:
  description: The provider and key that encrypt new writes, C(secretbox:key2) or C(identity).
  type: str
  returned: always
rotation_state:
  description: The rotation state record on disk (null for none).
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._encryption import (
    EncryptionConfigError,
    describe_file,
)
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/kubernetes/enc/encryption-config.yaml"),
            state_path=dict(type="path", default="/etc/kubernetes/enc/rotation-state.json"),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    path = module.params["path"]
    try:
        result = describe_file(path, module.params["state_path"])
    except EncryptionConfigError as exc:
        module.fail_json(msg=str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=file_error(exc, path))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
