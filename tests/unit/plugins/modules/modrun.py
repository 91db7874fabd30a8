"""Run a collection module for real, as Ansible would: a subprocess with its JSON args file."""
import json
import os
import subprocess
import sys

from ansible.module_utils import basic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def collections_root(root=ROOT):
    """The directory holding ansible_collections/k8s_hardening/kubeadm: ansible-test's tree when the checkout
    is laid out that way (ansible-test units), else the checkout's .cache/collections (make setup)."""
    namespace = os.path.dirname(root)
    if os.path.basename(namespace) == "k8s_hardening" and os.path.basename(os.path.dirname(namespace)) == "ansible_collections":
        return os.path.dirname(os.path.dirname(namespace))
    return os.path.join(root, ".cache", "collections")


COLLECTIONS = collections_root()
# where this process finds ansible (under ansible-test units it comes from PYTHONPATH, not site-packages)
ANSIBLE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(basic.__file__))))


def run_module(name, args, tmp_path, check_mode=False, diff=True):
    """Run plugins/modules/<name>.py with ``args``; return (rc, result dict)."""
    payload = dict(args)
    payload["_ansible_check_mode"] = check_mode
    payload["_ansible_diff"] = diff
    payload["_ansible_tmpdir"] = str(tmp_path)
    payload["_ansible_remote_tmp"] = str(tmp_path)
    args_file = tmp_path / ("%s-args.json" % name)
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([COLLECTIONS, ANSIBLE_PARENT] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run(
        [sys.executable, "-m", "ansible_collections.k8s_hardening.kubeadm.plugins.modules.%s" % name, str(args_file)],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON: %s %s" % (name, proc.stdout, proc.stderr))
    return proc.returncode, result
