"""Make the collection importable as ansible_collections.k8s_hardening.kubeadm in tests."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "k8s_hardening", "kubeadm")):
    raise RuntimeError("run `make setup` first: %s does not hold the collection link" % COLLECTIONS)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
