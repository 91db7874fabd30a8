"""Run real ansible-playbook against localhost (connection local) and read each task's result.

The inventory puts localhost in the group control_plane with the interpreter the test chooses
(the venv's by default: it has the kubernetes client; a throwaway venv without it tests the preflight).
Results come from the ansible.posix.json callback, so a test asserts on the modules' own return values.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)


def inventory(tmp_path, python=sys.executable, group="control_plane"):
    path = tmp_path / "inventory.ini"
    path.write_text("[%s]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n" % (group, python))
    return str(path)


def env(tmp_path, callback="ansible.posix.json"):
    out = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-remote"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    if callback:
        out["ANSIBLE_STDOUT_CALLBACK"] = callback
    return out


class Result(object):
    """rc, the raw output, and the per-task results of localhost (name -> result, in order)."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        self.tasks = []
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            return
        for play in doc.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task.get("hosts", {}).items():
                    self.tasks.append((task["task"]["name"], host, res))

    def task(self, name):
        """The last result of the task called ``name`` (any host)."""
        found = [res for task, host, res in self.tasks if task == name]
        assert found, "task %r did not run; tasks: %s\n%s" % (name, [t for t, h, r in self.tasks], self.out[-3000:])
        return found[-1]

    def failed(self):
        """(task name, message) of every failed task."""
        return [(t, r.get("msg", "")) for t, h, r in self.tasks if r.get("failed")]


def run_playbook(tmp_path, playbook, python=sys.executable, extra_vars=None, check=False, diff=False,
                 callback="ansible.posix.json", timeout=600, args=(), inventory_file=None):
    """ansible-playbook playbook (a path or a list of plays) against localhost (or ``inventory_file``)."""
    if not isinstance(playbook, str):
        path = tmp_path / "playbook.json"
        path.write_text(json.dumps(playbook))   # JSON is YAML
        playbook = str(path)
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(extra_vars or {}))
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory_file or inventory(tmp_path, python), playbook,
           "-e", "@" + str(varfile)] + list(args)
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, cwd=ROOT, env=env(tmp_path, callback), capture_output=True, text=True,
                          timeout=timeout, check=False)
    return Result(proc)


def venv_without_kubernetes(path):
    """A throwaway venv of the system's Python (its Debian packages, e.g. PyYAML, visible) lacking `kubernetes`.

    Returns its python, or None when the system Python has the library (then the case cannot be built here).
    """
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", "--system-site-packages", str(path)],
                   check=True, capture_output=True)
    python = os.path.join(str(path), "bin", "python")
    probe = subprocess.run([python, "-c", "import yaml\ntry:\n import kubernetes\nexcept ImportError:\n print('absent')"],
                           capture_output=True, text=True, check=False)
    return python if probe.stdout.strip() == "absent" else None


__all__ = ["run_playbook", "inventory", "env", "Result", "venv_without_kubernetes", "ROOT"]
