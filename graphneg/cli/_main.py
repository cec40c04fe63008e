"""Command line: ``graphneg batches`` (the main job), ``graphneg citations`` (corpus
preprocessing), ``graphneg mine`` (hard negatives for text pairs), ``graphneg stats`` (batch
diagnostics) and ``graphneg inspect`` (summary, plots and a report before training).

A thin shell over the library: parse, check the outputs, call, print. Every error is one line
``graphneg: error: ...`` on stderr with a non-zero exit status (2 for bad input, 1 for an
unexpected failure; ``GRAPHNEG_DEBUG=1`` shows its traceback), never a traceback by default.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from .._version import __version__
from . import _batches, _citations, _inspect, _mine, _stats


def build_parser() -> argparse.ArgumentParser:
    """The ``graphneg`` argument parser with its subcommands.

    Returns
    -------
    argparse.ArgumentParser

    See Also
    --------
    main : parses a command line with it and runs the subcommand.

    Examples
    --------
    >>> build_parser().parse_args(["stats", "b.jsonl"]).batches.name
    'b.jsonl'
    """
    parser = argparse.ArgumentParser(
        prog="graphneg",
        description="Graph-built batches and negatives for contrastive training.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (_batches, _citations, _mine, _stats, _inspect):
        _add_command(sub, command)
    return parser


def _add_command(sub: argparse._SubParsersAction, command: ModuleType) -> None:
    """Register the subcommand that ``command`` defines: its ``NAME``, ``SUMMARY`` and
    ``DESCRIPTION``, ``add_options(parser)`` and ``run(args) -> exit status``."""
    parser = sub.add_parser(
        command.NAME, help=command.SUMMARY, description=command.DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_options(parser)
    parser.set_defaults(run=command.run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad input (one line on stderr), 1 for an unexpected failure,
        130 when interrupted.

    See Also
    --------
    build_parser : the subcommands and their options.
    graphneg.inspect : what ``graphneg inspect`` runs, as a library call.
    graphneg.mine_hard_negatives : what ``graphneg mine`` runs on the encoded texts.

    Examples
    --------
    >>> main(["stats", "no-such-file.jsonl"])
    2
    """
    from ..exceptions import BackendUnavailableError

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, TypeError, OSError, BackendUnavailableError) as err:
        _error(err)
        return 2
    except KeyboardInterrupt:
        print("graphneg: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: still one line, the traceback on request
        if os.environ.get("GRAPHNEG_DEBUG"):
            raise
        _error(f"{type(err).__name__}: {err} (internal error; rerun with GRAPHNEG_DEBUG=1 for the traceback)")
        return 1


def _error(err: object) -> None:
    message = " ".join(str(err).split()) or type(err).__name__  # always a single line
    print(f"graphneg: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
