#!/usr/bin/env Rscript
# R model.matrix() and DESeq2 resultsNames() for a set of design formulas on a small
# synthetic sample table, and R's default factor level order for a set of strings.
#   Rscript tests/data/design_cases/make_refs.R
# Writes into this folder (see README.md):
#   samples.csv            the sample table (character columns become factors in R,
#                          numeric stay numeric, sex is logical)
#   formulas.tsv           case, formula, term_labels (attr(terms(f), "term.labels") joined
#                          by "|"), status ("ok", or the error DESeq2 gave)
#   model_matrices.tsv.gz  case, sample, column (R model.matrix name), position, value
#   coef_names.tsv         case, position, r_name, assign (attr(mm, "assign")), deseq2_name
#                          (resultsNames after nbinomWaldTest with dispersions fixed at 0.1)
#   factor_levels.tsv      input, rank: levels(factor(strings)) in this R session
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
suppressPackageStartupMessages(library(DESeq2))
set.seed(42)

n <- 24
genotype <- rep(c("WT", "mutant", "KO"), each = 8)
treatment <- rep(rep(c("control", "Treated"), each = 4), 3)
batch <- rep(c("b1", "b2"), 12)
group <- rep(c("A-1", "B/2", "c 3"), 8)
cell_type <- rep(c("hela", "HEK", "HEK", "hela"), 6)
age <- round(runif(n, 20, 60), 2)
dose <- rep(c(1, 2, 10), times = 8)[c(2:24, 1)]
sex <- rep(c(TRUE, FALSE, FALSE, TRUE, TRUE, FALSE), 4)
samples <- data.frame(sample = sprintf("s%02d", seq_len(n)), genotype = genotype,
                      treatment = treatment, batch = batch, group = group,
                      `cell type` = cell_type, age = age, dose = dose, sex = sex,
                      check.names = FALSE, stringsAsFactors = FALSE)
write.csv(samples, file.path(here, "samples.csv"), row.names = FALSE, quote = TRUE)

cd <- samples
rownames(cd) <- cd$sample
for (v in c("genotype", "treatment", "batch", "group", "cell type")) cd[[v]] <- factor(cd[[v]])

formulas <- c(
  "~ treatment",
  "~ batch + treatment",
  "~ genotype * treatment",
  "~ genotype + treatment + genotype:treatment",
  "~ treatment + genotype:treatment",
  "~ 0 + group",
  "~ group - 1",
  "~ age + treatment",
  "~ age * treatment",
  "~ factor(dose) + treatment",
  "~ dose + treatment",
  "~ 1",
  "~ sex + treatment",
  "~ (genotype + treatment + batch)^2",
  "~ genotype/treatment",
  "~ batch + genotype * treatment - genotype:treatment",
  "~ 0 + genotype + treatment",
  "~ 0 + genotype:treatment",
  "~ treatment + age:genotype",
  "~ `cell type` + treatment",
  "~ treatment * batch * genotype",
  "~ batch + group + treatment",
  "~ treatment:batch + batch",
  "~ 0 + age + treatment",
  "~ -1 + group",
  "~ age:treatment",
  "~ batch * age + treatment",
  "~ genotype + treatment + 1"
)
counts <- matrix(rnbinom(n * 40, mu = 100, size = 5), ncol = n)
rownames(counts) <- sprintf("g%02d", seq_len(nrow(counts)))
colnames(counts) <- cd$sample

mm_rows <- list(); name_rows <- list(); status <- character(length(formulas))
labels <- character(length(formulas))
for (k in seq_along(formulas)) {
  f <- as.formula(formulas[k])
  mm <- model.matrix(f, data = cd)
  labels[k] <- paste(attr(terms(f), "term.labels"), collapse = "|")
  mm_rows[[k]] <- data.frame(case = k, sample = rep(rownames(mm), ncol(mm)),
                             column = rep(colnames(mm), each = nrow(mm)),
                             position = rep(seq_len(ncol(mm)), each = nrow(mm)),
                             value = as.vector(mm), check.names = FALSE)
  rn <- tryCatch({
    dds <- suppressMessages(suppressWarnings(DESeqDataSetFromMatrix(counts, cd, design = f)))
    dds <- estimateSizeFactors(dds)
    dispersions(dds) <- rep(0.1, nrow(dds))
    dds <- suppressMessages(nbinomWaldTest(dds))
    status[k] <- "ok"
    resultsNames(dds)
  }, error = function(e) {
    status[k] <<- gsub("[\t\n]+", " ", conditionMessage(e))
    rep(NA_character_, ncol(mm))
  })
  name_rows[[k]] <- data.frame(case = k, position = seq_len(ncol(mm)), r_name = colnames(mm),
                               assign = attr(mm, "assign"), deseq2_name = rn)
}
write.table(data.frame(case = seq_along(formulas), formula = formulas,
                       term_labels = labels, status = status),
            file.path(here, "formulas.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
con <- gzfile(file.path(here, "model_matrices.tsv.gz"), "w")
write.table(do.call(rbind, mm_rows), con, sep = "\t", quote = FALSE, row.names = FALSE)
close(con)
write.table(do.call(rbind, name_rows), file.path(here, "coef_names.tsv"), sep = "\t",
            quote = FALSE, row.names = FALSE, na = "NA")

strings <- c("Control", "treated", "WT", "mutant", "KO", "ko", "a_b", "a.b", "ab", "a-b", "aB",
             "Ab", "AB", "a b", "a1", "a10", "a9", "A1", "x_1", "x.1", "x1", "x-1", "co-op",
             "coop", "co_op", "b2", "B1", "N61311", "N052611", "N080611", "N061011",
             "C57BL/6J", "DBA/2J", "exp4", "exp10", "untrt", "trt", "Liver", "Kidney",
             "tumor", "normal", "_x", "10", "9", "1.5", "-1", "+1", "(a)", "[b]", "{c}",
             "a@b", "a*b", "a/b", "a\\b", "a&b", "a#b", "a%b", "a`b", "a^b", "a+b", "a<b",
             "a=b", "a>b", "a|b", "a~b", "a$b", "a!b", "a?b", "a;b", "a:b", "a,b", "a'b",
             "Z", "z", "zz", "Zz", "zZ", "ZZ", "day 1", "day 10", "day 2", "Day 1")
lv <- levels(factor(strings))
write.table(data.frame(level = lv, rank = seq_along(lv)), file.path(here, "factor_levels.tsv"),
            sep = "\t", quote = FALSE, row.names = FALSE)
meta <- data.frame(key = c("R", "DESeq2", "collate", "icu"),
                   value = c(R.version.string, as.character(packageVersion("DESeq2")),
                             Sys.getlocale("LC_COLLATE"), extSoftVersion()[["ICU"]]))
write.table(meta, file.path(here, "R_refs_meta.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
cat("done", here, "\n")
