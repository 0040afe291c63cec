#!/usr/bin/python3
"""tests/e2e/test_cli.py — the command line itself: help, version, usage errors, exit codes.

Owns: every subcommand answers --help on stdout with exit 0; --version prints the
version; an unknown option is named in the error and is exit 2 for every command; a
missing option value is exit 2; an operational failure (the daemon's admin endpoint
down for `stats`) is exit 1 with a message an operator can act on (no source paths).
Never: starts the daemon; every process run is bounded by a timeout.
"""

import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import SOURCE_DIR, E2ETestCase, free_port, run_cli  # noqa: E402

HELP_PATHS = (["serve"], ["check-config"], ["queue"], ["queue", "list"], ["queue", "show"],
              ["queue", "retry"], ["queue", "summary"], ["route"], ["route", "explain"],
              ["health"], ["stats"], ["hash-password"], ["alert", "test"], ["version"])


class CliTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        # The example configuration with the admin endpoint on a port nobody listens on.
        text = (SOURCE_DIR / "conf" / "hubrelay.example.toml").read_text()
        text = text.replace('listen = "127.0.0.1:8025"', f'listen = "127.0.0.1:{free_port()}"')
        self.config = self.dir / "hubrelay.toml"
        self.config.write_text(text)

    def test_every_subcommand_has_help(self):
        for path in HELP_PATHS:
            for flag in ("--help", "-h"):
                r = run_cli([*path, flag])
                self.assertEqual(r.returncode, 0, f"{path} {flag}: {r.stderr}")
                self.assertTrue(r.stdout.startswith("usage: hubrelay "), f"{path}: {r.stdout}")
                self.assertIn("--config FILE", r.stdout, path)
                self.assertEqual(r.stderr, "", path)
        r = run_cli(["--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("commands:", r.stdout)

    def test_version(self):
        for args in (["--version"], ["version"]):
            r = run_cli(args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^hubrelay \d+\.\d+\.\d+")

    def test_unknown_option_is_named_and_exits_2_everywhere(self):
        for path in (["serve"], ["check-config"], ["health"], ["stats"], ["hash-password"],
                     ["queue", "list"], ["queue", "show", "ABC"], ["queue", "retry", "--all"],
                     ["route", "explain", "a@example.com"], []):
            r = run_cli([*path, "--bogus", "--config", str(self.config)])
            self.assertEqual(r.returncode, 2, f"{path}: {r.stdout} {r.stderr}")
            self.assertIn("unknown option --bogus", r.stderr, path)

    def test_missing_value_and_stray_arguments_exit_2(self):
        for args, expect in ((["queue", "list", "--state"], "option --state needs a value"),
                             (["route", "explain", "a@example.com", "--direction"],
                              "option --direction needs a value"),
                             (["serve", "extra"], "unexpected argument 'extra'"),
                             (["queue", "frobnicate"], "unknown queue command 'frobnicate'"),
                             (["frobnicate"], "unknown command 'frobnicate'"),
                             ([], "usage: hubrelay")):
            r = run_cli([*args, "--config", str(self.config)] if args else [])
            self.assertEqual(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
            self.assertIn(expect, r.stderr, args)

    def test_stats_with_the_daemon_down_is_exit_1_without_source_paths(self):
        r = run_cli(["stats", "--config", str(self.config)])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot reach the daemon's admin endpoint", r.stderr)
        self.assertIn("Connection refused", r.stderr)
        self.assertNotRegex(r.stderr, re.compile(r"/usr/include|boost/|\.hpp|\.ipp"))

    def test_check_config_of_a_missing_file_is_exit_2(self):
        r = run_cli(["check-config", "--config", str(self.dir / "absent.toml")])
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
