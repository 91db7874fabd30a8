"""The re-encryption client (secrets_reencrypt module, _reencrypt.py) with the REAL kubernetes Python client.

There is no kube-apiserver on this host or in the lab, so the client talks to
FakeSecretsAPI (tests/integration/fake_secrets_api.py), a small FAKE of the
Secrets/ConfigMaps list/read/replace API with resourceVersion, `continue`
pagination, 409 conflicts and 410 expired tokens. The kubeconfig, the client and
the module are the ones used against a real apiserver.
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


def test_every_secret_rewritten_across_pages_with_conflicts_and_deletions(api, tmp_path):
    kubeconfig = api.kubeconfig(tmp_path / "admin.conf")
    store = api.store
    assert set(store.stored_with.values()) == {"identity"}
    store.writer = "secretbox:key2"            # the apiservers now write with key2
    store.conflict_once = {"s03", "s05"}       # someone updates one of each between our list and our replace
    store.delete_before_put = {"s06"}          # and deletes one of these
    rc, res = run_module("secrets_reencrypt", {"kubeconfig": kubeconfig, "page_size": 4}, tmp_path)
    assert rc == 0, res
    counts = res["counts"]["secrets"]
    assert counts["listed"] == 21
    assert counts["conflicts"] == 2
    assert counts["gone"] == 1
    assert counts["replaced"] == 20
    assert res["changed"] is True
    remaining = {k: v for k, v in store.stored_with.items() if k[0] == "secrets" and k in store.objects}
    assert len(remaining) == 20 and set(remaining.values()) == {"secretbox:key2"}
    assert store.lists >= 6                    # 21 objects / 4 per page
    # the configmap was not asked for and is untouched
    assert store.stored_with[("configmaps", "default", "cm1")] == "identity"
    assert "dmFsdWU=" not in json.dumps(res)


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


def test_check_mode_lists_but_writes_nothing(api, tmp_path):
    kubeconfig = api.kubeconfig(tmp_path / "admin.conf")
    api.store.writer = "secretbox:key2"
    rc, res = run_module("secrets_reencrypt", {"kubeconfig": kubeconfig}, tmp_path, check_mode=True)
    assert rc == 0 and res["changed"] is True and res["counts"]["secrets"]["listed"] == 21
    assert api.store.puts == 0 and set(api.store.stored_with.values()) == {"identity"}


def test_wrong_credentials_fail_clearly(api, tmp_path):
    kubeconfig = tmp_path / "admin.conf"
    api.kubeconfig(kubeconfig)
    kubeconfig.write_text(kubeconfig.read_text().replace(api.token, "wrong"))
    rc, res = run_module("secrets_reencrypt", {"kubeconfig": str(kubeconfig)}, tmp_path)
    assert rc != 0 and res["failed"] and "401" in res["msg"]


def test_unsupported_resource_fails_before_any_request(api, tmp_path):
    kubeconfig = api.kubeconfig(tmp_path / "admin.conf")
    rc, res = run_module("secrets_reencrypt", {"kubeconfig": kubeconfig, "resources": ["widgets.example.com"]},
                         tmp_path)
    assert rc != 0 and "widgets.example.com" in res["msg"]
    assert api.store.lists == 0
