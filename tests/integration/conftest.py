"""Integration tests import their helpers (realk8s, fake_secrets_api) from this folder."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
