"""Subcommand registration: importing this module registers every subcommand."""

import importlib
import pkgutil

import heatseq.commands as _pkg

for _mod in sorted(m.name for m in pkgutil.iter_modules(_pkg.__path__)):
    importlib.import_module(f"heatseq.commands.{_mod}")
