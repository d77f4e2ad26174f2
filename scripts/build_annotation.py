"""Build heatseq's bundled gene annotation tables from the reference annotation folder.

Reads the per-organism tables described in ``<source>/SOURCE.md`` (by default
``../shared/annotation`` next to the repository) and writes compact tables into
``src/heatseq/data/annotation/``::

    human.tsv.gz         gene_id, symbol, entrez_id   one row per Ensembl gene (ENSG, unversioned)
    human_entrez.tsv.gz  entrez_id, symbol, gene_id   one row per NCBI (Entrez) gene
    mouse.tsv.gz         gene_id, symbol, entrez_id   one row per Ensembl gene (ENSMUSG)
    mouse_entrez.tsv.gz  entrez_id, symbol, gene_id   one row per NCBI (Entrez) gene
    fly.tsv.gz           gene_id, symbol, secondary_ids   one row per FlyBase gene (FBgn)
    versions.json        sources, dates, licences, rules, row counts, input checksums
    SOURCE.md            the same, for people

Collapsing rules (one-to-many source rows become one row, deterministically):

* Ensembl gene -> (symbol, entrez_id): among the NCBI genes an Ensembl ID maps to, keep the
  one whose symbol equals Ensembl's own gene name for that ID (human only: the GTF names
  table), then a protein-coding gene, then a symbol that is not a bare ``LOC<number>``,
  then the lowest Entrez ID. ``entrez_id`` is that single Entrez ID (not a joined list), so
  a lookup returns one value; the other Entrez IDs remain reachable from the Entrez table.
* Human Ensembl genes without an NCBI record take their symbol from the GTF names table
  (``entrez_id`` empty).
* Entrez gene -> gene_id: among the Ensembl IDs an Entrez gene maps to, keep one whose
  collapsed row points back to this Entrez gene, then the lowest Ensembl ID.
* Rows are sorted by ID (Entrez numerically) so that "first" at load time means "lowest".

The output is byte-identical when rebuilt: rows are sorted, text is written with ``\\n``
line ends and gzip headers carry no file name and mtime 0 (same zlib version assumed).

Usage::

    python scripts/build_annotation.py [SOURCE_DIR] [--out OUT_DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "annotation"
DEFAULT_OUT = REPO / "src" / "heatseq" / "data" / "annotation"

_INPUTS = {
    "human": ("homo_sapiens.tsv.gz", "homo_sapiens_gtf_names.tsv.gz", "homo_sapiens_entrez.tsv.gz"),
    "mouse": ("mus_musculus.tsv.gz", "mus_musculus_entrez.tsv.gz"),
    "fly": ("drosophila_melanogaster.tsv.gz",),
}

_SOURCES: dict[str, list[dict[str, str]]] = {
    "human": [
        {
            "file": "homo_sapiens.tsv.gz, homo_sapiens_entrez.tsv.gz",
            "what": "Bioconductor OrgDb org.Hs.eg.db 3.16.0 (Debian r-bioc-org.hs.eg.db 3.16.0-1): "
                    "Ensembl -> Entrez -> symbol, and every human Entrez gene",
            "date": "Entrez Gene 2022-Sep12, Ensembl 2022-Jun28",
            "licence": "org.Hs.eg.db Artistic-2.0; NCBI Gene data public domain; "
                       "Ensembl data unrestricted",
        },
        {
            "file": "homo_sapiens_gtf_names.tsv.gz",
            "what": "Ensembl GRCh38 GTF gene_name per gene_id, from data/annotation_data.rda of "
                    "the R package lacen (github sanches-leo/lacen); used only where the OrgDb "
                    "has no row, and to break ties between several Entrez genes",
            "date": "Ensembl release not stated (67,016 genes: about 2023-2024)",
            "licence": "lacen GPL (>= 3); Ensembl data unrestricted",
        },
    ],
    "mouse": [
        {
            "file": "mus_musculus.tsv.gz, mus_musculus_entrez.tsv.gz",
            "what": "NCBI Mus_musculus.gene_info (Ensembl IDs from dbXrefs) as shipped in the R "
                    "package InterCellDB (github ZJUDBlab/InterCellDB, genes.mouse.ref.db.rda)",
            "date": "newest Modification_date 2020-02-25",
            "licence": "InterCellDB CC BY 4.0; NCBI Gene data public domain",
        },
    ],
    "fly": [
        {
            "file": "drosophila_melanogaster.tsv.gz",
            "what": "FlyBase fbgn_annotation_ID_fb_2021_05.tsv.gz (Dmel rows): primary FBgn, "
                    "symbol and secondary (retired or merged) FBgn IDs",
            "date": "FlyBase FB2021_05, generated 2021-09-27",
            "licence": "FlyBase data CC BY 4.0",
        },
    ],
}

_RULES = {
    "gene_to_symbol": "Among the Entrez genes of one Ensembl ID keep: symbol equal to Ensembl's "
                      "own gene name (human), then protein-coding, then not LOC<number>, then the "
                      "lowest Entrez ID; entrez_id is that single ID.",
    "human_fallback": "Human Ensembl IDs without an OrgDb row take the GTF gene name; entrez_id "
                      "empty.",
    "entrez_to_gene": "Among the Ensembl IDs of one Entrez gene keep one whose collapsed row points "
                      "back to it, then the lowest Ensembl ID.",
    "fly_secondary": "secondary_ids lists retired/merged FBgn IDs comma-separated; one that "
                     "points to several current genes is ambiguous and heatseq leaves it unmapped.",
    "order": "Rows sorted by ID (Entrez numerically); at load time the first row wins.",
}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _collapse_by_gene(pairs: pd.DataFrame, gtf_names: pd.Series | None) -> pd.DataFrame:
    """One row per gene_id from (gene_id, symbol, entrez_id, gene_type) pairs."""
    p = pairs[["gene_id", "symbol", "entrez_id", "gene_type"]].copy()
    if gtf_names is not None:
        own = p["gene_id"].map(gtf_names)
        p["_not_own"] = (p["symbol"] != own).astype(int)
    else:
        p["_not_own"] = 0
    p["_not_pc"] = (p["gene_type"] != "protein-coding").astype(int)
    p["_loc"] = p["symbol"].str.fullmatch(r"LOC\d+").astype(int)
    p["_ez"] = p["entrez_id"].astype(np.int64)
    p = p.sort_values(["gene_id", "_not_own", "_not_pc", "_loc", "_ez"], kind="mergesort")
    return p.drop_duplicates("gene_id", keep="first")[["gene_id", "symbol", "entrez_id"]]


def _entrez_table(entrez: pd.DataFrame, pairs: pd.DataFrame, by_gene: pd.DataFrame) -> pd.DataFrame:
    """entrez_id, symbol, gene_id: one row per Entrez gene, sorted numerically."""
    p = pairs[["entrez_id", "gene_id"]].drop_duplicates().copy()
    chosen = by_gene[by_gene["entrez_id"] != ""].set_index("gene_id")["entrez_id"]
    p["_not_back"] = (p["gene_id"].map(chosen) != p["entrez_id"]).astype(int)
    p = p.sort_values(["entrez_id", "_not_back", "gene_id"], kind="mergesort")
    best = p.drop_duplicates("entrez_id", keep="first").set_index("entrez_id")["gene_id"]
    out = entrez[["entrez_id", "symbol"]].drop_duplicates("entrez_id").copy()
    out["gene_id"] = out["entrez_id"].map(best).fillna("")
    out["_ez"] = out["entrez_id"].astype(np.int64)
    return out.sort_values("_ez", kind="mergesort")[["entrez_id", "symbol", "gene_id"]]


def build_human(src: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The human Ensembl and Entrez tables."""
    pairs = _read(src / "homo_sapiens.tsv.gz")
    gtf = _read(src / "homo_sapiens_gtf_names.tsv.gz")
    entrez = _read(src / "homo_sapiens_entrez.tsv.gz")
    gtf_names = gtf.drop_duplicates("gene_id").set_index("gene_id")["symbol"]
    orgdb = _collapse_by_gene(pairs, gtf_names)
    fallback = gtf.loc[~gtf["gene_id"].isin(orgdb["gene_id"]), ["gene_id", "symbol"]].copy()
    fallback["entrez_id"] = ""
    by_gene = pd.concat([orgdb, fallback], ignore_index=True)
    by_gene = by_gene.sort_values("gene_id", kind="mergesort").reset_index(drop=True)
    by_entrez = _entrez_table(entrez, pairs, by_gene)
    return by_gene, by_entrez


def build_mouse(src: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The mouse Ensembl and Entrez tables."""
    pairs = _read(src / "mus_musculus.tsv.gz")
    entrez = _read(src / "mus_musculus_entrez.tsv.gz")
    by_gene = _collapse_by_gene(pairs, None).sort_values("gene_id", kind="mergesort")
    by_entrez = _entrez_table(entrez, pairs, by_gene)
    return by_gene.reset_index(drop=True), by_entrez


def build_fly(src: Path) -> pd.DataFrame:
    """The fly FlyBase table with secondary IDs."""
    fb = _read(src / "drosophila_melanogaster.tsv.gz")
    out = fb[["gene_id", "symbol", "secondary_FBgn"]].rename(columns={"secondary_FBgn": "secondary_ids"})
    out = out.drop_duplicates("gene_id").sort_values("gene_id", kind="mergesort")
    return out.reset_index(drop=True)


def _write_gz(table: pd.DataFrame, path: Path) -> None:
    text = table.to_csv(sep="\t", index=False, lineterminator="\n")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    path.write_bytes(buf.getvalue())


def _source_md(meta: dict[str, Any]) -> str:
    lines = [
        "# Bundled gene annotation",
        "",
        "Built by `scripts/build_annotation.py` from the reference annotation folder; do not edit",
        "by hand (rebuild instead). Tables are gzip TSV with a header; empty field = unknown.",
        "Entrez IDs are stored as text. Machine-readable copy: `versions.json`.",
        "",
        "## Collapsing rules",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in meta["rules"].items()]
    for org, info in meta["organisms"].items():
        lines += ["", f"## {org}", ""]
        for s in info["sources"]:
            lines += [f"- Source `{s['file']}`: {s['what']}.", f"  Date: {s['date']}.",
                      f"  Licence: {s['licence']}."]
        for name, t in info["tables"].items():
            cols = ", ".join(t["columns"])
            lines.append(f"- `{name}`: {t['rows']:,} rows ({cols}); {t['with_symbol']:,} with a symbol.")
    lines.append("")
    return "\n".join(lines)


def build(source: Path = DEFAULT_SOURCE, out: Path = DEFAULT_OUT) -> dict[str, Any]:
    """Build every table from ``source`` into ``out``; return the metadata written."""
    source, out = Path(source), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    human, human_entrez = build_human(source)
    mouse, mouse_entrez = build_mouse(source)
    fly = build_fly(source)
    tables = {
        "human": {"human.tsv.gz": human, "human_entrez.tsv.gz": human_entrez},
        "mouse": {"mouse.tsv.gz": mouse, "mouse_entrez.tsv.gz": mouse_entrez},
        "fly": {"fly.tsv.gz": fly},
    }
    meta: dict[str, Any] = {"format": 1, "rules": _RULES, "organisms": {}}
    for org, files in tables.items():
        info: dict[str, Any] = {
            "sources": _SOURCES[org],
            "inputs": {name: _sha256(source / name) for name in _INPUTS[org]},
            "tables": {},
        }
        for name, table in files.items():
            _write_gz(table, out / name)
            info["tables"][name] = {
                "columns": list(table.columns),
                "rows": len(table),
                "with_symbol": int((table["symbol"] != "").sum()),
            }
        meta["organisms"][org] = info
    (out / "versions.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    (out / "SOURCE.md").write_text(_source_md(meta), encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                        help="folder with the reference annotation tables")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    meta = build(args.source, args.out)
    for org, info in meta["organisms"].items():
        for name, t in info["tables"].items():
            size = (args.out / name).stat().st_size
            print(f"{org:6s} {name:22s} {t['rows']:7,d} rows {size / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
