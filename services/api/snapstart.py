"""What the API refreshes when Lambda SnapStart resumes it from a snapshot (production and staging).

Lambda runs the init phase once (imports, the app, :func:`services.api.resources.build_resources`), takes
a snapshot, and resumes every new execution environment of that version from it, for as long as the
version serves: hours or weeks later, many environments at once. AWS's guidance for SnapStart ("Handling
uniqueness with Lambda SnapStart", and the Python runtime hooks of the ``snapshot-restore-py`` package) is
to regenerate after a restore whatever init made that must be unique or fresh. For this API that is:

* **randomness**: the :mod:`random` module's generator state is in the snapshot, so every restored
  environment would draw the same sequence (botocore's retry jitter uses it); it is reseeded from the
  operating system. ``secrets``, ``os.urandom`` and ``uuid4`` read the kernel, whose entropy Lambda
  renews on restore, and need nothing;
* **open connections**: a socket in the snapshot is dead in the restored environment. The read pool's idle
  connections and the write engine's pool are dropped without a goodbye; the next request connects. (The
  AWS SDK clients retry a dropped connection themselves, and take the execution role's credentials from
  the endpoint Lambda provides to restored environments.)
* **secrets and keys whose age is timed on the snapshot's clock**: the database login (an IAM token is
  signed per connection, but the SDK client that signs it holds the AWS credentials it resolved) and the
  Clerk JWKS (kept an hour, timed on ``time.monotonic``, a clock that does not count the time the snapshot
  slept); the secrets read from SSM keep no age at all. All are forgotten, so each is read afresh on its
  first use (one call each).

None of these is built during init today (the pool connects, the secrets are read and the JWKS fetched by
the first request that needs them), so on a plain restore the hooks find little to do; they make sure that
stays true when init changes (priming, an eager connection).

:func:`register` hands :func:`after_restore` to the runtime; ``services.api.handler`` calls it on import,
so it runs only on Lambda (where hooks run only for SnapStart versions).
"""

from __future__ import annotations

import logging
import random

from services.api.resources import Resources

__all__ = ["after_restore", "register"]

log = logging.getLogger("reggie.api")


def after_restore(resources: Resources) -> None:
    """Make a restored environment's state its own: reseed, drop connections, forget timed secrets."""
    random.seed()  # from os.urandom: this environment's own sequence
    resources.forget_snapshot_state()
    log.info("resumed from a SnapStart snapshot: reseeded, connections dropped, cached secrets forgotten")


def register(resources: Resources) -> None:
    """Register :func:`after_restore` for ``resources`` with the Lambda runtime's SnapStart hooks."""
    from snapshot_restore_py import register_after_restore  # noqa: PLC0415 - the Lambda zip's, a tiny module

    register_after_restore(after_restore, resources)
