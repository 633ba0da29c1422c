"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Expand and contract: this revision must work while the previous release's code is still serving.
Add nullable columns or columns with defaults, new tables and indexes (CONCURRENTLY for big tables)
here; drop or tighten only in a later revision, once no deployed code reads the old shape, and
say so with a line starting "Contract:" in this docstring (tests/migrations/test_expand_contract.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
