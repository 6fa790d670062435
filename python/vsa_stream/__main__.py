"""``python -m vsa_stream``: the command line."""

from __future__ import annotations

import sys

from vsa_stream.cli.main import main

sys.exit(main())
