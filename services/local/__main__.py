"""``python -m services.local`` (what ``make dev`` runs): see :mod:`services.local.stack`."""

from services.local.stack import main

raise SystemExit(main())
