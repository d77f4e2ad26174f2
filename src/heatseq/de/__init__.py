"""Differential expression: the DESeq2 method (Love, Huber & Anders 2014), vectorised across genes."""
