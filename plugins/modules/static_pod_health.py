#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to k8s_hardening.kubeadm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: static_pod_health
short_description: Wait until a static pod runs the current manifest and is healthy
version_added: 0.1.0
description:
  - Read-only. Waits until the kubelet runs the static pod from the manifest as it is now, and
    the pod answers its probe.
  - "Lab: when O(state_dir) exists (the lab's kubelet stand-in writes C(<name>.json) there),
    waits until that file has C(manifest_sha256) equal to O(expected_sha256) and C(state: running).
    C(invalid) or C(crashloop) for that hash fails at once with the runner's reason."
  - "Real node: when C(crictl) is on the PATH, waits for a running container of the pod created
    after the manifest's modification time; without crictl, for a process in /proc whose argv is
    exactly the manifest's command, started after that time. Then it polls the probe from the manifest
    (readinessProbe, else startupProbe, else livenessProbe; scheme, host, port, path) until it
    answers 200. For C(kube-apiserver) it asks C(/readyz) and presents O(client_cert)/O(client_key),
    so it also works with C(--anonymous-auth=false)."
  - Part of the rollout in the role M(k8s_hardening.kubeadm.static_pods).
attributes:
  check_mode:
    support: full
    details: Only reads; in check mode it does the same waiting.
options:
  component:
    description: The component (etcd, kube-apiserver, kube-controller-manager, kube-scheduler).
    type: str
    required: true
  name:
    description: The pod name (metadata.name of the manifest). Defaults to it, else to O(component).
    type: str
  manifest_path:
    description: The static pod manifest.
    type: path
    required: true
  expected_sha256:
    description: sha256 of the manifest the pod must run. Defaults to the file's current hash.
    type: str
  timeout:
    description: Seconds to wait in total.
    type: int
    default: 180
  delay:
    description: Seconds between polls.
    type: float
    default: 2
  state_dir:
    description: The lab runner's pod state directory; used only when it exists.
    type: path
    default: /run/lab-kubelet/pods
  client_cert:
    description:
      - Client certificate for the kube-apiserver probe. The default is signed by the cluster CA
        and present on every kubeadm control-plane node; C(/readyz) is open to any authenticated user.
    type: path
    default: /etc/kubernetes/pki/apiserver-kubelet-client.crt
  client_key:
    description: Key of O(client_cert).
    type: path
    default: /etc/kubernetes/pki/apiserver-kubelet-client.key
  ca_cert:
    description:
      - CA to verify the kube-apiserver's serving certificate, without host name check (the probe
        host is the advertise address). Other components' probes are not verified, like the kubelet's.
    type: path
    default: /etc/kubernetes/pki/ca.crt
  crictl:
    description: Name or path of crictl; when not found or when C(crictl ps) fails, /proc is searched
      for the pod's process.
    type: str
    default: crictl
extends_documentation_fragment:
  - k8s_hardening.kubeadm.attributes
"""

EXAMPLES = r"""
- name: Wait for the new kube-apiserver
  k8s_hardening.kubeadm.static_pod_health:
    component: kube-apiserver
    manifest_path: /etc/kubernetes/manifests/kube-apiserver.yaml
    expected_sha256: "{{ apply.manifest_sha256 }}"
    timeout: 180
"""

RETURN = r"""
elapsed:
  description: Seconds waited.
  returned: always
  type: float
state:
  description: The last state seen (running, invalid, crashloop, pending, starting, unhealthy, ...).
  returned: always
  type: str
reason:
  description: Why, in words (the lab runner's reason, the probe's answer, ...).
  returned: always
  type: str
mode:
  description: How health was judged, C(lab) or C(node).
  returned: always
  type: str
"""

import json
import os
import ssl
import time
import urllib.error

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import Request

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._deps import YAML_IMPORT_ERROR
from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._fileio import file_error

from ansible_collections.k8s_hardening.kubeadm.plugins.module_utils._manifest import (
    ManifestError, load, probe_target, sha256_hex)


def lab_state(state_dir, name, expected):
    """(done, failed, state, reason) from the lab runner's pod state file."""
    path = os.path.join(state_dir, name + ".json")
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        return False, False, "unknown", "no readable pod state %s yet (%s)" % (path, exc)
    state = data.get("state", "unknown")
    reason = data.get("reason") or ""
    if data.get("manifest_sha256") != expected:
        return False, False, "pending", "the runner still reports manifest %s (state %s)" % (
            str(data.get("manifest_sha256"))[:12], state)
    if state == "running":
        return True, False, state, reason or "running the expected manifest"
    if state in ("invalid", "crashloop"):
        return False, True, state, reason or state
    return False, False, state, reason


def container_started(module, crictl, name, since):
    """(ok, reason): a running container of pod ``name`` created after ``since``."""
    rc, out, err = module.run_command([crictl, "ps", "--state", "running", "--name", name, "-o", "json"])
    if rc != 0:
        return False, "crictl ps failed: %s" % (err.strip() or out.strip())
    try:
        containers = json.loads(out).get("containers") or []
    except ValueError:
        return False, "crictl ps printed no JSON"
    newer = [c for c in containers if int(c.get("createdAt", 0)) / 1e9 > since]
    if newer:
        return True, "container %s running" % newer[0].get("id", "")[:13]
    return False, "no running %s container newer than the manifest yet" % name


def _boot_time():
    with open("/proc/stat") as handle:
        for line in handle:
            if line.startswith("btime "):
                return int(line.split()[1])
    return 0


def process_started(command, since):
    """(ok, reason): a process whose argv is exactly the manifest's command,
    started after ``since`` (1 s tolerance: /proc's boot time has whole seconds).
    Containers' processes are visible in the node's /proc."""
    wanted = [c.encode("utf-8") for c in command]
    ticks = os.sysconf("SC_CLK_TCK")
    boot = _boot_time()
    older = False
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().rstrip(b"\0").split(b"\0")
            if argv != wanted:
                continue
            with open("/proc/%s/stat" % pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        started = boot + int(fields[19]) / ticks
        if started >= since - 1.0:
            return True, "process %s runs the manifest's command (started after the change)" % pid
        older = True
    if older:
        return False, "only a process started before the manifest changed runs its command"
    return False, "no process runs the manifest's command yet"


def probe(target, params):
    """(ok, reason) for one HTTP(S) GET of the probe target."""
    url = "%s://%s:%s%s" % (target["scheme"].lower(), target["host"], target["port"], target["path"])
    context = None
    if target["scheme"].upper() == "HTTPS":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        if target.get("client_auth") and os.path.isfile(params["ca_cert"]):
            context.load_verify_locations(params["ca_cert"])
        else:
            context.verify_mode = ssl.CERT_NONE
        if target.get("client_auth") and os.path.isfile(params["client_cert"]):
            context.load_cert_chain(params["client_cert"], params["client_key"])
    try:
        # Ansible's Request (what open_url wraps), never through a proxy (https_proxy must not see a node's
        # probe), with this context: the probe's host is an address the serving certificate may not name
        with Request().open("GET", url, use_proxy=False, timeout=5, context=context, follow_redirects="none") as resp:
            return resp.status == 200, "%s answered %s" % (url, resp.status)
    except urllib.error.HTTPError as exc:
        return False, "%s answered %s" % (url, exc.code)
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        return False, "%s: %s" % (url, getattr(exc, "reason", exc))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            component=dict(type="str", required=True),
            name=dict(type="str"),
            manifest_path=dict(type="path", required=True),
            expected_sha256=dict(type="str"),
            timeout=dict(type="int", default=180),
            delay=dict(type="float", default=2),
            state_dir=dict(type="path", default="/run/lab-kubelet/pods"),
            client_cert=dict(type="path", default="/etc/kubernetes/pki/apiserver-kubelet-client.crt"),
            client_key=dict(type="path", default="/etc/kubernetes/pki/apiserver-kubelet-client.key", no_log=False),
            ca_cert=dict(type="path", default="/etc/kubernetes/pki/ca.crt"),
            crictl=dict(type="str", default="crictl"),
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    params = module.params
    path = params["manifest_path"]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        doc = load(data.decode("utf-8"))
    except (OSError, ManifestError) as exc:
        module.fail_json(msg="cannot read static pod manifest %s: %s" % (path, exc))
    except UnicodeDecodeError as exc:
        module.fail_json(msg=file_error(exc, path))
    expected = params["expected_sha256"] or sha256_hex(data)
    name = params["name"] or (doc.get("metadata") or {}).get("name") or params["component"]
    start = time.monotonic()
    deadline = start + params["timeout"]
    result = dict(changed=False, state="unknown", reason="", mode="node")

    if os.path.isdir(params["state_dir"]):
        result["mode"] = "lab"
        while True:
            done, failed, state, reason = lab_state(params["state_dir"], name, expected)
            result.update(state=state, reason=reason, elapsed=round(time.monotonic() - start, 1))
            if done:
                module.exit_json(**result)
            if failed:
                module.fail_json(msg="%s: the pod for manifest %s is %s: %s" % (name, expected[:12], state, reason),
                                 **result)
            if time.monotonic() >= deadline:
                module.fail_json(msg="%s not running manifest %s after %ss: %s" % (
                    name, expected[:12], params["timeout"], reason), **result)
            time.sleep(params["delay"])

    since = os.stat(path).st_mtime
    crictl = module.get_bin_path(params["crictl"])
    command = doc["spec"]["containers"][0]["command"]
    target = probe_target(doc, params["component"])
    container_ok = False
    while True:
        if not container_ok:
            if crictl:
                container_ok, reason = container_started(module, crictl, name, since)
                if not container_ok and reason.startswith("crictl ps"):
                    # crictl present but not usable here (no runtime endpoint): use /proc
                    proc_ok, proc_reason = process_started(command, since)
                    container_ok, reason = proc_ok, "%s; %s" % (reason, proc_reason)
            else:
                container_ok, reason = process_started(command, since)
            state = "starting"
        if container_ok:
            if target is None:
                ok, reason, state = True, "no httpGet probe in the manifest; container running", "running"
            else:
                ok, reason = probe(target, params)
                state = "running" if ok else "unhealthy"
            if ok:
                result.update(state=state, reason=reason, elapsed=round(time.monotonic() - start, 1))
                module.exit_json(**result)
        result.update(state=state, reason=reason, elapsed=round(time.monotonic() - start, 1))
        if time.monotonic() >= deadline:
            module.fail_json(msg="%s not healthy after %ss: %s" % (name, params["timeout"], reason), **result)
        time.sleep(params["delay"])


if __name__ == "__main__":
    main()
