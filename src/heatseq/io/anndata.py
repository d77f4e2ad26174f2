"""AnnData in and out: :class:`~heatseq.dataset.Dataset` <-> ``anndata.AnnData`` and ``.h5ad``.

This module owns the conversion between heatseq's Dataset and the scverse container, in
the orientation both share (samples x genes = obs x var):

* ``X`` holds the integer counts, ``obs`` the samples table, ``var`` the genes table,
  ``layers["length"]`` the average transcript lengths when the Dataset has them;
* ``uns["heatseq"]`` records where the counts came from (path, format, the reader's notes),
  further tables of ``Dataset.extra`` and which text columns had to be stored as
  categoricals (h5ad cannot store text columns with missing values), so that a Dataset
  written with :func:`write_h5ad` reads back equal with :func:`read_h5ad`.

``anndata`` is imported on first use, so importing heatseq stays fast.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from heatseq._version import __version__
from heatseq.dataset import Dataset, Source
from heatseq.errors import InputError, InputWarning
from heatseq.io._common import round_counts
from heatseq.io._text import check_path

if TYPE_CHECKING:
    import anndata

__all__ = ["from_anndata", "read_h5ad", "to_anndata", "write_h5ad"]

log = logging.getLogger(__name__)

Compression = Literal["gzip", "lzf", "none"]
COMPRESSIONS: tuple[str, ...] = ("gzip", "lzf", "none")
LENGTH_LAYER = "length"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


# ---------------------------------------------------------------------- Dataset -> AnnData
def to_anndata(dataset: Dataset) -> anndata.AnnData:
    """The Dataset as an AnnData object (samples x genes).

    Parameters
    ----------
    dataset
        The counts with their sample and gene tables.

    Returns
    -------
    anndata.AnnData
        ``X``: counts as int64; ``obs``: samples; ``var``: genes; ``layers["length"]``:
        average transcript lengths when known; ``uns["heatseq"]``: source and notes.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = Dataset(pd.DataFrame({"g1": [1, 2], "g2": [0, 5]}, index=["s1", "s2"]))
    >>> to_anndata(ds).shape
    (2, 2)
    """
    import anndata

    if not isinstance(dataset, Dataset):
        raise InputError(f"to_anndata() needs a heatseq Dataset; got {type(dataset).__name__}.")
    obs, var = dataset.samples.copy(), dataset.genes.copy()
    obs.columns, var.columns = obs.columns.astype(str), var.columns.astype(str)
    layers = {}
    if dataset.lengths is not None:
        layers[LENGTH_LAYER] = dataset.lengths.to_numpy(dtype=float)
    info: dict[str, Any] = {"heatseq_version": __version__}
    if dataset.source is not None:
        info.update(source_path=dataset.source.path, source_format=dataset.source.format,
                    notes=list(dataset.source.notes))
    extra = {str(k): v for k, v in dataset.extra.items()}
    if extra:
        info["extra"] = extra
    return anndata.AnnData(X=dataset.counts.to_numpy(dtype=np.int64), obs=obs, var=var,
                           layers=layers or None, uns={"heatseq": info})


# ---------------------------------------------------------------------- AnnData -> Dataset
def from_anndata(adata: anndata.AnnData, *, layer: str | None = None) -> Dataset:
    """A Dataset from an AnnData object whose observations are samples.

    Parameters
    ----------
    adata
        Samples in ``obs``, genes in ``var``.
    layer
        Take the counts from ``adata.layers[layer]`` instead of ``adata.X``.

    Returns
    -------
    Dataset
        Counts from ``X`` (or the layer; a sparse matrix is densified); values that are
        not whole numbers are rounded with an :class:`~heatseq.errors.InputWarning` (the
        note is kept in ``source.notes``). ``layers["length"]`` becomes ``lengths``, and
        what :func:`to_anndata` stored in ``uns["heatseq"]`` is restored.

    Raises
    ------
    InputError
        ``layer`` is not a layer of ``adata``, there is no ``X``, or the values are not
        counts (negative, NaN, not numeric).
    """
    return _from_anndata(adata, layer=layer, path=None)


def _from_anndata(adata: Any, *, layer: str | None, path: Path | None) -> Dataset:
    import anndata

    where = str(path) if path is not None else "AnnData"
    if not isinstance(adata, anndata.AnnData):
        raise InputError(f"from_anndata() needs an anndata.AnnData; got {type(adata).__name__}.")
    layers = list(adata.layers.keys())
    if layer is not None:
        if layer not in adata.layers:
            valid = ", ".join(map(repr, layers)) or "none"
            raise InputError(f"{where}: there is no layer {layer!r}; layers are: {valid}. "
                             "Pass layer=None to use X.")
        matrix, what = adata.layers[layer], f"{where} layer {layer!r}"
    else:
        matrix, what = adata.X, f"{where} X"
    if matrix is None:
        valid = ", ".join(map(repr, layers)) or "none"
        raise InputError(f"{where} has no X matrix; pass layer= one of: {valid}.")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"{where} has {adata.n_obs} observations and {adata.n_vars} variables; "
                         "it needs samples in obs and genes in var.")
    values = _dense(matrix, what)
    info = _heatseq_info(adata)
    counts = pd.DataFrame(values, index=adata.obs_names.astype(str),
                          columns=adata.var_names.astype(str))
    notes = list(info.get("notes", []))
    if np.isfinite(values).all():
        counts, note = round_counts(counts, where=what)
        if note:
            notes.append(note)
    samples = _decode_frame(adata.obs, info.get("encoded_obs", {}))
    genes = _decode_frame(adata.var, info.get("encoded_var", {}))
    lengths = None
    if LENGTH_LAYER in adata.layers and layer != LENGTH_LAYER:
        lengths = pd.DataFrame(_dense(adata.layers[LENGTH_LAYER], f"{where} layer 'length'"),
                               index=counts.index, columns=counts.columns)
    if path is not None:
        source: Source | None = Source(path=str(path), format="h5ad", notes=tuple(notes))
    elif "source_path" in info or notes:
        source = Source(path=str(info.get("source_path", "<AnnData>")),
                        format=str(info.get("source_format", "anndata")), notes=tuple(notes))
    else:
        source = None
    extra = _decode_extra(info.get("extra", {}))
    return Dataset(counts, samples=samples, genes=genes, lengths=lengths, source=source,
                   extra=extra)


def _dense(matrix: Any, what: str) -> np.ndarray:
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    values = np.asarray(matrix)
    if values.ndim != 2:
        raise InputError(f"{what} is not a 2-D matrix (shape {values.shape}).")
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise InputError(f"{what} holds {values.dtype} values, not counts; give a numeric "
                         "matrix of raw counts (samples in obs, genes in var).")
    return values.astype(float) if values.dtype.kind in "fc" else values.astype(np.int64)


def _heatseq_info(adata: Any) -> dict[str, Any]:
    raw = adata.uns.get("heatseq", {})
    if not isinstance(raw, Mapping):
        return {}
    info = dict(raw)
    if "notes" in info:
        info["notes"] = [str(n) for n in np.asarray(info["notes"]).ravel().tolist()]
    return info


# ---------------------------------------------------------------------- frames for h5ad
def _encode_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Text columns with missing or non-text values -> categoricals h5ad can store.

    Returns the frame and ``{column: original dtype name}`` for :func:`_decode_frame`.
    """
    out = frame.copy()
    encoded: dict[str, str] = {}
    for col in out.columns:  # a loop over table columns, not genes
        s = out[col]
        if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            values = s.to_numpy(dtype=object)
            missing = pd.isna(values)
            is_text = np.array([isinstance(v, str) for v in values[~missing]], dtype=bool)
            if isinstance(s.dtype, pd.StringDtype) or missing.any() or not is_text.all():
                text = np.where(missing, None, values.astype(str)).astype(object)
                encoded[str(col)] = "string" if isinstance(s.dtype, pd.StringDtype) else "object"
                out[col] = pd.Categorical(text)
    return out, encoded


def _decode_frame(frame: pd.DataFrame, encoded: Mapping[str, Any]) -> pd.DataFrame:
    out = frame.copy()
    for col, kind in dict(encoded).items():
        if col in out.columns:
            values = out[col].astype(object).to_numpy(dtype=object)
            values[pd.isna(values)] = np.nan
            out[col] = pd.Series(values, index=out.index, dtype=object)
            if str(kind) == "string":
                out[col] = out[col].astype("string")
    return out


def _decode_extra(extra: Mapping[str, Any]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in dict(extra).items():
        if isinstance(value, Mapping) and "__frame__" in value:
            out[name] = _decode_frame(value["__frame__"], value.get("__encoded__", {}))
        else:
            out[name] = value
    return out


def _writable(adata: Any) -> Any:
    """A copy of ``adata`` whose obs/var/extra tables h5ad can store, with the codes in uns."""
    obs, enc_obs = _encode_frame(adata.obs)
    var, enc_var = _encode_frame(adata.var)
    out = adata.copy()
    out.obs, out.var = obs, var
    info = dict(out.uns.get("heatseq", {}))
    info["encoded_obs"], info["encoded_var"] = enc_obs, enc_var
    extra = {}
    for name, value in dict(info.get("extra", {})).items():
        if isinstance(value, pd.DataFrame):
            frame, enc = _encode_frame(value)
            extra[name] = {"__frame__": frame, "__encoded__": enc}
        elif isinstance(value, pd.Series | np.ndarray | str | int | float | bool | np.generic):
            extra[name] = value
        else:
            warnings.warn(f"Dataset.extra[{name!r}] ({type(value).__name__}) cannot be stored in "
                          "an h5ad file and was left out.", InputWarning, stacklevel=3)
    if extra:
        info["extra"] = extra
    else:
        info.pop("extra", None)
    out.uns["heatseq"] = info
    return out


# ---------------------------------------------------------------------- files
def read_h5ad(path: str | os.PathLike[str], *, layer: str | None = None) -> Dataset:
    """Read an ``.h5ad`` file (samples in obs, genes in var) as a Dataset.

    Parameters
    ----------
    path
        The ``.h5ad`` file.
    layer
        Take the counts from this layer instead of ``X``.

    Returns
    -------
    Dataset
        As :func:`from_anndata`; ``source`` is the file, format ``"h5ad"``.

    Raises
    ------
    InputError
        The file is missing, not an HDF5 file, not an AnnData file, or its values are not
        counts.
    """
    import anndata

    p = check_path(path, what="h5ad file")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give an .h5ad file.")
    if not _is_hdf5(p):
        raise InputError(f"{p} is not an HDF5 file, so not an .h5ad (AnnData) file. Give a file "
                         "written by AnnData.write_h5ad, or read a text count table instead.")
    _check_anndata_layout(p)
    try:
        adata = anndata.read_h5ad(p)
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"{p} is an HDF5 file but could not be read as AnnData ({exc}). "
                         "Check that it was written by AnnData.write_h5ad.") from None
    return _from_anndata(adata, layer=layer, path=p)


def _check_anndata_layout(path: Path) -> None:
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            encoding = fh.attrs.get("encoding-type", "")
            if isinstance(encoding, bytes):
                encoding = encoding.decode()
            keys = sorted(fh.keys())
    except OSError as exc:
        raise InputError(f"{path} is an HDF5 file that cannot be opened ({exc}); it may be "
                         "truncated or damaged. Copy or write it again.") from None
    if encoding != "anndata" and not {"obs", "var"} <= set(keys):
        shown = ", ".join(keys[:8]) or "nothing"
        raise InputError(f"{path} is an HDF5 file but not an AnnData (.h5ad) file: it has no "
                         f"obs/var groups (top level holds: {shown}). Give a file written by "
                         "AnnData.write_h5ad.")


def _is_hdf5(path: Path) -> bool:
    # the HDF5 signature sits at byte 0, 512, 1024, 2048, ... (after an optional user block)
    with open(path, "rb") as fh:
        offset = 0
        while True:
            fh.seek(offset)
            head = fh.read(8)
            if len(head) < 8:
                return False
            if head == _HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2


def write_h5ad(dataset: Dataset, path: str | os.PathLike[str], *,
               compression: Compression = "gzip") -> Path:
    """Write the Dataset to an ``.h5ad`` file, atomically.

    The file is written to a temporary file in the target folder and renamed into place, so
    a failed write never leaves a half-written file behind.

    Parameters
    ----------
    dataset
        The Dataset to write.
    path
        The ``.h5ad`` file to create or replace.
    compression
        ``"gzip"`` (default), ``"lzf"`` or ``"none"``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        The folder does not exist, the path is a folder, or it is the file the Dataset was
        read from.
    """
    if compression not in COMPRESSIONS:
        raise InputError(f"compression={compression!r} is not valid; choose one of "
                         f"{', '.join(COMPRESSIONS)}.")
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name ending in .h5ad.")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"Cannot write {target}: the folder {folder} does not exist. "
                         "Create it first.")
    if dataset.source is not None and dataset.source.path:
        src = Path(dataset.source.path)
        if src.exists() and target.exists() and src.resolve() == target.resolve():
            raise InputError(f"Refusing to overwrite {target}: the dataset was read from this "
                             "file. Write to another path.")
    adata = _writable(to_anndata(dataset))
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        adata.write_h5ad(tmp, convert_strings_to_categoricals=False,
                         compression=None if compression == "none" else compression)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("Wrote %s (%d samples x %d genes).", target, dataset.n_samples, dataset.n_genes)
    return target
