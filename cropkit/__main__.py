"""``python -m cropkit``: same as the ``cropkit`` command."""

from .face.cli import main

raise SystemExit(main())
