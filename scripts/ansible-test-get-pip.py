"""Offline stand-in for the pip bootstrap script ansible-test downloads from ci-files.testing.ansible.com.

ansible-test creates each sanity/units virtual environment without pip, then runs this script with the
venv's Python as ``get-pip.py [pip options] pip==<version> [setuptools==... wheel==...]``. The real
get-pip.py carries a pip wheel inside itself; this one takes the pip wheel that Python bundles
(``ensurepip``, no network), then lets that pip install the exact versions ansible-test asked for from
the package index pip is configured with (PyPI). scripts/setup.sh installs it where ansible-test looks
for its cached copy, so nothing is downloaded from the unreachable host.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + args)
