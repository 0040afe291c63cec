#!/usr/bin/python3
"""tests/powerloss/model.py — the durability model of the power-loss test filesystem.

Owns: a file tree whose writes are volatile until fsynced, over a backing directory that
holds exactly the durable state at every moment; power_cut() throws the volatile state
away. Pure Python, no FUSE: fusefs.py adapts it to the kernel, test_model.py tests it.

The model (stricter than ext4's defaults, like an ext4 mounted with noauto_da_alloc and
a crash at the worst moment; the same idea as INESC TEC's LazyFS):
  * File data and size (write, truncate) live in a per-file page cache (4 KiB blocks)
    until fsync/fdatasync of that file; then the file's durable bytes are exactly its
    current bytes. fdatasync counts as fsync (both persist data and size; timestamps
    and modes are not modelled as durable state).
  * Directory entries (create, mkdir, unlink, rmdir, rename) change only the current
    namespace; an entry becomes durable when its directory is fsynced: after fsync(D)
    every name in D durably maps to what it maps to now. fsync of a file never makes its
    own name durable (POSIX; ext4 often does, so real disks lose less than this model).
  * A rename is one journaled step: when the directory of either of its names is
    fsynced, both halves become durable together (the file never exists twice or not
    at all). Renaming a directory is refused (ENOTSUP): nothing we test needs it.
  * fsync of a directory whose own entry is not durable yet first makes that entry
    durable (recursively), as ext4 does for a new directory.
  * A name that becomes durable durably names the file's last fsynced bytes (empty for a
    file never fsynced): rename-over without fsync leaves an empty file, as on ext4
    without auto_da_alloc.
  * A clean unmount is sync(2): everything becomes durable. power_cut() keeps only the
    durable state and makes every later operation fail with EIO.

How the durable state is kept: every file has a "store" file holding its durable bytes.
A file with a durable name has its store at that name in the backing directory; a file
without one (new, or its durable name removed while it is still open or linked
elsewhere) has its store in the limbo directory (a sibling of the backing directory,
same file system, named by an internal file number). Making names durable renames
stores between limbo and the backing directory; power_cut() and mount delete limbo.
So after a cut the backing directory is exactly the durable state, and a fresh mount
over it is the "machine after reboot".

Threading: every public method must be called under `lock` (fusefs.py does).
Errors: OSError with an errno, which FUSE hands to the caller.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
import time
from typing import Dict, List, Optional

BLOCK = 4096


def _err(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def parent_of(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


class Node:
    """A file or directory: its durable store plus, for files, the volatile page cache."""

    def __init__(self, number: int, is_dir: bool, store: str, mode: int):
        self.number = number
        self.is_dir = is_dir
        self.store = store          # absolute path of the durable bytes (or directory)
        self.mode = mode
        self.mtime = time.time()
        self.fd: Optional[int] = None   # open on `store` (files), survives store renames
        self.store_size = 0         # size of the store file (the durable size)
        self.size = 0               # current size
        self.dirty: Dict[int, bytearray] = {}  # block index -> BLOCK bytes, volatile
        self.zero_from: Optional[int] = None   # store bytes from here on read as zeros
        self.opens = 0              # open file handles

    # -- volatile page cache --
    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return b""
        valid = self.store_size if self.zero_from is None else min(self.store_size, self.zero_from)
        out = bytearray(length)
        if offset < valid:
            n = min(length, valid - offset)
            out[:n] = os.pread(self.fd, n, offset).ljust(n, b"\0")
        first, last = offset // BLOCK, (offset + length - 1) // BLOCK
        for block in range(first, last + 1):
            page = self.dirty.get(block)
            if page is None:
                continue
            lo = max(offset, block * BLOCK)
            hi = min(offset + length, (block + 1) * BLOCK)
            out[lo - offset:hi - offset] = page[lo - block * BLOCK:hi - block * BLOCK]
        return bytes(out)

    def write(self, offset: int, data: bytes) -> int:
        if not data:
            return 0
        end = offset + len(data)
        for block in range(offset // BLOCK, (end - 1) // BLOCK + 1):
            page = self.dirty.get(block)
            if page is None:
                # Materialise the block as it reads now (durable bytes or zeros).
                start = block * BLOCK
                page = bytearray(self.read(start, BLOCK).ljust(BLOCK, b"\0"))
                self.dirty[block] = page
            lo = max(offset, block * BLOCK)
            hi = min(end, (block + 1) * BLOCK)
            page[lo - block * BLOCK:hi - block * BLOCK] = data[lo - offset:hi - offset]
        self.size = max(self.size, end)
        self.mtime = time.time()
        return len(data)

    def truncate(self, length: int) -> None:
        if length < self.size:
            for block in [b for b in self.dirty if b * BLOCK >= length]:
                del self.dirty[block]
            page = self.dirty.get(length // BLOCK)
            if page is not None:
                cut = length % BLOCK
                page[cut:] = bytes(BLOCK - cut)
            # Whatever the store holds beyond the new end is gone, even if the file grows
            # again before the next fsync.
            self.zero_from = length if self.zero_from is None else min(self.zero_from, length)
        self.size = length
        self.mtime = time.time()

    def flush_to_store(self) -> None:
        """fsync: the store becomes the current bytes."""
        if self.zero_from is not None and self.zero_from < self.store_size:
            os.ftruncate(self.fd, self.zero_from)
        for block, page in sorted(self.dirty.items()):
            start = block * BLOCK
            if start < self.size:
                os.pwrite(self.fd, bytes(page[:min(BLOCK, self.size - start)]), start)
        os.ftruncate(self.fd, self.size)
        self.store_size = self.size
        self.dirty.clear()
        self.zero_from = None

    def drop_cache(self) -> None:
        self.dirty.clear()
        self.zero_from = None
        self.size = self.store_size


class Model:
    """The file tree at `backing` with volatile state in memory (see the module header)."""

    def __init__(self, backing: str, limbo: Optional[str] = None):
        self.backing = os.path.abspath(backing)
        self.limbo = os.path.abspath(limbo or self.backing.rstrip("/") + ".limbo")
        self.lock = threading.RLock()
        self.dead = False
        self.next_number = 1
        self.handles: Dict[int, Node] = {}
        self.next_handle = 1
        self.stats = {"writes": 0, "fsyncs": 0, "dir_fsyncs": 0, "names_made_durable": 0}
        # A limbo left by a previous instance is volatile state of a machine that died.
        shutil.rmtree(self.limbo, ignore_errors=True)
        os.makedirs(self.limbo)
        self.root = Node(0, True, self.backing, 0o755)
        self.current: Dict[str, Node] = {}   # path -> node, the namespace processes see
        self.durable: Dict[str, Node] = {}   # path -> node, the namespace after a power cut
        for dirpath, dirnames, filenames in os.walk(self.backing):
            rel = "/" + os.path.relpath(dirpath, self.backing)
            rel = "/" if rel == "/." else rel
            for name in dirnames + filenames:
                path = (rel.rstrip("/") + "/" + name)
                full = os.path.join(dirpath, name)
                node = self._new_node(os.path.isdir(full), full, stat.S_IMODE(os.lstat(full).st_mode))
                if not node.is_dir:
                    node.fd = os.open(full, os.O_RDWR)
                    node.store_size = node.size = os.fstat(node.fd).st_size
                self.current[path] = node
                self.durable[path] = node

    # -- bookkeeping --
    def _new_node(self, is_dir: bool, store: str, mode: int) -> Node:
        node = Node(self.next_number, is_dir, store, mode)
        self.next_number += 1
        return node

    def _check(self) -> None:
        if self.dead:
            raise _err(errno.EIO)

    def _lookup(self, path: str) -> Node:
        if path == "/":
            return self.root
        node = self.current.get(path)
        if node is None:
            raise _err(errno.ENOENT)
        return node

    def _dir(self, path: str) -> Node:
        node = self._lookup(path)
        if not node.is_dir:
            raise _err(errno.ENOTDIR)
        return node

    def _children(self, table: Dict[str, Node], path: str) -> List[str]:
        return [p for p in table if parent_of(p) == path]

    def _linked(self, node: Node) -> bool:
        return any(n is node for n in self.current.values())

    def _forget_if_unused(self, node: Node) -> None:
        """A node nobody can reach any more: its cache is dropped; a store in limbo is freed
        (a durable store stays: the unlink is not durable until its directory is fsynced)."""
        if node.is_dir or node.opens > 0 or self._linked(node):
            return
        node.drop_cache()
        if not any(n is node for n in self.durable.values()) and node.fd is not None:
            os.close(node.fd)
            node.fd = None
            os.unlink(node.store)

    # -- namespace operations (volatile) --
    def create(self, path: str, mode: int) -> int:
        self._check()
        self._dir(parent_of(path))
        node = self.current.get(path)
        if node is None:
            node = self._new_node(False, os.path.join(self.limbo, str(self.next_number)), mode)
            node.fd = os.open(node.store, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            self.current[path] = node
        elif node.is_dir:
            raise _err(errno.EISDIR)
        return self._open_node(node)

    def mkdir(self, path: str, mode: int) -> None:
        self._check()
        self._dir(parent_of(path))
        if path in self.current:
            raise _err(errno.EEXIST)
        self.current[path] = self._new_node(True, "", mode)

    def unlink(self, path: str) -> None:
        self._check()
        node = self._lookup(path)
        if node.is_dir:
            raise _err(errno.EISDIR)
        del self.current[path]
        self._forget_if_unused(node)

    def rmdir(self, path: str) -> None:
        self._check()
        self._dir(path)
        if self._children(self.current, path):
            raise _err(errno.ENOTEMPTY)
        del self.current[path]

    def rename(self, old: str, new: str) -> None:
        self._check()
        node = self._lookup(old)
        self._dir(parent_of(new))
        if node.is_dir:
            raise _err(errno.ENOTSUP)
        if old == new:
            return
        replaced = self.current.get(new)
        if replaced is not None and replaced.is_dir:
            raise _err(errno.EISDIR)
        del self.current[old]
        self.current[new] = node
        if replaced is not None:
            self._forget_if_unused(replaced)

    def readdir(self, path: str) -> List[str]:
        self._check()
        self._dir(path)
        return [p.rsplit("/", 1)[1] for p in self._children(self.current, path)]

    def getattr(self, path: Optional[str], handle: Optional[int] = None) -> dict:
        self._check()
        node = self.handles.get(handle) if handle else None
        node = node or self._lookup(path)
        kind = stat.S_IFDIR if node.is_dir else stat.S_IFREG
        return {"st_mode": kind | node.mode, "st_nlink": 2 if node.is_dir else 1,
                "st_size": 0 if node.is_dir else node.size, "st_mtime": node.mtime,
                "st_atime": node.mtime, "st_ctime": node.mtime,
                "st_uid": os.getuid(), "st_gid": os.getgid(), "st_blksize": BLOCK,
                "st_blocks": (node.size + 511) // 512}

    def chmod(self, path: str, mode: int) -> None:
        self._check()
        self._lookup(path).mode = stat.S_IMODE(mode)

    def utimens(self, path: str, mtime: Optional[float]) -> None:
        self._check()
        self._lookup(path).mtime = mtime if mtime is not None else time.time()

    # -- file handles and data (volatile) --
    def _open_node(self, node: Node) -> int:
        node.opens += 1
        handle = self.next_handle
        self.next_handle += 1
        self.handles[handle] = node
        return handle

    def open(self, path: str, truncate: bool = False) -> int:
        self._check()
        node = self._lookup(path)
        if truncate and not node.is_dir:
            node.truncate(0)
        return self._open_node(node)

    def release(self, handle: int) -> None:
        node = self.handles.pop(handle, None)
        if node is None or self.dead:
            return
        node.opens -= 1
        self._forget_if_unused(node)

    def _file(self, path: Optional[str], handle: Optional[int]) -> Node:
        node = self.handles.get(handle) if handle else self._lookup(path)
        if node is None:
            raise _err(errno.EBADF)
        if node.is_dir:
            raise _err(errno.EISDIR)
        return node

    def read(self, handle: int, offset: int, length: int) -> bytes:
        self._check()
        return self._file(None, handle).read(offset, length)

    def write(self, handle: int, offset: int, data: bytes) -> int:
        self._check()
        self.stats["writes"] += 1
        return self._file(None, handle).write(offset, data)

    def truncate(self, path: Optional[str], length: int, handle: Optional[int] = None) -> None:
        self._check()
        self._file(path, handle).truncate(length)

    # -- durability --
    def fsync(self, path: Optional[str], handle: Optional[int] = None) -> None:
        self._check()
        self.stats["fsyncs"] += 1
        self._file(path, handle).flush_to_store()

    def fsyncdir(self, path: str) -> None:
        self._check()
        self.stats["dir_fsyncs"] += 1
        self._dir(path)
        self._sync_dir(path)

    def _sync_dir(self, path: str) -> None:
        if path != "/" and self.durable.get(path) is not self.current.get(path):
            self._sync_names([path])          # a new directory: its own entry first
        names = set(self._children(self.current, path)) | set(self._children(self.durable, path))
        self._sync_names(sorted(names))

    def _sync_names(self, names: List[str]) -> None:
        """Makes each name durably map to what it maps to now; a pending rename of a file
        involved is completed on both of its names (the closure below)."""
        todo, seen = list(names), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            was, now = self.durable.get(name), self.current.get(name)
            if was is not None and not was.is_dir:
                todo += [p for p, n in self.current.items() if n is was and p != name]
            if now is not None and not now.is_dir:
                todo += [p for p, n in self.durable.items() if n is now and p != name]
            parent = parent_of(name)
            if now is not None and parent != "/" and self.durable.get(parent) is not self.current.get(parent):
                todo.append(parent)             # a new directory's entry comes along
        changed = [n for n in seen if self.durable.get(n) is not self.current.get(n)]
        # Detach first (deepest first), then attach (shallowest first): a store may move
        # through limbo, and a directory is created before its entries.
        for name in sorted(changed, key=lambda p: -p.count("/")):
            if name in self.durable:
                self._detach(name)
        for name in sorted(changed, key=lambda p: p.count("/")):
            node = self.current.get(name)
            if node is not None:
                self._attach(name, node)

    def _backing_path(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _detach(self, path: str) -> None:
        node = self.durable.pop(path)
        if node.is_dir:
            for child in sorted(self._children(self.durable, path)):
                self._detach(child)
            os.rmdir(self._backing_path(path))
            return
        if node.opens > 0 or self._linked(node):
            node.store = os.path.join(self.limbo, str(node.number))
            os.rename(self._backing_path(path), node.store)
        else:
            os.close(node.fd)
            node.fd = None
            os.unlink(self._backing_path(path))
            node.drop_cache()

    def _attach(self, path: str, node: Node) -> None:
        target = self._backing_path(path)
        if node.is_dir:
            os.mkdir(target, node.mode)
        else:
            os.rename(node.store, target)
            os.chmod(target, node.mode)
        node.store = target
        self.durable[path] = node
        self.stats["names_made_durable"] += 1

    def sync_all(self) -> None:
        """sync(2), as a clean unmount does: every file's data, then every directory."""
        self._check()
        for node in set(self.current.values()) | set(self.handles.values()):
            if not node.is_dir and node.fd is not None:
                node.flush_to_store()
        for path in ["/"] + sorted((p for p, n in self.current.items() if n.is_dir),
                                   key=lambda p: p.count("/")):
            self._sync_dir(path)

    def power_cut(self) -> None:
        """Everything not durable is gone; every later operation fails with EIO."""
        if self.dead:
            return
        self.dead = True
        for node in set(self.current.values()) | set(self.durable.values()) | set(self.handles.values()):
            if node.fd is not None:
                os.close(node.fd)
                node.fd = None
            node.dirty.clear()
        self.current.clear()
        self.handles.clear()
        shutil.rmtree(self.limbo, ignore_errors=True)
