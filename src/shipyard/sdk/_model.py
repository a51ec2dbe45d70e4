"""``Model``: one version of a model in the registry (local until ``save`` uploads it)."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from shipyard.errors import InvalidInput, NotFound
from shipyard.sdk._archive import packed, unpack
from shipyard.sdk._http import Connection

ProgressCallback = Callable[[int, int], None]
"""Called while uploading with (bytes sent, total bytes)."""


def model_url(name: str, version: int | str | None = None) -> str:
    """The API path of a model's versions, or of one version (``latest`` allowed)."""
    url = f"/models/{quote(name, safe='')}/versions"
    return url if version is None else f"{url}/{quote(str(version), safe='')}"


def to_json_value(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (numpy arrays and pandas frames become lists).

    Raises:
        InvalidInput: The value cannot be written as JSON.
    """
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    if hasattr(value, "tolist"):
        value = value.tolist()
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} must be JSON-serialisable: {exc}") from exc
    return value


class _ProgressFile(io.FileIO):
    """A file opened for reading that reports how far it has been read."""

    def __init__(self, path: Path, callback: ProgressCallback) -> None:
        super().__init__(path, "rb")
        self._callback = callback
        self._total = path.stat().st_size

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self._callback(self.tell(), self._total)
        return chunk or b""


def _open_archive(path: Path, progress: ProgressCallback | None) -> BinaryIO:
    return _ProgressFile(path, progress) if progress else path.open("rb")


class Model:
    """A model version: its name, version number, framework, metadata and files.

    Created locally by ``mr.<framework>.create_model(...)`` (then ``version`` is the requested
    version or None until ``save`` uploads it), or fetched by ``mr.get_model(...)``.
    """

    def __init__(
        self,
        connection: Connection,
        name: str,
        *,
        framework: str,
        version: int | None = None,
        description: str | None = None,
        metrics: Mapping[str, float] | None = None,
        input_example: Any = None,
    ) -> None:
        self._connection = connection
        self.name = name
        self.framework = framework
        self.version = version
        self.description = description or ""
        self.metrics: dict[str, float] = dict(metrics or {})
        self.input_example = input_example
        self.checksum: str | None = None
        self.size_bytes: int | None = None
        self.files: list[str] = []
        self.created_at: str | None = None
        self.saved = False
        self.local_path: Path | None = None
        """The directory (or file) this model was saved from in this session, if any."""

    @classmethod
    def from_response(cls, connection: Connection, body: Mapping[str, Any]) -> Model:
        """Build a saved ``Model`` from the API's ``ModelVersion`` answer."""
        model = cls(connection, str(body["name"]), framework=str(body["framework"]))
        model._apply(body)
        return model

    def save(
        self, model_path: str | os.PathLike[str], *, progress: ProgressCallback | None = None
    ) -> Model:
        """Pack ``model_path`` (a directory or one file) and upload it as a new version.

        The archive is written to a temporary file and streamed, never loaded into memory.

        Args:
            model_path: The model directory (or single model file) to upload.
            progress: Optional callback receiving (bytes sent, total bytes) while uploading.

        Returns:
            This model, with ``version``, ``checksum``, ``files`` etc. filled from the server.

        Raises:
            InvalidInput: The path is missing or empty, or metadata is not JSON-serialisable.
            InvalidSpec: A specific ``version`` was requested that is not the next one (the
                registry refuses it; the message names the next one).
        """
        metadata = json.dumps(self._metadata())
        with packed(model_path) as archive, _open_archive(archive.path, progress) as handle:
            body = self._connection.json(
                "POST",
                model_url(self.name),
                data={"metadata": metadata},
                files={"artifact": ("model.tar.gz", handle, "application/gzip")},
            )
        self._apply(body)
        self.local_path = Path(model_path).resolve()
        return self

    def download(self, dest_dir: str | os.PathLike[str] | None = None) -> str:
        """Download this version's files into ``dest_dir`` (default: a new temporary directory).

        Returns:
            The directory holding the model's files.

        Raises:
            NotFound: The model has not been saved (or was deleted).
        """
        if not self.saved or self.version is None:
            raise NotFound(f"model {self.name!r} has not been saved yet: call model.save() first")
        dest = Path(dest_dir) if dest_dir else Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        fd, name = tempfile.mkstemp(prefix="shipyard-download-", suffix=".tar.gz")
        archive = Path(name)
        try:
            with os.fdopen(fd, "wb") as sink:
                self._connection.download(model_url(self.name, self.version) + "/artifact", sink)
            unpack(archive, dest)
        finally:
            archive.unlink(missing_ok=True)
        return str(dest)

    def delete(self) -> None:
        """Delete this version from the registry (as hsml's ``model.delete()``).

        Its number is never given again.

        Raises:
            NotFound: The model has not been saved, or the version is gone already.
            Conflict: A deployment uses this version (the message names it): delete the
                deployment, or update it to another version, first.
        """
        if not self.saved or self.version is None:
            raise NotFound(f"model {self.name!r} has not been saved yet: nothing to delete")
        self._connection.request("DELETE", model_url(self.name, self.version))
        self.saved = False

    def _metadata(self) -> dict[str, Any]:
        try:
            metrics = {str(k): float(v) for k, v in self.metrics.items()}
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"metrics must be numbers: {exc}") from exc
        metadata = {
            "framework": self.framework,
            "description": self.description,
            "metrics": metrics,
            "input_example": to_json_value(self.input_example, "input_example"),
        }
        if self.version is not None and not self.saved:
            # the registry checks it as it numbers the version: a deleted number is never
            # given again, so only the server knows the next one
            metadata["version"] = self.version
        return metadata

    def _apply(self, body: Mapping[str, Any]) -> None:
        self.name = str(body["name"])
        self.version = int(body["version"])
        self.framework = str(body.get("framework", self.framework))
        self.description = str(body.get("description") or "")
        self.metrics = dict(body.get("metrics") or {})
        self.input_example = body.get("input_example")
        self.checksum = body.get("checksum")
        self.size_bytes = body.get("size_bytes")
        self.files = [str(f) for f in body.get("files") or []]
        self.created_at = body.get("created_at")
        self.saved = True

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, version={self.version}, framework={self.framework!r})"
