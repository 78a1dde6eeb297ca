"""``python -m cropkit``: same as the ``cropkit`` command."""

from .cli import main

raise SystemExit(main())
