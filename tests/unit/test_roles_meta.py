"""Every role variable is prefixed with the role name, declared in meta/argument_specs.yml,
and documented in the generated docs; the generated docs are current."""
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES = sorted(r for r in os.listdir(os.path.join(ROOT, "roles"))
               if os.path.isfile(os.path.join(ROOT, "roles", r, "meta", "argument_specs.yml")))


def _load(*parts):
    path = os.path.join(ROOT, *parts)
    if not os.path.isfile(path):
        return {}
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", ROLES)
def test_defaults_declared_and_prefixed(role):
    defaults = _load("roles", role, "defaults", "main.yml")
    specs = _load("roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name in defaults:
        assert name.startswith(role + "_"), "%s: %s is not prefixed with the role name" % (role, name)
        assert name in specs, "%s: %s is in defaults/main.yml but not in meta/argument_specs.yml" % (role, name)
    for name in specs:
        assert name.startswith(role + "_"), "%s: argument %s is not prefixed with the role name" % (role, name)


def test_generated_docs_are_current():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_role_docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
