"""The command line: ``vsa-stream`` (:func:`main`) and its subcommands, one module each.

``main`` parses the arguments and dispatches; ``cluster``, ``outbox``, ``reload``, ``report``,
``webhook`` and ``demo`` hold the subcommands of those names, ``loadgen`` the load generator
(``python -m vsa_stream.cli.loadgen``). Nothing below the command line imports this package.
"""

from __future__ import annotations

from vsa_stream.cli.main import main

__all__ = ["main"]
