"""Runs many real aws CLI commands in one process (the CLI's own ``clidriver.main``).

Each ``aws`` process spends most of its ~0.7 s importing; the parity suite runs 70+
commands, so one process runs them all, each with a fresh driver and its own captured
stdout/stderr, exactly the code path of the ``aws`` entry point. Reads a JSON list of
argv lists on stdin, writes a JSON list of {rc, out, err}.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


def main() -> None:
    from awscli.clidriver import create_clidriver

    results = []
    for argv in json.load(sys.stdin):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = create_clidriver().main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
        results.append({"rc": rc, "out": out.getvalue(), "err": err.getvalue()})
    sys.__stdout__.write(json.dumps(results))


if __name__ == "__main__":
    main()
