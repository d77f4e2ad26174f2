"""Build heatseq's bundled gene-set collections and GO DAG from the reference gene-set folder.

Reads the GMT files and GO tables described in ``<source>/SOURCE.md`` (by default
``../shared/genesets`` next to the repository) and writes into
``src/heatseq/data/genesets/``::

    <name>_<organism>.npz   one collection: CSR membership over official gene symbols
    go_dag.npz              GO terms (id, name, namespace), is_a/part_of parents, alt IDs
    versions.json           per collection: sets, genes, release, licence, source, citation,
                            membership checksum; input checksums
    SOURCE.md               the same, for people

Collection file layout (``numpy.load(..., allow_pickle=False)``): strings are stored as one
UTF-8 blob of ``\\n``-joined values (``term_ids``, ``term_names``, ``genes``: uint8 arrays),
``indptr`` (int32, one more than sets) and ``indices`` (uint16 or int32: gene positions;
within a set sorted, stored as differences from the previous member so that deflate
packs them well; the first member of each set is stored as is). Set order is the GMT's,
genes are sorted by code point (as :meth:`GeneSets.from_dict` sorts them).

Term IDs: GO -> GO ID, name = term name; Reactome -> stable ID ``R-HSA-...`` (the GMT's
second column), name = pathway name; WikiPathways -> ``WPnnnn``, name = pathway name;
Hallmark -> the MSigDB set name (``HALLMARK_APOPTOSIS``), name = the same.

Deterministic: the ``.npz`` members are written with a fixed timestamp and compression
level, JSON with sorted keys, so a rebuild from the same inputs is byte-identical (same
zlib version assumed).

Usage::

    python scripts/build_genesets.py [SOURCE_DIR] [--out OUT_DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from heatseq.enrich.genesets import GeneSets, read_gmt

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "genesets"
DEFAULT_OUT = REPO / "src" / "heatseq" / "data" / "genesets"

_GO_RELEASE = "GO 2022-07-01 (go-basic, via GO.db 3.16.0)"
_GO_LICENCE = "CC BY 4.0"
_GO_CITATION = ("Gene Ontology Consortium (2021) The Gene Ontology resource: enriching a GOld "
                "mine. Nucleic Acids Res 49:D325-D334; Ashburner et al. (2000) Nat Genet 25:25-29.")
_GO_ANNOT = {
    "human": "org.Hs.eg.db 3.16.0 annotations (NCBI gene2go 2022-09-12)",
    "mouse": "NCBI gene2go mouse annotations (2020 snapshot via InterCellDB)",
}
_GO_SOURCE = {
    "human": "GO.db 3.16.0 ontology + org.Hs.eg.db 3.16.0 go_bp/go_mf/go_cc direct annotations "
             "(all evidence codes), propagated over is_a and part_of",
    "mouse": "GO.db 3.16.0 ontology + NCBI gene2go taxon 10090 (InterCellDB snapshot, NOT "
             "rows dropped, alt IDs remapped), propagated over is_a and part_of",
}
_GO_NAMES = {"go_bp": "biological process", "go_mf": "molecular function",
             "go_cc": "cellular component"}

#: (name, organism) -> source file, term-ID rule, release, licence, source, citation
COLLECTIONS: dict[tuple[str, str], dict[str, str]] = {}
for _org in ("human", "mouse"):
    for _ns in ("bp", "mf", "cc"):
        COLLECTIONS[(f"go_{_ns}", _org)] = {
            "file": f"go_{_ns}_{_org}_symbol.gmt.gz",
            "terms": "go",
            "title": f"Gene Ontology {_GO_NAMES['go_' + _ns]}",
            "release": f"{_GO_RELEASE}, {_GO_ANNOT[_org]}",
            "licence": _GO_LICENCE,
            "source": _GO_SOURCE[_org],
            "citation": _GO_CITATION,
        }
COLLECTIONS[("reactome", "human")] = {
    "file": "reactome_human_symbol.gmt.gz",
    "terms": "reactome",
    "title": "Reactome pathways",
    "release": "Reactome ReactomePathways.gmt, late 2021 (about v78/79)",
    "licence": "CC BY 4.0",
    "source": "Reactome ReactomePathways.gmt (human, HGNC symbols; includes a few pathogen "
              "genes such as HIV gag), snapshot in github ohoelske/MDS_KW4_GSE 2021-12-14",
    "citation": "Gillespie et al. (2022) The reactome pathway knowledgebase 2022. Nucleic "
                "Acids Res 50:D687-D692.",
}
COLLECTIONS[("wikipathways", "human")] = {
    "file": "wikipathways_20230410_human_symbol.gmt.gz",
    "terms": "wikipathways",
    "title": "WikiPathways",
    "release": "WikiPathways 20230410 (Homo sapiens)",
    "licence": "CC0 1.0",
    "source": "WikiPathways GMT release 20230410, Homo sapiens; Entrez IDs mapped to symbols "
              "with org.Hs.eg.db 3.16.0 (5 IDs without a symbol dropped)",
    "citation": "Agrawal et al. (2024) WikiPathways 2024: next generation pathway database. "
                "Nucleic Acids Res 52:D679-D689.",
}
COLLECTIONS[("hallmark", "human")] = {
    "file": "msigdb_hallmark_v7.4_human_symbol.gmt.gz",
    "terms": "hallmark",
    "title": "MSigDB Hallmark gene sets",
    "release": "MSigDB Hallmark v7.4",
    "licence": "CC BY 4.0",
    "source": "MSigDB h.all.v7.4.symbols.gmt (Broad Institute / UC San Diego)",
    "citation": "Liberzon et al. (2015) The Molecular Signatures Database hallmark gene set "
                "collection. Cell Syst 1:417-425; Subramanian et al. (2005) PNAS 102:15545.",
}

#: What the reference folder has but heatseq does not ship, and why.
LEFT_OUT = {
    "KEGG": "not openly licensed (KEGG's academic-only terms); not in the reference folder",
    "MSigDB C2:CP:REACTOME": "duplicates the native Reactome collection, which is shipped",
    "go_bp incl. regulates": "the regulates-propagated GO BP variant is a reference for "
                             "comparisons with clusterProfiler, not a default",
    "Entrez-ID GMTs": "the symbol GMTs hold the same sets; heatseq maps input IDs to symbols",
    "mouse pathways": "no mouse Reactome/WikiPathways/Hallmark GMT in the reference folder; "
                      "mouse has GO only",
    "fly": "no fly collection in the reference folder; give a GMT file",
}

_GO_TABLES = ("go_terms.tsv.gz", "go_edges.tsv.gz", "go_alt_ids.tsv.gz")
NAMESPACES = ("biological_process", "molecular_function", "cellular_component")
RELATIONS = ("is_a", "part_of")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _blob(values: Any, what: str) -> np.ndarray:
    """``\\n``-joined UTF-8 bytes of ``values`` as a uint8 array."""
    text = [str(v) for v in values]
    if any("\n" in v for v in text):
        raise ValueError(f"{what}: a value contains a newline")
    return np.frombuffer("\n".join(text).encode("utf-8"), dtype=np.uint8)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as a deflated ``.npz`` with fixed member timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, mode="w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=9) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[key]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=9)
    path.write_bytes(buf.getvalue())


def membership_checksum(sets: GeneSets) -> str:
    """SHA-256 of the membership as text: sets sorted by term ID, one line
    ``term_id<TAB>term_name<TAB>gene,gene,...`` with genes sorted."""
    order = np.argsort(np.asarray(sets.term_ids, dtype=str), kind="stable")
    h = hashlib.sha256()
    for i in order:
        genes = sorted(map(str, sets.members(int(i))))
        h.update(f"{sets.term_ids[i]}\t{sets.term_names[i]}\t{','.join(genes)}\n".encode())
    return h.hexdigest()


def _retitle(g: GeneSets, rule: str) -> GeneSets:
    """Term IDs and names by the collection's rule (see the module docstring)."""
    ids = np.asarray(g.term_ids, dtype=object)
    names = np.asarray(g.term_names, dtype=object)
    if rule == "reactome":  # column 1 = pathway name, column 2 = stable ID
        ids, names = names, ids
    elif rule == "wikipathways":  # name%WikiPathways_20230410%WPnnnn%Homo sapiens
        parts = [str(t).split("%") for t in ids]
        ids = np.array([p[2] for p in parts], dtype=object)
        names = np.array([p[0] for p in parts], dtype=object)
    if len(set(ids.tolist())) != len(ids):
        raise ValueError(f"{g.name}: term IDs are not unique after the {rule} rule")
    return GeneSets(name=g.name, term_ids=ids, term_names=names, genes=g.genes,
                    indptr=g.indptr, indices=g.indices, id_type="symbol")


def encode_collection(g: GeneSets) -> dict[str, np.ndarray]:
    """The arrays of one collection file (see the module docstring)."""
    idx = np.asarray(g.indices, dtype=np.int64)
    indptr = np.asarray(g.indptr, dtype=np.int64)
    delta = np.diff(idx, prepend=0)
    starts = indptr[:-1][np.diff(indptr) > 0]
    delta[starts] = idx[starts]
    dtype = np.uint16 if len(g.genes) <= np.iinfo(np.uint16).max else np.int32
    return {
        "term_ids": _blob(g.term_ids, "term_ids"),
        "term_names": _blob(g.term_names, "term_names"),
        "genes": _blob(g.genes, "genes"),
        "indptr": indptr.astype(np.int32),
        "indices": delta.astype(dtype),
    }


def build_collection(source: Path, spec: dict[str, str], name: str) -> GeneSets:
    """Read one GMT and apply its term-ID rule."""
    return _retitle(read_gmt(source / spec["file"], name=name), spec["terms"])


def build_go_dag(source: Path) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The arrays of ``go_dag.npz`` and counts for versions.json."""
    read = {"sep": "\t", "dtype": str, "keep_default_na": False, "na_filter": False}
    terms = pd.read_csv(source / "go_terms.tsv.gz", **read).sort_values("go_id", kind="mergesort")
    edges = pd.read_csv(source / "go_edges.tsv.gz", **read)
    alt = pd.read_csv(source / "go_alt_ids.tsv.gz", **read)
    ids = terms["go_id"].to_numpy(dtype=object)
    if len(set(ids.tolist())) != len(ids):
        raise ValueError("go_terms: duplicated GO IDs")
    pos = pd.Series(np.arange(len(ids)), index=ids)
    edges = edges[edges["relationship_type"].isin(RELATIONS)]
    edges = edges[edges["child"].isin(pos.index) & edges["parent"].isin(pos.index)]
    child = pos[edges["child"]].to_numpy()
    parent = pos[edges["parent"]].to_numpy()
    rel = pd.Categorical(edges["relationship_type"], categories=RELATIONS).codes
    order = np.lexsort((rel, parent, child))
    child, parent, rel = child[order], parent[order], rel[order]
    keep = np.ones(len(child), dtype=bool)  # one edge per (child, parent): is_a before part_of
    keep[1:] = (child[1:] != child[:-1]) | (parent[1:] != parent[:-1])
    child, parent, rel = child[keep], parent[keep], rel[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(child, minlength=len(ids)))])
    ns = pd.Categorical(terms["namespace"], categories=NAMESPACES)
    if (ns.codes < 0).any():
        raise ValueError("go_terms: unknown namespace")
    alt = alt[alt["go_id"].isin(pos.index) & ~alt["alt_id"].isin(pos.index)]
    alt = alt.drop_duplicates("alt_id").sort_values("alt_id", kind="mergesort")
    arrays = {
        "ids": _blob(ids, "GO ids"),
        "names": _blob(terms["name"], "GO names"),
        "namespace": ns.codes.astype(np.uint8),
        "parent_indptr": indptr.astype(np.int32),
        "parents": parent.astype(np.int32),
        "relation": rel.astype(np.uint8),
        "alt_ids": _blob(alt["alt_id"], "alt ids"),
        "alt_targets": pos[alt["go_id"]].to_numpy().astype(np.int32),
    }
    counts = {"terms": len(ids), "is_a": int((rel == 0).sum()), "part_of": int((rel == 1).sum()),
              "alt_ids": len(alt)}
    return arrays, counts


def _source_md(meta: dict[str, Any], sizes: dict[str, int]) -> str:
    lines = [
        "# Bundled gene-set collections and GO DAG",
        "",
        "Built by `scripts/build_genesets.py` from the reference gene-set folder; do not edit",
        "by hand (rebuild instead). Gene IDs are official symbols (human HGNC, mouse MGI/NCBI).",
        "Machine-readable copy: `versions.json`; file layout: the build script's docstring.",
        "",
        "| file | collection | organism | sets | genes | release | licence |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, c in meta["collections"].items():
        lines.append(f"| `{key}.npz` | {c['name']} | {c['organism']} | {c['sets']:,} | "
                     f"{c['genes']:,} | {c['release']} | {c['licence']} |")
    dag = meta["go_dag"]
    lines += [
        "",
        f"`go_dag.npz`: {dag['terms']:,} GO terms (id, name, namespace), {dag['is_a']:,} is_a "
        f"and {dag['part_of']:,} part_of parent edges, {dag['alt_ids']:,} secondary IDs; "
        f"{dag['release']}; licence {dag['licence']}.",
        "",
        "## Sources and citations",
        "",
    ]
    for key, c in meta["collections"].items():
        lines += [f"- **{key}** ({c['title']}): {c['source']}. Cite: {c['citation']}"]
    lines += ["", "## Not shipped", ""]
    lines += [f"- **{k}**: {v}." for k, v in meta["left_out"].items()]
    total = sum(sizes.values())
    lines += ["", f"Folder size: {total / 1e6:.2f} MB of data files.", ""]
    return "\n".join(lines)


def build(source: Path = DEFAULT_SOURCE, out: Path = DEFAULT_OUT) -> dict[str, Any]:
    """Build every collection and the GO DAG from ``source`` into ``out``; return the
    metadata written to ``versions.json``."""
    source, out = Path(source), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"format": 1, "collections": {}, "left_out": LEFT_OUT}
    sizes: dict[str, int] = {}
    for (name, organism), spec in COLLECTIONS.items():
        key = f"{name}_{organism}"
        g = build_collection(source, spec, name)
        write_npz(out / f"{key}.npz", encode_collection(g))
        sizes[key] = (out / f"{key}.npz").stat().st_size
        meta["collections"][key] = {
            "name": name, "organism": organism, "title": spec["title"], "sets": len(g),
            "genes": len(g.genes), "pairs": len(g.indices), "release": spec["release"],
            "licence": spec["licence"], "source": spec["source"], "citation": spec["citation"],
            "file": f"{key}.npz", "input": spec["file"], "input_sha256": _sha256(source / spec["file"]),
            "membership_sha256": membership_checksum(g),
        }
    arrays, counts = build_go_dag(source)
    write_npz(out / "go_dag.npz", arrays)
    sizes["go_dag"] = (out / "go_dag.npz").stat().st_size
    meta["go_dag"] = {**counts, "release": _GO_RELEASE, "licence": _GO_LICENCE,
                      "relations": list(RELATIONS), "namespaces": list(NAMESPACES),
                      "citation": _GO_CITATION,
                      "inputs": {n: _sha256(source / n) for n in _GO_TABLES}}
    (out / "versions.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    (out / "SOURCE.md").write_text(_source_md(meta, sizes), encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                        help="folder with the reference GMT files and GO tables")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    meta = build(args.source, args.out)
    for key, c in meta["collections"].items():
        size = (args.out / f"{key}.npz").stat().st_size
        print(f"{key:20s} {c['sets']:6,d} sets {c['genes']:6,d} genes {size / 1e6:6.2f} MB")
    print(f"{'go_dag':20s} {meta['go_dag']['terms']:6,d} terms "
          f"{(args.out / 'go_dag.npz').stat().st_size / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
