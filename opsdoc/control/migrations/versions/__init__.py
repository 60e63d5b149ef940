"""The register's revisions, oldest first; database.REVISIONS names them."""
