"""Model artifacts: safe archive handling (pack, extract, checksum) and on-disk storage.

Layer: beside ``store`` (neither imports the other), below ``api``; imports only ``errors``.
"""

from __future__ import annotations

from shipyard.registry.archive import pack_tree, safe_extract, tree_checksum
from shipyard.registry.storage import ArtifactStorage, IngestedArtifact

__all__ = ["ArtifactStorage", "IngestedArtifact", "pack_tree", "safe_extract", "tree_checksum"]
