#!/usr/bin/env Rscript
# DESeq2 likelihood-ratio test on airway: full ~ cell + dex, reduced ~ cell.
#   Rscript tests/data/lrt_airway/make_refs.R
# Reads ../airway/counts.tsv.gz and ../airway/samples.csv (beside this folder) and writes
# the files listed in README.md into this folder. Factor levels are set as
# /work/shared/tools/common.R sets them: every sample column is read as character and made
# a factor with R's default (locale-sorted) levels, then the contrast factor is relevelled
# so that the denominator is the reference (dex: untrt).
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
src <- file.path(here, "..", "airway")
suppressPackageStartupMessages(library(DESeq2))

write_tsv_gz <- function(df, path) {
  con <- gzfile(path, "w")
  write.table(df, con, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
  close(con)
}

cnt <- read.delim(gzfile(file.path(src, "counts.tsv.gz")), check.names = FALSE,
                  stringsAsFactors = FALSE, row.names = NULL)
m <- as.matrix(cnt[, -1, drop = FALSE])
rownames(m) <- as.character(cnt[[1]])
sm <- read.csv(file.path(src, "samples.csv"), check.names = FALSE,
               stringsAsFactors = FALSE, colClasses = "character")
rownames(sm) <- sm$sample
m <- m[, sm$sample, drop = FALSE]
storage.mode(m) <- "integer"
for (v in setdiff(names(sm), "sample")) sm[[v]] <- factor(sm[[v]])
sm$dex <- relevel(sm$dex, ref = "untrt")

full <- ~ cell + dex
reduced <- ~ cell
dds <- DESeqDataSetFromMatrix(m, sm, design = full)
dds <- DESeq(dds, test = "LRT", reduced = reduced, quiet = TRUE)
res <- results(dds)   # LRT p-values; log2FoldChange/lfcSE of the last coefficient (dex_trt_vs_untrt)
mc <- mcols(dds)
write_tsv_gz(data.frame(gene_id = rownames(res), baseMean = res$baseMean,
                        log2FoldChange = res$log2FoldChange, lfcSE = res$lfcSE,
                        stat = res$stat, pvalue = res$pvalue, padj = res$padj,
                        deviance = mc$deviance, fullBetaConv = mc$fullBetaConv,
                        reducedBetaConv = mc$reducedBetaConv),
             file.path(here, "deseq2_R_lrt.tsv.gz"))
write.table(data.frame(sample = colnames(dds), sizeFactor = sizeFactors(dds)),
            file.path(here, "sizefactors_R.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
write_tsv_gz(data.frame(gene_id = rownames(dds), dispersion = mc$dispersion),
             file.path(here, "dispersions_R.tsv.gz"))

mm_out <- function(f, path) {
  mm <- model.matrix(f, data = as.data.frame(colData(dds)))
  write.table(data.frame(sample = rownames(mm), mm, check.names = FALSE), path,
              sep = "\t", quote = FALSE, row.names = FALSE)
  colnames(mm)
}
full_r <- mm_out(full, file.path(here, "model_matrix_R.tsv"))
red_r <- mm_out(reduced, file.path(here, "model_matrix_reduced_R.tsv"))
write.table(data.frame(r_name = full_r, deseq2_name = resultsNames(dds)),
            file.path(here, "coef_names_R.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)

meta <- data.frame(key = c("design", "reduced", "call", "results_call", "lfc_coef", "n_genes",
                           "n_samples", "levels_cell", "levels_dex", "R", "DESeq2", "collate",
                           "blas"),
                   value = c("~ cell + dex", "~ cell",
                             "DESeq(dds, test=\"LRT\", reduced=~cell, quiet=TRUE)",
                             "results(dds)", tail(resultsNames(dds), 1), nrow(dds), ncol(dds),
                             paste(levels(sm$cell), collapse = ","),
                             paste(levels(sm$dex), collapse = ","),
                             R.version.string, as.character(packageVersion("DESeq2")),
                             Sys.getlocale("LC_COLLATE"), extSoftVersion()[["BLAS"]]))
write.table(meta, file.path(here, "R_refs_meta.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
cat("done", here, "\n")
