"""Conventions of the public API, enforced: a sorted and complete ``__all__`` and at most
two positional parameters on every public function."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import heatseq

MAX_POSITIONAL = 2


def _public_modules():
    for info in pkgutil.walk_packages(heatseq.__path__, "heatseq."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")[1:]):
            continue
        if name.startswith("heatseq.web"):
            continue  # optional extra; checked in its own tests
        yield importlib.import_module(name)


def test_top_level_all_is_sorted_and_complete():
    assert heatseq.__all__ == sorted(heatseq.__all__)
    for name in heatseq.__all__:
        assert hasattr(heatseq, name), name
    public = {n for n in vars(heatseq) if not n.startswith("_")}
    modules = {n for n, v in vars(heatseq).items() if inspect.ismodule(v)}
    assert public - modules <= set(heatseq.__all__), public - modules - set(heatseq.__all__)


def test_every_module_all_is_sorted():
    for mod in _public_modules():
        names = getattr(mod, "__all__", None)
        if names is not None:
            assert list(names) == sorted(names), mod.__name__
            for n in names:
                assert hasattr(mod, n), f"{mod.__name__}.{n}"


def _positional(fn) -> int:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 0
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in sig.parameters.values() if p.kind in kinds and p.name not in {"self", "cls"})


def test_public_functions_take_at_most_two_positional_parameters():
    offenders = []
    for mod in _public_modules():
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isfunction(obj) and _positional(obj) > MAX_POSITIONAL:
                offenders.append(f"{mod.__name__}.{name}")
            if inspect.isclass(obj) and not _is_record(obj):
                for mname, meth in vars(obj).items():
                    if mname.startswith("_") or not inspect.isfunction(meth):
                        continue
                    if _positional(meth) > MAX_POSITIONAL:
                        offenders.append(f"{mod.__name__}.{name}.{mname}")
    assert not offenders, f"more than {MAX_POSITIONAL} positional parameters: {offenders}"


def _is_record(cls) -> bool:
    # dataclass constructors and exceptions are records, not API functions
    import dataclasses

    return dataclasses.is_dataclass(cls) or issubclass(cls, BaseException)
