"""The collection's execution environment metadata, as ansible-builder reads it.

The tarball is built and installed offline; ``ansible-builder introspect`` must find the Python and system
requirements in the installed collection's meta/execution-environment.yml; ``ansible-builder create`` runs
on the definition documented in docs/execution-environment.md and its build context is checked. No image is
built (ansible-builder needs a dnf-based base image from a registry).
"""
import os
import re
import shutil
import subprocess

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
TARBALL = "k8s_hardening-kubeadm-0.1.0.tar.gz"


def _run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(cmd), proc.stdout, proc.stderr)
    return proc.stdout


def _documented_definition():
    with open(os.path.join(ROOT, "docs", "execution-environment.md")) as handle:
        text = handle.read()
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)


def test_introspect_and_create(tmp_path):
    _run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), ROOT],
         cwd=str(tmp_path))
    assert (tmp_path / TARBALL).is_file()
    installed = tmp_path / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed))   # not DEPS: it links this checkout
    _run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force", "-p",
          str(installed), str(tmp_path / TARBALL)], cwd=str(tmp_path), env=env)
    assert (installed / "ansible_collections" / "k8s_hardening" / "kubeadm" / "meta" / "ee-bindep.txt").is_file()

    found = yaml.safe_load(_run([os.path.join(VENV_BIN, "ansible-builder"), "introspect", str(installed)],
                                cwd=str(tmp_path)))
    python = [line for line in found["python"] if "k8s_hardening.kubeadm" in line]
    system = [line for line in found["system"] if "k8s_hardening.kubeadm" in line]
    names = sorted(re.split(r"[<>=\s]", line, maxsplit=1)[0].lower() for line in python)
    # PyYAML is declared too, but ansible-builder leaves it out: ansible-core already brings it into the image
    assert names == ["cryptography", "kubernetes"], found
    declared = (installed / "ansible_collections" / "k8s_hardening" / "kubeadm" / "meta" / "ee-requirements.txt").read_text()
    assert "PyYAML" in declared
    assert [line.split()[0] for line in system] == ["openssl"], found

    definition = _documented_definition()
    assert definition["version"] == 3
    (tmp_path / "execution-environment.yml").write_text(yaml.safe_dump(definition))
    _run([os.path.join(VENV_BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
          "--output-filename", "Containerfile"], cwd=str(tmp_path))
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "FROM $EE_BASE_IMAGE" in containerfile or definition["images"]["base_image"]["name"] in containerfile
    assert definition["images"]["base_image"]["name"] in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "COPY _build/collections/ /build/collections/" in containerfile
    assert (context / "_build" / "collections" / TARBALL).is_file(), sorted(os.listdir(context / "_build"))
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements["collections"] == [{"name": "/build/collections/" + TARBALL, "type": "file"}]
    assert "ansible-core==2.18.12" in containerfile


def test_builder_is_the_pinned_one():
    out = _run([os.path.join(VENV_BIN, "ansible-builder"), "--version"], cwd=ROOT)
    pinned = [line for line in open(os.path.join(ROOT, "requirements.txt")) if line.startswith("ansible-builder==")]
    assert pinned and pinned[0].strip().split("==")[1] == out.strip(), out
    assert shutil.which("ansible-builder", path=VENV_BIN)
