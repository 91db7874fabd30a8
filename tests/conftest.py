"""Make the collection importable as ansible_collections.k8s_hardening.kubeadm in tests.

Under ansible-test (scripts/ansible-test.sh units) the checkout already sits at
.../ansible_collections/k8s_hardening/kubeadm and ansible-test puts its parent on the path; otherwise
(pytest from the checkout) `make setup` links the checkout into .cache/collections."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMESPACE = os.path.dirname(ROOT)
if os.path.basename(NAMESPACE) == "k8s_hardening" and os.path.basename(os.path.dirname(NAMESPACE)) == "ansible_collections":
    COLLECTIONS = os.path.dirname(os.path.dirname(NAMESPACE))
else:
    COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
    if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "k8s_hardening", "kubeadm")):
        raise RuntimeError("run `make setup` first: %s does not hold the collection link" % COLLECTIONS)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
