"""The two cases of the re-encryption client that a real apiserver cannot be made to produce on demand.

Everything else (pagination, real 409 conflicts counted from the audit log, check mode, 401/403/refused/TLS,
the new key in etcd) runs against a real kube-apiserver in test_secrets_reencrypt_real.py. A `continue` token
expires (410 Gone) only after etcd compacts past the list's revision, which cannot be timed between two page
requests of one module run, and a deletion cannot be timed between the list and the replace of one object; so
the restart of the listing and the "gone" count are tested against FakeSecretsAPI
(tests/integration/fake_secrets_api.py), a small FAKE of the Secrets/ConfigMaps list/replace API, with the real
kubernetes client and the module as Ansible runs it.
"""
import json
import os
import subprocess
import sys

import pytest

from fake_secrets_api import FakeSecretsAPI

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")


def run_module(name, args, tmp_path, check_mode=False):
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_tmpdir=str(tmp_path),
                   _ansible_remote_tmp=str(tmp_path))
    args_file = tmp_path / ("%s-args.json" % name)
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
    proc = subprocess.run(
        [sys.executable, "-m", "ansible_collections.k8s_hardening.kubeadm.plugins.modules.%s" % name, str(args_file)],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=COLLECTIONS), cwd=str(tmp_path), check=False)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module printed no JSON: %s %s" % (proc.stdout, proc.stderr))


@pytest.fixture
def api():
    with FakeSecretsAPI() as fake:
        for ns in ("default", "kube-system", "team-a"):
            for i in range(7):
                fake.store.add("secrets", ns, "s%02d" % i, {"k": "dmFsdWU="})
        fake.store.add("configmaps", "default", "cm1", {"a": "b"})
        yield fake


def test_expired_continue_token_restarts_listing(api, tmp_path):
    kubeconfig = api.kubeconfig(tmp_path / "admin.conf")
    api.store.writer = "aescbc:key9"
    api.store.expire_token_once = True
    rc, res = run_module("secrets_reencrypt", {"kubeconfig": kubeconfig, "page_size": 5,
                                               "resources": ["secrets", "configmaps"]}, tmp_path)
    assert rc == 0, res
    assert res["counts"]["secrets"]["replaced"] == 21       # each once, none twice
    assert api.store.puts == 22
    assert set(api.store.stored_with.values()) == {"aescbc:key9"}


def test_object_deleted_between_list_and_replace_is_counted_gone(api, tmp_path):
    """A deletion exactly between the list and the replace cannot be timed against a real apiserver either."""
    kubeconfig = api.kubeconfig(tmp_path / "admin.conf")
    api.store.writer = "secretbox:key2"
    api.store.delete_before_put = {"s06"}          # the first s06 listed is deleted just before its replace
    rc, res = run_module("secrets_reencrypt", {"kubeconfig": kubeconfig, "page_size": 4}, tmp_path)
    assert rc == 0, res
    counts = res["counts"]["secrets"]
    assert counts["listed"] == 21 and counts["gone"] == 1 and counts["replaced"] == 20
    remaining = {k: v for k, v in api.store.stored_with.items() if k[0] == "secrets" and k in api.store.objects}
    assert len(remaining) == 20 and set(remaining.values()) == {"secretbox:key2"}
