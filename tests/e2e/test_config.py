#!/usr/bin/python3
"""tests/e2e/test_config.py — `hubrelay check-config` and start-up failures.

Owns: the command-line contract for configuration: the shipped example and the
harness's own generated config are valid (exit 0, "configuration OK"); a broken file
gives exit 2 and one `FILE:LINE: KEY: message` line per problem — every problem, each
with the right line; an unreadable file is exit 2 too; `serve` fails fast with exit 1
when it cannot bind, and never starts on an invalid config; the start-up log names the
node and queue backend, which a reload does not change; a PostgreSQL conninfo file that others can read is refused,
naming the file and never showing its text.
Never: asserts timing (process runs are bounded by timeouts only).
"""

import re
import shutil
import signal
import socket
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (INBOUND_HOST, SOURCE_DIR, E2ETestCase, Hop, relay_binary,  # noqa: E402
                     run_cli, wait_for)

DIAG = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<key>[^\s:]+): (?P<msg>.+)$")


def diagnostics(proc):
    out = []
    for text in (proc.stdout + "\n" + proc.stderr).splitlines():
        m = DIAG.match(text.strip())
        if m:
            out.append((m["file"], int(m["line"]), m["key"], m["msg"]))
    return out


def line_of(text, needle, start=0):
    """1-based number of the first line containing `needle` at or after line `start`."""
    for n, row in enumerate(text.splitlines(), 1):
        if n >= start and needle in row:
            return n
    raise AssertionError(f"{needle!r} not in config")


class CheckConfigTest(E2ETestCase):
    def check(self, path):
        return run_cli(["check-config", "--config", str(path)])

    def test_example_config_is_valid(self):
        path = self.dir / "hubrelay.example.toml"
        shutil.copy(SOURCE_DIR / "conf" / "hubrelay.example.toml", path)
        proc = self.check(path)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("configuration OK", proc.stdout + proc.stderr)

    def test_harness_generated_config_is_valid(self):
        _, path = self.make_config([Hop("hub", 2601)], [Hop("a", 2602), Hop("b", 2603)])
        proc = self.check(path)
        self.assertEqual(proc.returncode, 0, path.read_text() + proc.stdout + proc.stderr)
        self.assertIn("configuration OK", proc.stdout + proc.stderr)

    def test_broken_config_reports_every_problem_with_its_line(self):
        _, good = self.make_config([Hop("hub", 2601)], [Hop("a", 2602)])
        text = good.read_text()
        text = text.replace('hostname = "relay.test"\n',
                            'hostname = "relay.test"\nbogus_key = 1\n', 1)
        text = re.sub(r'bind = \["127\.0\.0\.1:\d+"\]', 'bind = ["999.1.1.1:25"]', text, count=1)
        text = text.replace('{ hop = "a",', '{ hop = "nosuch",', 1)
        path = self.dir / "broken.toml"
        path.write_text(text)
        want = {
            "unknown key": line_of(text, "bogus_key"),
            "bad bind": line_of(text, 'bind = ["999.1.1.1:25"]'),
            "unknown hop": line_of(text, 'hop = "nosuch"'),
        }

        proc = self.check(path)
        output = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 2, output)
        diags = diagnostics(proc)
        self.assertTrue(diags, f"no FILE:LINE: KEY: message lines in:\n{output}")
        for file, _, _, _ in diags:
            self.assertTrue(file.endswith("broken.toml"), f"file part {file!r}")
        found = {
            "unknown key": [d for d in diags if "bogus_key" in d[2]],
            "bad bind": [d for d in diags if "bind" in d[2]],
            "unknown hop": [d for d in diags if "hop" in d[2] and "nosuch" in d[3]],
        }
        for problem, line in want.items():
            with self.subTest(problem=problem):
                self.assertTrue(found[problem], f"{problem} not reported:\n{output}")
                self.assertEqual(found[problem][0][1], line,
                                 f"{problem}: wrong line in {found[problem][0]}")

    def test_unreadable_file_is_exit_2(self):
        proc = self.check(self.dir / "does-not-exist.toml")
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("does-not-exist.toml", proc.stdout + proc.stderr)


class ServeStartupTest(E2ETestCase):
    def serve(self, path):
        try:
            return subprocess.run([relay_binary(), "serve", "--config", str(path)],
                                  capture_output=True, text=True, timeout=20,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            self.fail(f"serve did not exit within 20 s: {e.stderr}")

    def test_port_in_use_is_exit_1(self):
        cfg, path = self.make_config([Hop("hub", 2601)], [Hop("a", 2602)])
        with socket.socket() as holder:
            holder.bind((INBOUND_HOST, cfg.inbound_port))
            holder.listen()
            proc = self.serve(path)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)

    def test_invalid_config_does_not_serve(self):
        _, path = self.make_config([Hop("hub", 2601)], [Hop("a", 2602)])
        path.write_text(path.read_text().replace('{ hop = "a",', '{ hop = "nosuch",'))
        proc = self.serve(path)
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("nosuch", proc.stdout + proc.stderr)

    def test_start_log_names_the_node_and_queue_backend(self):
        cfg, path = self.make_config([Hop("hub", 2601)], [Hop("a", 2602)])
        path.write_text(cfg.render().replace("[queue]\n", '[queue]\nnode = "relay-e2e-1"\n', 1))
        relay = self.start_relay(cfg, path)
        self.assertIn("node=relay-e2e-1 queue=sqlite", relay.log_text())
        # The name is fixed at start: a reload that changes it keeps the running one.
        path.write_text(cfg.render().replace("[queue]\n", '[queue]\nnode = "relay-e2e-2"\n', 1))
        relay.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in relay.log_text(), 30, "the reload in the relay log")
        self.assertIn("[queue] node and backend change only on restart; still node=relay-e2e-1 queue=sqlite",
                      relay.log_text())

    def test_conninfo_file_others_can_read_is_refused_without_echoing_it(self):
        cfg, path = self.make_config([Hop("hub", 2601)], [Hop("a", 2602)])
        conninfo = self.dir / "pg.conninfo"
        conninfo.write_text("host=127.0.0.1 dbname=hubrelay user=hubrelay password=Sekr1t-e2e\n")
        conninfo.chmod(0o644)
        text = cfg.render().replace("[queue]\n", '[queue]\nbackend = "postgresql"\n', 1).replace(
            "[delivery]\n", '[queue.postgresql]\nconninfo_file = "pg.conninfo"\n\n[delivery]\n', 1)
        path.write_text(text)
        proc = run_cli(["check-config", "--config", str(path)])
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 2, out)
        self.assertIn((str(path), line_of(text, "conninfo_file ="), "queue.postgresql.conninfo_file",
                       f"conninfo file {conninfo} is readable by others; chmod 600 (or 640 with the hubrelay group)"),
                      diagnostics(proc), out)
        self.assertNotIn("Sekr1t", out)
        proc = self.serve(path)
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertNotIn("Sekr1t", proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
