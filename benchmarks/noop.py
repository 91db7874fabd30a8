#!/usr/bin/env python
"""Cost of a no-op playbooks/harden.yml on an already hardened lab, against benchmarks/baseline.yml.

Reports both wall-clock times, their ratio (a line `ratio: <number>`), the time of the same no-op run with
the fast path off (every node evaluated in full, docs/noop.md), the module invocations per node
(counted by benchmarks/callback_plugins/count_invocations.py) and how the no-op time grows with the number
of nodes (1, 2, 3 lab nodes via --limit) at the default forks. Not a test: it prints numbers.

Environment: BENCH_INVENTORY (inventory/lab), BENCH_REPEAT (runs per measurement, median kept; 1),
BENCH_SKIP_WARMUP=1 (do not run harden.yml first until a run changes nothing), BENCH_SKIP_SCALING=1 (no 1/2/3-node table),
BENCH_TIMEOUT (seconds per ansible-playbook run; 3600), BENCH_EXTRA_ARGS (more ansible-playbook args),
BENCH_SCALE_WORKERS=<n> (also start a second lab, k8s-bench on 10.89.13.0/24, with 2 control-plane nodes and
n workers, and give the scaling table up to n+2 nodes; BENCH_KEEP_LAB=1 leaves it up).
Ansible reaches the lab over SSH: a full run takes about a minute; more when other jobs use the machine
at the same time (the numbers are then inflated for all playbooks alike).
"""
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.environ.get("BENCH_INVENTORY", os.path.join(ROOT, "inventory", "lab"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "1"))
NODES = ["k8s-lab-cp1", "k8s-lab-cp2", "k8s-lab-worker1"]


def run(playbook, limit=None, extra=(), inventory=None):
    """(seconds, counts per host, changed total) of one ansible-playbook run; exits on failure."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        counts_file = handle.name
    env = dict(os.environ,
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "benchmarks", "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="count_invocations",
               COUNT_INVOCATIONS_FILE=counts_file,
               PWD=ROOT)          # the report role writes to $PWD/reports by default
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", inventory or INVENTORY, playbook]
    cmd += shlex.split(os.environ.get("BENCH_EXTRA_ARGS", "")) + list(extra)
    if limit:
        cmd += ["--limit", ",".join(limit)]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                              timeout=int(os.environ.get("BENCH_TIMEOUT", "3600")))
    except subprocess.TimeoutExpired:
        sys.exit("benchmark run timed out: %s" % " ".join(cmd))
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        sys.exit("benchmark run failed: %s" % " ".join(cmd))
    with open(counts_file) as handle:
        counts = json.load(handle)
    os.unlink(counts_file)
    return elapsed, counts, sum(c["changed"] for c in counts.values())


def measure(playbook, limit=None, extra=(), inventory=None):
    runs = [run(playbook, limit, extra, inventory) for dummy in range(REPEAT)]
    times = sorted(r[0] for r in runs)
    return statistics.median(times), runs[-1][1], max(r[2] for r in runs)


def main():
    harden = os.path.join(ROOT, "playbooks", "harden.yml")
    baseline = os.path.join(ROOT, "benchmarks", "baseline.yml")
    if os.environ.get("BENCH_SKIP_WARMUP") != "1":
        # A node counts as converged only after a run that changed nothing on it (docs/noop.md):
        # run until one does, so the measured run is the steady state of an hourly drift check.
        warm_up(harden)
    noop_time, noop_counts, noop_changed = measure(harden)
    base_time, base_counts, dummy = measure(baseline)
    full_time, full_counts, full_changed = measure(harden, extra=["-e", "k8s_hardening_noop_fast_path=false"])
    print("")
    print("no-op harden.yml: %.1f s (median of %d), changed: %d" % (noop_time, REPEAT, noop_changed))
    print("baseline (stat each managed file): %.1f s (median of %d)" % (base_time, REPEAT))
    print("ratio: %.2f" % (noop_time / base_time))
    print("no-op harden.yml evaluating every node in full (k8s_hardening_noop_fast_path=false): %.1f s, "
          "changed: %d, ratio to the baseline: %.2f" % (full_time, full_changed, full_time / base_time))
    for label, changed in (("no-op", noop_changed), ("full evaluation", full_changed)):
        if changed:
            print("WARNING: the %s run changed %d things: the lab was not hardened, or a task is not idempotent"
                  % (label, changed))
    print("")
    print("| node | harden.yml invocations | full evaluation invocations | baseline invocations |")
    print("|---|---|---|---|")
    for host in sorted(set(noop_counts) | set(base_counts) | set(full_counts)):
        print("| %s | %d | %d | %d |" % (host, noop_counts.get(host, {}).get("invocations", 0),
                                         full_counts.get(host, {}).get("invocations", 0),
                                         base_counts.get(host, {}).get("invocations", 0)))
    if os.environ.get("BENCH_SKIP_SCALING") == "1":
        return 0
    scaling_table(harden, NODES, None, "the lab")
    workers = int(os.environ.get("BENCH_SCALE_WORKERS", "0"))
    if workers > 0:
        scale_lab(harden, workers)
    return 0


def warm_up(harden, inventory=None):
    """Run harden.yml until a run changes nothing (at most 3 runs)."""
    for attempt in range(1, 4):
        changed = run(harden, inventory=inventory)[2]
        print("warm-up run %d: changed %d" % (attempt, changed))
        if not changed:
            return


def scaling_table(harden, nodes, inventory, where):
    print("")
    print("no-op harden.yml by number of nodes on %s (default forks):" % where)
    print("")
    print("| nodes | seconds | seconds per node |")
    print("|---|---|---|")
    for n in range(1, len(nodes) + 1):
        seconds = measure(harden, nodes[:n], inventory=inventory)[0]
        print("| %d (%s) | %.1f | %.1f |" % (n, ", ".join(nodes[:n]) if n <= 3 else "... " + nodes[n - 1],
                                             seconds, seconds / n))


def scale_lab(harden, workers):
    """A second lab (2 control-plane nodes + ``workers`` workers) for the scaling table beyond 3 nodes."""
    name, subnet = "k8s-bench", "10.89.13.0/24"
    env = dict(os.environ, LAB_NAME=name, LAB_SUBNET=subnet, LAB_WORKERS=str(workers))
    lab = os.path.join(ROOT, "lab", "lab.sh")
    print("")
    print("starting lab %s with 2 control-plane nodes and %d workers" % (name, workers))
    subprocess.run(["bash", lab, "up"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        inventory = os.path.join(ROOT, "lab", ".cache", name, "hosts.yml")
        nodes = [name + "-cp1", name + "-cp2"] + ["%s-worker%d" % (name, i) for i in range(1, workers + 1)]
        warm_up(harden, inventory)
        scaling_table(harden, nodes, inventory, "lab %s" % name)
    finally:
        if os.environ.get("BENCH_KEEP_LAB") != "1":
            subprocess.run(["bash", lab, "down"], cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
