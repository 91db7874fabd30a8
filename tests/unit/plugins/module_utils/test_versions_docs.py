"""docs/versions.md is generated from the version table (docs/gen_versions.py) and is never stale."""
import os
import subprocess
import sys

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils import _versions as v

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def test_docs_versions_md_is_generated_from_the_table():
    with open(os.path.join(ROOT, "docs", "versions.md")) as handle:
        assert handle.read() == v.render_markdown(), "docs/versions.md is stale: python docs/gen_versions.py"
    # the script finds the collection where this test found it (.cache/collections, or ansible-test's copy)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "gen_versions.py"), "--check"],
                          capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, proc.stderr


def test_every_row_is_in_the_doc_with_its_source():
    text = v.render_markdown()
    for row in v.ROWS:
        assert row["source"] in text, row["name"]
        assert (row["name"] in text) or all(m in text for m in row["members"] or []), row["name"]
    assert "| report | `cis_benchmark` | cis-1.10 | cis-1.11 | cis-1.11 | cis-1.11 | cis-1.12 |" in text
