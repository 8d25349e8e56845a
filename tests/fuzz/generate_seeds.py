#!/usr/bin/env python3
"""Writes the generated seeds of corpus/spec_parser/: the hostile inputs too
big or too binary to write by hand. Deterministic; re-run after editing.

  python3 tests/fuzz/generate_seeds.py

A seed's name says what the parser must do with it: ok-* parses, bad-* is
refused (spec_corpus_replay_test.cc checks both). Every seed stays under
64 KiB, the fuzzer's -max_len.
"""
import pathlib
import random

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus" / "spec_parser"
HEAD = "name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n"
LIMIT = 64 * 1024


def write(name: str, data) -> None:
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < LIMIT, (name, len(data))
    (CORPUS / name).write_bytes(data)


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)

    # Billion laughs: 9 levels of 9 aliases, 9^9 values once expanded.
    lines = [HEAD + "config:\n", '  l0: &l0 "lol"\n']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"  l{level}: &l{level} [{refs}]\n")
    write("bad-alias-bomb.yaml", "".join(lines))

    # Few values, many bytes: 10^4 references to a 5 KB string (50 MB).
    lines = [HEAD + "config:\n", f'  s0: &s0 "{"x" * 5000}"\n']
    for level in range(1, 5):
        refs = ", ".join([f"*s{level - 1}"] * 10)
        lines.append(f"  s{level}: &s{level} [{refs}]\n")
    write("bad-alias-bomb-long-strings.yaml", "".join(lines))

    # A chain of aliases, each one level deeper than the one before.
    lines = [HEAD + "config:\n", "  c0: &c0 [end]\n"]
    for i in range(1, 2000):
        lines.append(f"  c{i}: &c{i} [*c{i - 1}]\n")
    write("bad-alias-chain-deep.yaml", "".join(lines))

    # A cycle through a long key: the field name must not grow with it.
    write("bad-alias-cycle-long-key.yaml",
          HEAD + f"config: &loop\n  ? {'k' * 30000}\n  : *loop\n")

    # 10,000 levels of flow nesting, closed and unclosed, in config and at
    # the root.
    write("bad-deep-nesting-seq.yaml",
          HEAD + "config:\n  deep: " + "[" * 10000 + "]" * 10000 + "\n")
    write("bad-deep-nesting-map.yaml",
          HEAD + "config: " + "{k: " * 10000 + "v" + "}" * 10000 + "\n")
    write("bad-deep-nesting-unclosed.yaml", "[" * 10000)

    # Deep but reasonable: 100 levels of block nesting.
    lines = [HEAD + "config:\n"]
    for depth in range(1, 101):
        lines.append(" " * depth + "k:\n")
    write("ok-config-deep-100.yaml", "".join(lines))

    # One 60 KB scalar.
    write("ok-huge-scalar.yaml",
          HEAD + "services:\n  - name: web\n    command: python -m hello "
          + "a" * 60000 + "\n")

    # Hundreds of mistakes: the message lists 50 and counts the rest.
    write("bad-many-problems.yaml",
          HEAD + "".join(f"unknown_{i}: {i}\n" for i in range(400)))

    # Windows line endings and a byte order mark.
    write("ok-crlf-bom.yaml",
          b"\xef\xbb\xbf" + (HEAD + "config:\n  port: 8000\n").replace("\n", "\r\n").encode())

    # Raw bytes that are not text.
    rng = random.Random(1)
    write("bad-binary-garbage.bin", bytes(rng.randrange(256) for _ in range(4096)))
    write("bad-invalid-utf8.yaml",
          HEAD.encode() + b"services:\n  - name: web\n    command: \"caf\xe9 \xff\"\n")
    write("bad-raw-nul-byte.yaml",
          HEAD.encode() + b"services:\n  - name: web\n    command: python -m hello\x00 web\n")


if __name__ == "__main__":
    main()
