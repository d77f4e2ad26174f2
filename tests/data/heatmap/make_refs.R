# R hclust references for heatseq.cluster (every valid metric / method pair, rows and columns).
# Run from this folder:  Rscript make_refs.R
# Input: bottomly_top300.tsv.gz = the 300 most variable genes (R var, order(decreasing=TRUE))
# of ../bottomly/vst_R.tsv.gz (DESeq2 1.38.3 vst(dds, blind=FALSE)), rows in that order.
x <- as.matrix(read.delim(gzfile("bottomly_top300.tsv.gz"), row.names = 1, check.names = FALSE))
z <- t(scale(t(x)))                    # pheatmap's scale = "row"
dists <- function(m, metric) {
  switch(metric,
    euclidean = dist(m),
    manhattan = dist(m, method = "manhattan"),
    correlation = as.dist(1 - cor(t(m))),
    spearman = as.dist(1 - cor(t(m), method = "spearman")),
    cosine = { u <- m / sqrt(rowSums(m^2)); as.dist(1 - tcrossprod(u)) })
}
trees <- list(); orders <- list()
for (metric in c("euclidean", "correlation", "spearman", "cosine", "manhattan")) {
  methods <- if (metric == "euclidean") c("complete", "average", "ward.D2", "single") else
    c("complete", "average", "single")
  for (method in methods) for (axis in c("row", "col")) {
    m <- if (axis == "row") z else t(z)
    h <- hclust(dists(m, metric), method = method)
    trees[[length(trees) + 1]] <- data.frame(axis = axis, metric = metric, method = method,
      step = seq_len(nrow(h$merge)), merge1 = h$merge[, 1], merge2 = h$merge[, 2],
      height = sprintf("%.17g", h$height))
    orders[[length(orders) + 1]] <- data.frame(axis = axis, metric = metric, method = method,
      position = seq_along(h$order), input_index = h$order, id = rownames(m)[h$order])
  }
}
con <- gzfile("hclust_R_tree.tsv.gz", "w")
write.table(do.call(rbind, trees), con, sep = "\t", quote = FALSE, row.names = FALSE); close(con)
con <- gzfile("hclust_R_order.tsv.gz", "w")
write.table(do.call(rbind, orders), con, sep = "\t", quote = FALSE, row.names = FALSE); close(con)
cat(R.version.string, "\n")
