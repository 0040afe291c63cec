#!/usr/bin/python3
"""tests/powerloss/test_model.py — the durability model alone (no FUSE, no relay).

Owns: what survives a power cut for each kind of operation (data, size, create, unlink,
rename, mkdir), the page cache's read-after-write behaviour against a bytearray oracle,
and EIO after the cut. Each test cuts power and then looks at the backing directory,
which must be exactly the durable state, and at a fresh Model mounted over it.
Run: /usr/bin/python3 tests/powerloss/test_model.py -v
"""

import errno
import os
import random
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model import BLOCK, Model  # noqa: E402


def tree(root: str) -> dict:
    """{relative path: bytes (file) or None (directory)} of a real directory."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            out[os.path.relpath(os.path.join(dirpath, f), root)] = Path(dirpath, f).read_bytes()
    return out


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="powerloss-model-")
        self.backing = os.path.join(self.tmp, "backing")
        os.makedirs(self.backing)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.fs = Model(self.backing)

    def after_cut(self) -> dict:
        self.fs.power_cut()
        self.assertFalse(os.path.exists(self.fs.limbo), "limbo must be gone after a cut")
        self.fs = Model(self.backing)  # the machine after reboot
        return tree(self.backing)

    def new_file(self, path: str, data: bytes = b"", fsync=False, dirsync=False) -> int:
        h = self.fs.create(path, 0o644)
        self.fs.write(h, 0, data)
        if fsync:
            self.fs.fsync(None, h)
        if dirsync:
            self.fs.fsyncdir(os.path.dirname(path) or "/")
        return h

    # -- new files --
    def test_unsynced_new_file_vanishes(self):
        self.new_file("/a", b"hello")
        self.assertEqual(self.fs.read(self.fs.open("/a"), 0, 100), b"hello")
        self.assertEqual(self.after_cut(), {})

    def test_fsynced_file_without_directory_fsync_vanishes(self):
        self.new_file("/a", b"hello", fsync=True)
        self.assertEqual(self.after_cut(), {})

    def test_file_and_directory_fsync_survive(self):
        self.new_file("/a", b"hello", fsync=True, dirsync=True)
        self.assertEqual(self.after_cut(), {"a": b"hello"})

    def test_directory_fsync_alone_keeps_an_empty_file(self):
        h = self.new_file("/a")
        self.fs.fsyncdir("/")
        self.fs.write(h, 0, b"later")
        self.assertEqual(self.after_cut(), {"a": b""})

    # -- data of durable files --
    def test_overwrite_is_volatile_until_fsync(self):
        h = self.new_file("/a", b"A" * 10000, fsync=True, dirsync=True)
        self.fs.write(h, 5000, b"B" * 100)
        self.assertEqual(self.after_cut(), {"a": b"A" * 10000})
        h = self.fs.open("/a")
        self.fs.write(h, 5000, b"B" * 100)
        self.fs.fsync(None, h)
        self.fs.write(h, 0, b"C")  # after the fsync: lost
        self.assertEqual(self.after_cut(), {"a": b"A" * 5000 + b"B" * 100 + b"A" * 4900})

    def test_truncate_then_grow_reads_zeros_and_is_volatile(self):
        h = self.new_file("/a", b"x" * (3 * BLOCK), fsync=True, dirsync=True)
        self.fs.truncate(None, 100, h)
        self.fs.truncate(None, 2 * BLOCK, h)
        want = b"x" * 100 + bytes(2 * BLOCK - 100)
        self.assertEqual(self.fs.read(h, 0, 3 * BLOCK), want)
        self.assertEqual(self.after_cut(), {"a": b"x" * (3 * BLOCK)})
        h = self.fs.open("/a")
        self.fs.truncate(None, 100, h)
        self.fs.write(h, BLOCK + 10, b"yy")
        self.fs.fsync(None, h)
        want = b"x" * 100 + bytes(BLOCK - 90) + b"yy"
        self.assertEqual(self.after_cut(), {"a": want})

    def test_random_io_matches_an_oracle_and_fsync_persists_it(self):
        rng = random.Random(7)
        h = self.new_file("/f", fsync=True, dirsync=True)
        oracle, durable = bytearray(), b""
        for step in range(400):
            op = rng.random()
            if op < 0.6:
                off = rng.randrange(0, 6 * BLOCK)
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2 * BLOCK)))
                self.fs.write(h, off, data)
                if off > len(oracle):
                    oracle += bytes(off - len(oracle))
                oracle[off:off + len(data)] = data
            elif op < 0.75:
                n = rng.randrange(0, 7 * BLOCK)
                self.fs.truncate(None, n, h)
                oracle = oracle[:n] + bytes(max(0, n - len(oracle)))
            elif op < 0.85:
                self.fs.fsync(None, h)
                durable = bytes(oracle)
            off = rng.randrange(0, 7 * BLOCK)
            self.assertEqual(self.fs.read(h, off, 3 * BLOCK), bytes(oracle[off:off + 3 * BLOCK]),
                             f"step {step}")
            self.assertEqual(self.fs.getattr("/f")["st_size"], len(oracle))
        self.assertEqual(self.after_cut(), {"f": durable})

    # -- namespace --
    def test_unlink_is_volatile_until_directory_fsync(self):
        self.new_file("/a", b"keep", fsync=True, dirsync=True)
        self.fs.unlink("/a")
        self.assertEqual(self.fs.readdir("/"), [])
        self.assertEqual(self.after_cut(), {"a": b"keep"})
        self.fs.unlink("/a")
        self.fs.fsyncdir("/")
        self.assertEqual(self.after_cut(), {})

    def test_rename_over_without_data_fsync_leaves_an_empty_file(self):
        self.new_file("/cfg", b"old", fsync=True, dirsync=True)
        self.new_file("/cfg.tmp", b"new")
        self.fs.rename("/cfg.tmp", "/cfg")
        self.assertEqual(self.after_cut(), {"cfg": b"old"}, "rename not durable without dir fsync")
        self.new_file("/cfg.tmp", b"new")
        self.fs.rename("/cfg.tmp", "/cfg")
        self.fs.fsyncdir("/")
        self.assertEqual(self.after_cut(), {"cfg": b""}, "no auto_da_alloc: data was never fsynced")

    def test_rename_across_directories_is_one_durable_step(self):
        self.fs.mkdir("/d", 0o755)
        self.fs.fsyncdir("/")
        self.new_file("/d/x", b"data", fsync=True, dirsync=True)
        self.fs.rename("/d/x", "/y")
        self.fs.fsyncdir("/d")  # the source directory only
        self.assertEqual(self.after_cut(), {"d": None, "y": b"data"})

    def test_open_unlinked_file_keeps_its_bytes_but_not_on_disk(self):
        self.fs.release(self.new_file("/a", b"durable", fsync=True, dirsync=True))
        h = self.fs.open("/a")
        self.fs.unlink("/a")
        self.fs.fsyncdir("/")
        self.fs.write(h, 0, b"D")
        self.fs.fsync(None, h)
        self.assertEqual(self.fs.read(h, 0, 100), b"Durable")
        self.assertEqual(tree(self.backing), {})
        self.fs.release(h)
        self.assertEqual(os.listdir(self.fs.limbo), [])
        self.assertEqual(self.after_cut(), {})

    def test_new_directory_fsync_brings_its_own_entry(self):
        self.fs.mkdir("/state", 0o755)
        self.new_file("/state/q", b"1", fsync=True, dirsync=True)
        self.assertEqual(self.after_cut(), {"state": None, "state/q": b"1"})

    def test_clean_unmount_syncs_everything(self):
        self.fs.mkdir("/s", 0o755)
        self.new_file("/s/a", b"A")
        h = self.new_file("/b", b"B" * 5000)
        self.fs.truncate(None, 10, h)
        self.fs.sync_all()
        self.assertEqual(self.after_cut(), {"s": None, "s/a": b"A", "b": b"B" * 10})

    # -- after the cut --
    def test_every_operation_fails_with_eio_after_the_cut(self):
        h = self.new_file("/a", b"x", fsync=True, dirsync=True)
        self.fs.power_cut()
        for call in (lambda: self.fs.read(h, 0, 1), lambda: self.fs.write(h, 0, b"y"),
                     lambda: self.fs.fsync(None, h), lambda: self.fs.create("/b", 0o644),
                     lambda: self.fs.getattr("/a"), lambda: self.fs.readdir("/")):
            with self.assertRaises(OSError) as caught:
                call()
            self.assertEqual(caught.exception.errno, errno.EIO)


if __name__ == "__main__":
    unittest.main(verbosity=2)
