#!/usr/bin/env python
"""Write docs/controls.md from the CIS table: `python docs/gen_controls.py` (`--check` exits 1 if stale).
`write_or_check` serves every generated page of docs/ (docs/gen_versions.py too)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._report import render_controls_markdown  # noqa: E402


def write_or_check(name, text, argv):
    """Write docs/<name>, or with --check exit 1 when it differs from text."""
    target = os.path.join(ROOT, "docs", name)
    if "--check" in argv:
        with open(target) as handle:
            if handle.read() != text:
                sys.stderr.write("docs/%s is stale: run python docs/%s\n" % (name, os.path.basename(sys.argv[0])))
                return 1
        return 0
    with open(target, "w") as handle:
        handle.write(text)
    return 0


def main(argv):
    return write_or_check("controls.md", render_controls_markdown(), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
