#!/usr/bin/python3
"""tests/powerloss/fusefs.py — the power-loss test filesystem: model.py mounted with FUSE.

Owns: the kernel side (Debian python3-fusepy, module `fusepy`, over libfuse2 and
/dev/fuse), one lock around the model, and the control socket that cuts the power.
Usage: fusefs.py BACKING MOUNTPOINT --control SOCKET
  Prints "READY" on stdout once the kernel has mounted it; runs in the foreground until
  unmounted (fusermount -u / umount). A clean unmount syncs everything (model.sync_all).
Control socket (Unix stream, one line in, one line out):
  cut    power cut: all volatile state is discarded, every later operation gets EIO;
         the backing directory is then exactly the durable state. Answers "ok".
  stats  JSON: counts of writes, fsyncs, directory fsyncs, names made durable, "dead".
What the kernel does for us, and why it is enough for SQLite in WAL mode:
  * POSIX (fcntl) and flock locks: this filesystem implements neither `lock` nor `flock`,
    so libfuse does not announce FUSE_POSIX_LOCKS and the kernel keeps the locks itself
    (local to this machine, which is all a single relay plus its CLI needs).
  * The WAL index (queue.db-shm) is mapped MAP_SHARED: that needs the kernel page cache,
    so the mount does NOT use direct_io. Writes are still write-through (libfuse2 has no
    writeback cache): every write(2) reaches the model before it returns, and dirty
    mmap pages reach it on writeback. The -shm file is never fsynced, so, as on a disk,
    it does not survive a cut; SQLite rebuilds it from the WAL.
  * unlink of an open file: hard_remove, so libfuse does not rename it to .fuse_hidden*
    (which would be a rename in our namespace) and later calls come by file handle.
Never: touches anything outside BACKING and its sibling BACKING.limbo.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
import threading
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model import Model  # noqa: E402

try:
    from fusepy import FUSE, FuseOSError, Operations  # Debian python3-fusepy
except ImportError:  # the upstream package's module name
    from fuse import FUSE, FuseOSError, Operations  # type: ignore


class PowerLossFS(Operations):
    """fusepy operations → Model calls, one at a time under the model's lock."""

    use_ns = True

    def __init__(self, model: Model, control_path: str):
        self.model = model
        self.control_path = control_path

    def __call__(self, op, *args):
        with self.model.lock:
            try:
                return getattr(self, op)(*args)
            except OSError as e:
                raise FuseOSError(e.errno or errno.EIO) from None

    # -- life cycle --
    def init(self, path):
        threading.Thread(target=self._serve_control, daemon=True).start()
        print("READY", flush=True)

    def destroy(self, path):
        if not self.model.dead:
            self.model.sync_all()  # a clean unmount is a sync

    def _serve_control(self):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.control_path):
            os.unlink(self.control_path)
        server.bind(self.control_path)
        server.listen(4)
        while True:
            conn, _ = server.accept()
            with conn:
                command = conn.makefile("r").readline().strip()
                with self.model.lock:
                    if command == "cut":
                        self.model.power_cut()
                        reply = "ok"
                    elif command == "stats":
                        reply = json.dumps(dict(self.model.stats, dead=self.model.dead))
                    else:
                        reply = "unknown command"
                conn.sendall(reply.encode() + b"\n")

    # -- namespace --
    def getattr(self, path, fh=None):
        attrs = self.model.getattr(path, fh)
        for key in ("st_mtime", "st_atime", "st_ctime"):
            attrs[key] = int(attrs[key] * 1e9)
        return attrs

    def readdir(self, path, fh):
        return [".", ".."] + self.model.readdir(path)

    def opendir(self, path):
        self.model.readdir(path)  # ENOENT/ENOTDIR/EIO like a real opendir
        return 0

    def mkdir(self, path, mode):
        self.model.mkdir(path, mode & 0o7777)

    def rmdir(self, path):
        self.model.rmdir(path)

    def unlink(self, path):
        self.model.unlink(path)

    def rename(self, old, new):
        self.model.rename(old, new)

    def link(self, target, source):
        raise FuseOSError(errno.ENOTSUP)  # hard links are not modelled

    def symlink(self, target, source):
        raise FuseOSError(errno.ENOTSUP)

    def chmod(self, path, mode):
        self.model.chmod(path, mode)

    def chown(self, path, uid, gid):
        self.model.getattr(path)  # ownership is not modelled; the file must exist

    def utimens(self, path, times=None):
        self.model.utimens(path, times[1] / 1e9 if times else None)

    def access(self, path, amode):
        self.model.getattr(path)

    def statfs(self, path):
        st = os.statvfs(self.model.backing)
        return {k: getattr(st, k) for k in ("f_bsize", "f_frsize", "f_blocks", "f_bfree",
                                            "f_bavail", "f_files", "f_ffree", "f_namemax")}

    # -- files --
    def create(self, path, mode, fi=None):
        return self.model.create(path, mode & 0o7777)

    def open(self, path, flags):
        return self.model.open(path, truncate=bool(flags & os.O_TRUNC))

    def read(self, path, size, offset, fh):
        return self.model.read(fh, offset, size)

    def write(self, path, data, offset, fh):
        return self.model.write(fh, offset, data)

    def truncate(self, path, length, fh=None):
        self.model.truncate(path, length, fh)

    def flush(self, path, fh):
        return 0  # close(2) is not a sync

    def release(self, path, fh):
        self.model.release(fh)

    def fsync(self, path, datasync, fh):
        self.model.fsync(path, fh)

    def fsyncdir(self, path, datasync, fh):
        self.model.fsyncdir(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    parser.add_argument("--control", required=True, help="Unix socket path for 'cut'/'stats'")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    model = Model(args.backing)
    FUSE(PowerLossFS(model, args.control), args.mountpoint, foreground=True, nothreads=False,
         big_writes=True, hard_remove=True, fsname="powerloss", subtype="powerloss")
    return 0


if __name__ == "__main__":
    sys.exit(main())
