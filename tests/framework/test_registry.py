from __future__ import annotations

import pytest

from torchx.registry import Registry, RegistryError


class Net:
    def __init__(self, width: int, depth: int = 2) -> None:
        self.width, self.depth = width, depth


def make_registry() -> Registry:
    reg = Registry("model")
    reg.register("net")(Net)
    return reg


def test_make_builds_with_args_and_override_without_mutating_spec() -> None:
    reg = make_registry()
    spec = {"name": "net", "args": {"width": 8}}
    net = reg.make(spec, args={"depth": 5})
    assert (net.width, net.depth) == (8, 5)
    assert spec == {"name": "net", "args": {"width": 8}}


def test_duplicate_name_names_both_definitions() -> None:
    reg = make_registry()

    class Other:
        pass

    with pytest.raises(RegistryError, match=r"registered twice.*test_registry\.Net.*Other"):
        reg.register("net")(Other)


def test_unknown_name_lists_known_and_closest() -> None:
    with pytest.raises(RegistryError, match=r"unknown model 'nett' \(did you mean 'net'\?\); known: net"):
        make_registry().make({"name": "nett"})


def test_bad_argument_names_class_and_argument() -> None:
    with pytest.raises(RegistryError, match=r"model 'net' .*Net.*unexpected argument 'widht' "
                                            r"\(did you mean 'width'\?\); accepts: width, depth"):
        make_registry().make({"name": "net", "args": {"widht": 3}})
    with pytest.raises(RegistryError, match="missing a required argument: 'width'"):
        make_registry().make({"name": "net"})


def test_shipped_registries_are_filled() -> None:
    from torchx import datasets, losses, models, wrappers

    assert {"mlp", "cnn", "resnet18"} <= set(models.models.names())
    assert {"digits", "mnist"} <= set(datasets.datasets.names())
    assert "cross_entropy" in losses.losses.names()
    assert "base" in wrappers.wrappers.names()
