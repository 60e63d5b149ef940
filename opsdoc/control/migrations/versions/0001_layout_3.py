"""The register as opsdoc 0.2 left it (SQLite layout 3): documents, issued versions, copies, reviews.

An SQLite register of that layout is recorded as this revision without running it; a new register,
on SQLite or PostgreSQL, starts here. Written out, not taken from today's tables: it stays as it was.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_VERSION = [
    "title",
    "version",
    "compiled_by",
    "compiled_on",
    "reviewed_by",
    "reviewed_on",
    "approved_by",
    "approved_on",
    "effective_on",
    "secrecy",
    "note",
    "docx_path",
    "docx_sha256",
    "pdf_path",
    "pdf_sha256",
]
_LATER = [
    "superseded_at",
    "superseded_by",
    "withdrawn_at",
    "withdrawn_by",
    "void_docx_path",
    "void_docx_sha256",
    "redline_path",
    "redline_sha256",
    "notes_path",
    "notes_sha256",
    "disposed_at",
    "disposed_by",
]


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("file_code", sa.Text, primary_key=True),
        sa.Column("collision_key", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
    )
    op.create_table(
        "issued",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_code", sa.Text, sa.ForeignKey("documents.file_code"), nullable=False),
        *(sa.Column(name, sa.Text, nullable=False) for name in _VERSION),
        sa.Column("void_pdf_path", sa.Text),
        sa.Column("void_pdf_sha256", sa.Text),
        sa.Column("issued_at", sa.Text, nullable=False),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("acknowledged", sa.Text, nullable=False, server_default=""),
        *(sa.Column(name, sa.Text) for name in _LATER),
        sa.Column("files_removed", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("file_code", "version"),
    )
    op.create_table(
        "copies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_code", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("number", sa.Text),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        *(
            sa.Column(name, sa.Text, nullable=False)
            for name in ("distributed_on", "distributed_by", "pdf_name", "pdf_sha256")
        ),
        sa.Column("recalled_on", sa.Text),
        sa.Column("recalled_by", sa.Text),
        sa.UniqueConstraint("file_code", "version", "number"),
        sa.ForeignKeyConstraint(["file_code", "version"], ["issued.file_code", "issued.version"]),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_code", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("reviewed_on", "reviewed_by", "conclusion")),
        sa.ForeignKeyConstraint(["file_code", "version"], ["issued.file_code", "issued.version"]),
    )


def downgrade() -> None:
    for table in ("reviews", "copies", "issued", "documents"):
        op.drop_table(table)
