# Reference values for heatseq's dispersion line search (tests/test_de_dispersion.py).
# R 4.2.2, DESeq2 1.38.3. Run from this folder: Rscript make_linesearch_refs.R
# Writes (all numbers with 17 significant digits, i.e. bit-exact doubles):
#   sizefactors_R_exact.tsv  DESeq2 size factors of this data set
#   linesearch_R.tsv.gz      for 40 genes: the gene-wise start alpha_init (min of the rough
#                            and moments estimates), the fitted means mu (linearModelMu),
#                            and DESeq2:::fitDisp's result from there (no prior)
#   rmath_R.tsv.gz           x, lgamma(x), digamma(x) at 2,000 arguments
suppressMessages(library(DESeq2))
f17 <- function(v) sprintf("%.17g", v)
cts <- as.matrix(read.delim(gzfile("counts.tsv.gz"), row.names = 1, check.names = FALSE))
s <- read.csv("samples.csv", row.names = 1)
cts <- cts[, rownames(s)]
s$condition <- factor(s$condition, levels = c("Kidney", "Liver"))
dds <- DESeqDataSetFromMatrix(cts, s, ~ condition)
dds <- estimateSizeFactors(dds)
write.table(data.frame(sample = colnames(dds), sizeFactor = f17(sizeFactors(dds))),
            "sizefactors_R_exact.tsv", sep = "\t", quote = FALSE, row.names = FALSE)
dds <- DESeq2:::getBaseMeansAndVariances(dds)
x <- model.matrix(~ condition, colData(dds))
rough <- DESeq2:::roughDispEstimate(counts(dds, normalized = TRUE), x)
mom <- DESeq2:::momentsDispEstimate(dds)
alpha_init <- pmin(pmax(1e-8, pmin(rough, mom)), max(10, ncol(dds)))
mu <- DESeq2:::linearModelMuNormalized(dds, x)
mu[mu < 0.5] <- 0.5
# the two genes whose outcome R's rounding decides, and 38 spread over the rest
special <- c("ENSG00000189229", "ENSG00000114279")
idx <- sort(unique(c(match(special, rownames(dds)), round(seq(1, nrow(dds), length.out = 38)))))
y <- counts(dds)[idx, , drop = FALSE]
fit <- DESeq2:::fitDisp(y, x, mu[idx, , drop = FALSE], log(alpha_init[idx]),
                        rep(0, length(idx)), 1, log(1e-8 / 10), 1, 1e-6, 100L, FALSE,
                        matrix(1, length(idx), ncol(dds)), FALSE, 0.01, TRUE)
out <- data.frame(gene_id = rownames(dds)[idx], baseMean = f17(mcols(dds)$baseMean[idx]),
                  baseVar = f17(mcols(dds)$baseVar[idx]), alpha_init = f17(alpha_init[idx]),
                  log_alpha = f17(fit$log_alpha), iter = fit$iter,
                  iter_accept = fit$iter_accept, initial_lp = f17(fit$initial_lp),
                  last_lp = f17(fit$last_lp), initial_dlp = f17(fit$initial_dlp))
m <- apply(mu[idx, , drop = FALSE], 2, f17)
colnames(m) <- paste0("mu_", colnames(dds))
out <- cbind(out, m)
gz <- gzfile("linesearch_R.tsv.gz", "w")
write.table(out, gz, sep = "\t", quote = FALSE, row.names = FALSE)
close(gz)
set.seed(1)
xs <- c(exp(runif(900, log(1e-3), log(1e12))),            # everything
        round(runif(700, 0, 3000)) + exp(runif(700, log(1), log(1e8))),  # y + 1/alpha
        runif(300, 0, 10), 1:100 + 0.5)                  # gammafn's range, half-integers
gz <- gzfile("rmath_R.tsv.gz", "w")
write.table(data.frame(x = f17(xs), lgamma = f17(lgamma(xs)), digamma = f17(digamma(xs))),
            gz, sep = "\t", quote = FALSE, row.names = FALSE)
close(gz)
