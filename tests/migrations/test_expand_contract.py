"""Expand and contract: a revision's upgrade must not break the code still serving the old schema.

The API deploys after the migrator, so for a few minutes the previous release runs against the new
schema. An ``upgrade()`` may therefore add (tables, nullable columns, columns with defaults,
indexes) but not drop, rename or tighten, unless its docstring declares a ``Contract:`` step, which
is allowed once no deployed code reads the old shape. The first revision creates the schema and
is exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

from services.core.schema import REPO_ROOT

VERSIONS = REPO_ROOT / "migrations" / "versions"
_DESTRUCTIVE_OPS = {"drop_table", "drop_column", "drop_constraint", "rename_table", "drop_index"}


def destructive_steps(source: str) -> list[str]:
    """The destructive operations in ``upgrade()`` of a revision that does not declare ``Contract:``."""
    tree = ast.parse(source)
    if "Contract:" in (ast.get_docstring(tree) or ""):
        return []
    upgrade = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"), None)
    found: list[str] = []
    for node in ast.walk(upgrade) if upgrade is not None else ():
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        keywords = {k.arg: k.value for k in node.keywords}
        tightens = name == "alter_column" and ("new_column_name" in keywords or _is_false(keywords.get("nullable")))
        raw_sql = name == "execute" and node.args and _mentions_drop(node.args[0])
        if name in _DESTRUCTIVE_OPS or tightens or raw_sql:
            found.append(f"line {node.lineno}: op.{name}")
    return found


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _mentions_drop(node: ast.expr) -> bool:
    text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
    return any(word in text.upper() for word in ("DROP TABLE", "DROP COLUMN", "RENAME", "SET NOT NULL"))


def test_revisions_after_the_first_only_expand() -> None:
    revisions = sorted(VERSIONS.glob("*.py"))
    assert revisions, "no revisions found"
    problems = {
        path.name: steps
        for path in revisions
        if not path.name.startswith("0001_") and (steps := destructive_steps(path.read_text()))
    }
    assert problems == {}, f"destructive steps without a 'Contract:' docstring: {problems}"


def test_checker_flags_destructive_steps_and_allows_declared_contracts() -> None:
    expand = 'def upgrade():\n    op.add_column("plates", sa.Column("note", sa.Text(), nullable=True))\n'
    drop = 'def upgrade():\n    op.drop_column("plates", "description")\n'
    tighten = 'def upgrade():\n    op.alter_column("plates", "description", nullable=False)\n'
    raw = 'def upgrade():\n    op.execute("ALTER TABLE plates DROP COLUMN description")\n'
    assert destructive_steps(expand) == []
    assert destructive_steps(drop) == ["line 2: op.drop_column"]
    assert destructive_steps(tighten) == ["line 2: op.alter_column"]
    assert destructive_steps(raw) == ["line 2: op.execute"]
    assert destructive_steps('"""Contract: description unused since release 12."""\n' + drop) == []


def test_every_revision_has_a_downgrade() -> None:
    for path in Path(VERSIONS).glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert {"upgrade", "downgrade"} <= names, path.name
