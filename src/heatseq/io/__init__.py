"""Readers and writers: count matrices, quantifier outputs, sample sheets, AnnData."""
