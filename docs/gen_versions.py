#!/usr/bin/env python
"""Write docs/versions.md from the version table: `python docs/gen_versions.py` (`--check` exits 1 if stale)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._versions import render_markdown  # noqa: E402

TARGET = os.path.join(ROOT, "docs", "versions.md")


def main(argv):
    text = render_markdown()
    if "--check" in argv:
        with open(TARGET) as handle:
            if handle.read() != text:
                sys.stderr.write("docs/versions.md is stale: run python docs/gen_versions.py\n")
                return 1
        return 0
    with open(TARGET, "w") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
