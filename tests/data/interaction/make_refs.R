#!/usr/bin/env Rscript
# DESeq2 with an interaction design on bottomly: ~ strain * batch
# (every strain x batch cell has 3 or 4 samples).
#   Rscript tests/data/interaction/make_refs.R
# Reads ../bottomly/counts.tsv.gz and ../bottomly/samples.csv (beside this folder) and writes
# the files listed in README.md into this folder. Factor levels are set as
# /work/shared/tools/common.R sets them: every sample column is read as character and made
# a factor with R's default (locale-sorted) levels, then strain is relevelled so that
# C57BL/6J is the reference (batch keeps its sorted levels: exp4 is the reference).
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
src <- file.path(here, "..", "bottomly")
suppressPackageStartupMessages(library(DESeq2))

write_tsv_gz <- function(df, path) {
  con <- gzfile(path, "w")
  write.table(df, con, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
  close(con)
}
res_df <- function(res) {
  data.frame(gene_id = rownames(res), baseMean = res$baseMean,
             log2FoldChange = res$log2FoldChange, lfcSE = res$lfcSE,
             stat = res$stat, pvalue = res$pvalue, padj = res$padj)
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
sm$strain <- relevel(sm$strain, ref = "C57BL/6J")
stopifnot(all(table(sm$strain, sm$batch) >= 2))

design <- ~ strain * batch
dds <- DESeqDataSetFromMatrix(m, sm, design = design)
dds <- DESeq(dds, quiet = TRUE)
rn <- resultsNames(dds)
stopifnot(identical(rn, c("Intercept", "strain_DBA.2J_vs_C57BL.6J", "batch_exp6_vs_exp4",
                          "batch_exp7_vs_exp4", "strainDBA.2J.batchexp6",
                          "strainDBA.2J.batchexp7")))
write_tsv_gz(res_df(results(dds, name = "strain_DBA.2J_vs_C57BL.6J")),
             file.path(here, "deseq2_R_strain.tsv.gz"))
write_tsv_gz(res_df(results(dds, name = "strainDBA.2J.batchexp6")),
             file.path(here, "deseq2_R_interaction_exp6.tsv.gz"))
# strain effect within batch exp6 = main effect + interaction (numeric contrast c(0,1,0,0,1,0))
write_tsv_gz(res_df(results(dds, contrast = list(c("strain_DBA.2J_vs_C57BL.6J",
                                                   "strainDBA.2J.batchexp6")))),
             file.path(here, "deseq2_R_strain_in_exp6.tsv.gz"))
mc <- mcols(dds)
write.table(data.frame(sample = colnames(dds), sizeFactor = sizeFactors(dds)),
            file.path(here, "sizefactors_R.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
write_tsv_gz(data.frame(gene_id = rownames(dds), baseMean = mc$baseMean,
                        dispGeneEst = mc$dispGeneEst, dispFit = mc$dispFit,
                        dispersion = mc$dispersion, dispOutlier = mc$dispOutlier),
             file.path(here, "dispersions_R.tsv.gz"))

# likelihood-ratio test of the interaction (2 degrees of freedom)
ddsl <- DESeq(dds, test = "LRT", reduced = ~ strain + batch, quiet = TRUE)
rl <- results(ddsl)
write_tsv_gz(res_df(rl), file.path(here, "deseq2_R_lrt_interaction.tsv.gz"))

mm <- model.matrix(design, data = as.data.frame(colData(dds)))
write.table(data.frame(sample = rownames(mm), mm, check.names = FALSE),
            file.path(here, "model_matrix_R.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
write.table(data.frame(r_name = colnames(mm), deseq2_name = rn),
            file.path(here, "coef_names_R.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
mr <- model.matrix(~ strain + batch, data = as.data.frame(colData(dds)))
write.table(data.frame(sample = rownames(mr), mr, check.names = FALSE),
            file.path(here, "model_matrix_reduced_R.tsv"), sep = "\t", quote = FALSE,
            row.names = FALSE)

meta <- data.frame(
  key = c("design", "call", "results_strain", "results_interaction", "results_strain_in_exp6",
          "lrt_call", "lrt_results", "n_genes", "n_samples", "levels_strain", "levels_batch",
          "R", "DESeq2", "collate", "blas"),
  value = c("~ strain * batch", "DESeq(dds, quiet=TRUE)",
            "results(dds, name=\"strain_DBA.2J_vs_C57BL.6J\")",
            "results(dds, name=\"strainDBA.2J.batchexp6\")",
            "results(dds, contrast=list(c(\"strain_DBA.2J_vs_C57BL.6J\", \"strainDBA.2J.batchexp6\")))",
            "DESeq(dds, test=\"LRT\", reduced=~strain+batch, quiet=TRUE)", "results(ddsLRT)",
            nrow(dds), ncol(dds), paste(levels(sm$strain), collapse = ","),
            paste(levels(sm$batch), collapse = ","), R.version.string,
            as.character(packageVersion("DESeq2")), Sys.getlocale("LC_COLLATE"),
            extSoftVersion()[["BLAS"]]))
write.table(meta, file.path(here, "R_refs_meta.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
cat("done", here, "\n")
