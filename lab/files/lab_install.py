#!/usr/bin/python3
# -*- coding: utf-8 -*-
"""Install a lab node's kubeadm files from one JSON bundle read on stdin (base64).

Runs on the lab node (copied there by lab/provision.yml). The bundle, made by
lab/files/lab_pki.py, holds key material, so it only ever travels on stdin
(never a file, never an argument) and nothing of it is printed:

  {"dirs": [{"path": ..., "mode": "0755"}],
   "files": [{"path": ..., "mode": "0600", "content": "<text>"}]}

Directories are created (and their mode set); a file is written, atomically,
only when its content, mode or owner differ. Prints {"changed": [paths]}.
One process for ~30 files instead of one Ansible task per file over the
podman connection.
"""
import base64
import json
import os
import sys
import tempfile


def ensure_dir(path, mode, changed):
    if not os.path.isdir(path):
        os.makedirs(path, mode)
        changed.append(path)
    st = os.stat(path)
    if st.st_mode & 0o7777 != mode or st.st_uid != 0 or st.st_gid != 0:
        os.chown(path, 0, 0)
        os.chmod(path, mode)
        if path not in changed:
            changed.append(path)


def ensure_file(path, mode, content, changed):
    data = content.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            same = handle.read() == data
        st = os.stat(path)
        same = same and st.st_mode & 0o7777 == mode and st.st_uid == 0 and st.st_gid == 0
    except OSError:
        same = False
    if same:
        return
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".lab-install.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chown(tmp, 0, 0)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    changed.append(path)


def main():
    bundle = json.loads(base64.b64decode(sys.stdin.read()))
    changed = []
    for d in bundle.get("dirs", []):
        ensure_dir(d["path"], int(d["mode"], 8), changed)
    for f in bundle.get("files", []):
        ensure_file(f["path"], int(f["mode"], 8), f["content"], changed)
    print(json.dumps({"changed": changed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
