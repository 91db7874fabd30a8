"""The collection builds into a tarball that installs offline, and its playbooks run by FQCN."""
import os
import subprocess
import tarfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
DEPS = os.path.join(ROOT, ".cache", "collections")
COLLECTION_TOP = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md", "plugins", "roles",
                  "playbooks", "meta", "docs", "changelogs"}


def _run(cmd, env=None, cwd=ROOT):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(cmd), proc.stdout, proc.stderr)
    return proc.stdout


def test_build_install_offline_and_run_by_fqcn(tmp_path):
    _run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), ROOT])
    tarball = tmp_path / "k8s_hardening-kubeadm-0.1.0.tar.gz"
    assert tarball.is_file()
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "playbooks/harden.yml" in names and "plugins/modules/static_pod.py" in names
    assert not [n for n in names if n.endswith(".key")], "no key material may ship in the collection"
    # only the collection: no lab, scripts, dev config (ansible.cfg has host_key_checking = False), tests
    top = sorted({n.split("/")[0] for n in names if n not in (".", "")})
    assert set(top) <= COLLECTION_TOP, "not part of the collection: %s" % sorted(set(top) - COLLECTION_TOP)
    assert {"LICENSE", "README.md", "MANIFEST.json", "FILES.json", "plugins", "roles", "playbooks", "meta",
            "docs", "changelogs"} <= set(top), top
    assert [n for n in names if n.startswith("docs/") and not n.endswith(".md") and n != "docs"] == []
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".tar.gz"))]
    with tarfile.open(tarball) as tar:
        license_text = tar.extractfile("LICENSE").read().decode()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text

    dest = tmp_path / "installed"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH="%s:%s" % (dest, DEPS))
    # --offline: Galaxy is never asked; the dependencies are already installed in DEPS.
    _run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", str(dest), str(tarball)],
         env=env, cwd=str(tmp_path))
    installed = dest / "ansible_collections" / "k8s_hardening" / "kubeadm"
    assert (installed / "MANIFEST.json").is_file()

    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    control_plane:\n      hosts: {}\n    workers:\n      hosts: {}\n")
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env_run = dict(env, ANSIBLE_COLLECTIONS_PATH="%s:%s" % (dest, DEPS), ANSIBLE_CONFIG=str(cfg))
    for playbook in ("k8s_hardening.kubeadm.harden", "k8s_hardening.kubeadm.facts"):
        out = _run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory), playbook, "--syntax-check"],
                   env=env_run, cwd=str(tmp_path))
        assert "playbook:" in out
