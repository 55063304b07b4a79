#!/usr/bin/env python3
"""Generates C sources that embed files in the a51d binary.

  embed.py migrations OUT.c FILE...   -> const struct migration a51_migrations[]
  embed.py blob OUT.c SYMBOL FILE     -> const char SYMBOL[]; const size_t SYMBOL_len
  embed.py files OUT.c SYMBOL FILE... -> const struct embedded_file SYMBOL[]; const size_t SYMBOL_count
"""
import hashlib
import os
import re
import sys


def c_literal(data: bytes) -> str:
    # Emitted as a hex-byte initialiser so any content (quotes, NULs, UTF-8) is safe.
    lines = []
    for i in range(0, len(data), 24):
        lines.append("\t" + "".join("0x%02x," % b for b in data[i:i + 24]))
    return "\n".join(lines)


def migrations(out, files):
    files = sorted(files, key=os.path.basename)
    parts = ['#include "a51/migrate.h"', ""]
    entries = []
    for n, path in enumerate(files):
        name = os.path.basename(path)
        m = re.fullmatch(r"(\d{4})_[a-z0-9_]+\.sql", name)
        if not m:
            sys.exit("embed.py: migration file %s must be named NNNN_lower_case_name.sql" % name)
        data = open(path, "rb").read()
        parts.append("static const char m%d[] = {\n%s\n\t0x00 };" % (n, c_literal(data)))
        entries.append('\t{ %d, "%s", m%d, %d },' % (int(m.group(1)), name, n, len(data)))
    parts.append("const struct migration a51_migrations[] = {\n%s\n};" % "\n".join(entries or ["\t{ 0 }"]))
    parts.append("const size_t a51_migrations_count = %d;" % len(entries))
    open(out, "w").write("\n".join(parts) + "\n")


def blob(out, symbol, path):
    data = open(path, "rb").read()
    open(out, "w").write(
        "#include <stddef.h>\n"
        "extern const char %s[];\nextern const size_t %s_len;\n"
        "const char %s[] = {\n%s\n\t0x00 };\nconst size_t %s_len = %d;\n"
        % (symbol, symbol, symbol, c_literal(data), symbol, len(data)))


def files(out, symbol, paths):
    paths = sorted(paths, key=os.path.basename)
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) != len(names):
        sys.exit("embed.py: two embedded files share a base name in %s" % symbol)
    parts = ['#include "a51/embed.h"', ""]
    entries = []
    for n, path in enumerate(paths):
        data = open(path, "rb").read()
        parts.append("static const char f%d[] = {\n%s\n\t0x00 };" % (n, c_literal(data)))
        # A strong HTTP ETag of the content, known at build time: the web front
        # end's files answer If-None-Match without hashing anything at run time.
        etag = hashlib.sha256(data).hexdigest()[:32]
        entries.append('\t{ "%s", f%d, %d, "\\"%s\\"" },' % (os.path.basename(path), n, len(data), etag))
    parts.append("const struct embedded_file %s[] = {\n%s\n};" % (symbol, "\n".join(entries or ["\t{ 0 }"])))
    parts.append("const size_t %s_count = %d;" % (symbol, len(entries)))
    open(out, "w").write("\n".join(parts) + "\n")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "migrations":
        migrations(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "files":
        files(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 5 and sys.argv[1] == "blob":
        blob(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
