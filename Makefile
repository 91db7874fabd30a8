# k8s_hardening.kubeadm: every entry point. `make demo` and `make test` are the two
# commands a newcomer needs; both install what they need first (`make setup`).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
export MOLECULE_PODMAN_EXECUTABLE := $(CURDIR)/lab/bin/podman
export ANSIBLE_FORCE_COLOR ?= 0
ARGS ?=
STAGE = @printf '\n=== %s [%s]\n' "$(1)" "$$(date +%T)"
TIMED = bash scripts/timed.sh

.PHONY: help setup lab-up lab-down harden audit demo lint unit sanity units integration molecule test test-versions bench build clean

help:
	@grep -E '^## ' Makefile | sed 's/^## //'

## setup      install Debian packages, .venv, pinned collections, the lab image (idempotent, cached)
setup:
	@[ -n "$$K8S_HARDENING_SETUP_DONE" ] || bash scripts/setup.sh

## lab-up     start the three lab nodes (k8s-lab-cp1, k8s-lab-cp2, k8s-lab-worker1); LAB_K8S_VERSION=1.28.7 for the older one
lab-up: setup
	@bash lab/lab.sh up

## lab-down   remove the lab nodes and all they hold
lab-down:
	@bash lab/lab.sh down

## harden     run playbooks/harden.yml against the lab; ARGS='--check --diff' passes arguments
harden:
	ansible-playbook -i inventory/lab playbooks/harden.yml $(ARGS)

## audit      run the read-only CIS report against the lab
audit:
	ansible-playbook -i inventory/lab playbooks/audit.yml $(ARGS)

## demo       setup, lab-up, harden, then a summary of what was found and changed
demo: lab-up
	@bash scripts/demo.sh

## lint       yamllint and ansible-lint (production profile)
lint: setup
	$(call STAGE,lint)
	@$(TIMED) yamllint yamllint -s .
	@$(TIMED) ansible-lint ansible-lint --profile production

## unit       pytest on module_utils, filters and module shells
unit: setup
	$(call STAGE,unit)
	@$(TIMED) unit python -m pytest tests/unit lab/tests -q

## sanity     ansible-test sanity, Python 3.11, local (no Docker), on a copy laid out as ansible_collections/k8s_hardening/kubeadm
sanity: setup
	$(call STAGE,sanity)
	@$(TIMED) sanity bash scripts/ansible-test.sh sanity --python 3.11 --color no $(ARGS)

## units      ansible-test units (its own virtualenv for Python 3.11) on the same copy
units: setup
	$(call STAGE,units)
	@$(TIMED) units bash scripts/ansible-test.sh units --venv --python 3.11 --color no $(ARGS)

## integration pytest against real etcd, openssl and ansible on this host (prints skipped tests and why)
integration: setup
	$(call STAGE,integration)
	@$(TIMED) integration python -m pytest tests/integration -q -rs

## molecule   every Molecule scenario on the lab image (SCENARIOS='default' for some of them)
SCENARIOS ?=
molecule: setup
	$(call STAGE,molecule $(SCENARIOS))
	@$(TIMED) molecule bash scripts/molecule-all.sh $(SCENARIOS)

## test       everything: lint, unit, sanity, units, integration beside each molecule scenario (lanes; TEST_LANES=serial)
test: setup
	@bash scripts/test.sh

## test-versions the default and cluster_policies scenarios (lab checks, harden.yml, the real control plane and API) at Kubernetes 1.28.7
test-versions: setup
	$(call STAGE,test-versions 1.28.7)
	@LAB_K8S_VERSION=1.28.7 $(TIMED) test-versions bash scripts/molecule-all.sh default cluster_policies

## bench      no-op harden.yml against a baseline stat playbook, and how it scales
bench: lab-up
	@bash benchmarks/noop.sh

## build      the collection tarball
build: setup
	ansible-galaxy collection build --force --output-path build/

clean: lab-down
	rm -rf build reports
