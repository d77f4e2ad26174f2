"""One module per subcommand; each registers itself on :data:`heatseq.cli.cli`."""
