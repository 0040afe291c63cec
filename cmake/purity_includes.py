#!/usr/bin/python3
"""cmake/purity_includes.py — pure targets include no Asio, OpenSSL, c-ares or SQLite header.

Owns: the include half of the purity check (cmake/purity.cmake has the link half and the
list of pure targets). Reads <build>/purity/pure/<target>.txt and io/<target>.txt (first
line the target's source directory, then its sources, as CMake generated them). For each
pure target it follows every project header its sources include ("..." resolved against
the source root, transitively; a .cpp's own .hpp is checked too) and reports each file
that includes a forbidden system header or a header of an I/O target, with the chain of
includes that reached it.
Exception: policy/password_hash.cpp may include <openssl/evp.h> and <openssl/crypto.h>
(PBKDF2 from libcrypto; see cmake/purity.cmake).
Exit status: 0 clean, 1 with one line per violation on stderr, 2 on bad arguments.
Usage: purity_includes.py SOURCE_ROOT PURITY_DIR
"""

import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)
FORBIDDEN_SYSTEM = ("boost/asio", "boost/beast", "openssl/", "ares.h", "ares_", "sqlite3.h", "sqlite3ext.h")
ALLOWED = {("policy/password_hash.cpp", "openssl/evp.h"), ("policy/password_hash.cpp", "openssl/crypto.h")}
HEADER_SUFFIXES = (".hpp", ".h")


def read_list(path: Path):
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    source_dir = Path(lines[0])
    return [p if p.is_absolute() else source_dir / p for p in map(Path, lines[1:])]


def with_own_headers(files):
    """A target's sources plus the header beside each .cpp (its interface)."""
    out = []
    for f in files:
        out.append(f)
        if f.suffix == ".cpp":
            out.extend(f.with_suffix(s) for s in HEADER_SUFFIXES if f.with_suffix(s).exists())
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, purity = Path(argv[1]).resolve(), Path(argv[2])
    pure_lists = sorted((purity / "pure").glob("*.txt"))
    if not pure_lists:
        print(f"purity: no generated lists under {purity}/pure", file=sys.stderr)
        return 2
    io_headers = set()
    for listing in sorted((purity / "io").glob("*.txt")):
        for f in with_own_headers(read_list(listing)):
            if f.suffix in HEADER_SUFFIXES:
                io_headers.add(f.resolve())
    pure_files = set()
    for listing in pure_lists:
        pure_files.update(f.resolve() for f in with_own_headers(read_list(listing)))
    io_headers -= pure_files  # a header both list (none today) counts as pure

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(root))
        except ValueError:
            return str(path)

    problems = []
    for listing in pure_lists:
        target = listing.stem
        chains = {f.resolve(): [rel(f.resolve())] for f in with_own_headers(read_list(listing))}
        pending = list(chains)
        while pending:
            current = pending.pop()
            if not current.exists():
                continue
            text = current.read_text(errors="replace")
            for match in INCLUDE.finditer(text):
                kind, name = match.group(1), match.group(2)
                line = text.count("\n", 0, match.start()) + 1
                where = f"{rel(current)}:{line}"
                via = " <- ".join(reversed(chains[current]))
                if kind == "<":
                    if name.startswith(FORBIDDEN_SYSTEM) and (rel(current), name) not in ALLOWED:
                        problems.append(f"{target}: {where} includes <{name}> (via {via})")
                    continue
                resolved = next((c.resolve() for c in (root / name, current.parent / name) if c.exists()), None)
                if resolved is None:
                    continue
                if resolved in io_headers:
                    problems.append(f"{target}: {where} includes \"{name}\", a header of an I/O target (via {via})")
                    continue
                if resolved not in chains:
                    chains[resolved] = chains[current] + [rel(resolved)]
                    pending.append(resolved)
    for problem in sorted(set(problems)):
        print(f"purity: {problem}", file=sys.stderr)
    if problems:
        print("purity: pure targets must not include Asio, Beast, OpenSSL, c-ares, SQLite or I/O headers "
              "(cmake/purity.cmake)", file=sys.stderr)
        return 1
    print(f"purity: {len(pure_lists)} pure targets include no I/O header")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
