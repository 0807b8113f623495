"""Removing what a test's stack left outside its temp dir: as root, a data dir PostgreSQL's
account cannot enter keeps its cluster under /var/lib/mirror-stage (mirror_stage.postgres)."""

from pathlib import Path

from mirror_stage.postgres import postgres_account, postgres_root
from mirror_stage.shared_clusters import remove_cluster


def remove_shared_database(data_dir: Path, base: Path) -> None:
    """Remove the cluster of `data_dir` (and its owner record) when it lies outside `base`."""
    root = postgres_root(data_dir, postgres_account()) if data_dir.exists() else data_dir
    if not root.is_relative_to(base):
        remove_cluster(root)
