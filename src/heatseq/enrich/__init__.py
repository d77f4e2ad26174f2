"""Enrichment: GO and pathway over-representation and GSEA, offline, per contrast and per
heatmap module.

- :class:`GeneSets`, :func:`read_gmt`, :func:`write_gmt`: collections and GMT files.
"""

from heatseq.enrich.genesets import GeneSets, read_gmt, write_gmt

__all__ = ["GeneSets", "read_gmt", "write_gmt"]
