#!/usr/bin/env python
"""Write docs/versions.md from the version table: `python docs/gen_versions.py` (`--check` exits 1 if stale)."""
import sys

from gen_controls import write_or_check  # docs/ is on sys.path when this runs as a script

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._versions import render_markdown  # noqa: E402


def main(argv):
    return write_or_check("versions.md", render_markdown(), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
