"""Tests of the generic typed-config machinery (example dataclasses defined here)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from odevideo import configio
from odevideo.configio import (
    apply_overrides,
    from_dict,
    list_presets,
    load_config,
    load_preset,
    merge,
    parse_override,
    save_config,
    to_dict,
    validate,
)
from odevideo.errors import ConfigError


@dataclass
class Opt:
    name: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass
class Model:
    hidden: int = 32
    dims: list[int] = field(default_factory=lambda: [16, 32])
    activation: str = "relu"
    dropout: float | None = None
    latent: int | None = 8
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inner:
    depth: int = 2


@dataclass
class Cfg:
    name: str = "run"
    seed: int = 0
    verbose: bool = False
    scales: tuple[float, ...] = (1.0,)
    tags: list[str] = field(default_factory=list)
    model: Model = field(default_factory=Model)
    optim: Opt = field(default_factory=Opt)
    sub: Inner | None = None
    out_dir: Path = Path("runs")


@dataclass
class Required:
    steps: int
    lr: float = 0.1


@dataclass
class Checked:
    n: int = 1

    def __post_init__(self):
        if self.n <= 0:
            raise ValueError("n must be positive")


def write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


# ----------------------------------------------------------------------------- from_dict


def test_defaults_and_nested():
    cfg = from_dict(Cfg, {})
    assert cfg == Cfg()
    cfg = from_dict(Cfg, {"model": {"hidden": 64}, "optim": {"name": "sgd"}})
    assert cfg.model.hidden == 64 and cfg.model.dims == [16, 32] and cfg.optim.name == "sgd"
    assert isinstance(cfg.model, Model)


def test_unknown_key_names_full_path_valid_keys_and_suggestion():
    with pytest.raises(ConfigError) as e:
        from_dict(Cfg, {"model": {"hiden": 3}})
    msg = str(e.value)
    assert "'model.hiden'" in msg and "did you mean 'model.hidden'" in msg
    for key in ("hidden", "dims", "activation", "dropout", "latent", "extra"):
        assert key in msg
    with pytest.raises(ConfigError, match=r"'sed'.*did you mean 'seed'"):
        from_dict(Cfg, {"sed": 1})
    with pytest.raises(ConfigError) as e:
        from_dict(Cfg, {"zzzzzz": 1})
    assert "did you mean" not in str(e.value)
    assert "unknown config key 'zzzzzz'. Valid keys of the top level: name, seed" in str(e.value)


def test_type_errors_name_key_expected_and_value():
    with pytest.raises(ConfigError) as e:
        from_dict(Cfg, {"model": {"hidden": "big"}})
    msg = str(e.value)
    assert "model.hidden" in msg and "int" in msg and "'big'" in msg
    with pytest.raises(ConfigError, match="verbose.*bool"):
        from_dict(Cfg, {"verbose": "yes"})
    with pytest.raises(ConfigError, match="seed.*int"):
        from_dict(Cfg, {"seed": True})  # bool is not an int here
    with pytest.raises(ConfigError, match=r"write it as an integer \(3\)"):
        from_dict(Cfg, {"seed": 3.0})
    with pytest.raises(ConfigError, match=r"'1e5'.*write it as an integer \(100000\)"):
        from_dict(Cfg, {"seed": "1e5"})
    with pytest.raises(ConfigError, match="name.*str"):
        from_dict(Cfg, {"name": 5})
    with pytest.raises(ConfigError, match="model.*mapping"):
        from_dict(Cfg, {"model": 3})
    with pytest.raises(ConfigError, match=r"model\.dims\[1\].*int.*'x'"):
        from_dict(Cfg, {"model": {"dims": [1, "x"]}})


def test_float_accepts_int_and_numeric_string():
    cfg = from_dict(Cfg, {"optim": {"lr": 1}})
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    cfg = from_dict(Cfg, {"optim": {"lr": "1e-3"}})
    assert cfg.optim.lr == 1e-3
    with pytest.raises(ConfigError, match="optim.lr.*float"):
        from_dict(Cfg, {"optim": {"lr": "fast"}})
    with pytest.raises(ConfigError):
        from_dict(Cfg, {"optim": {"lr": False}})


def test_list_tuple_optional_literal_dict_path():
    cfg = from_dict(Cfg, {
        "scales": [1, 0.5, "2e-1"], "tags": ["a", "b"], "optim": {"betas": [0.5, 0.6]},
        "model": {"dropout": 0.1, "latent": None, "extra": {"k": [1, {"x": None}]}},
        "sub": {"depth": 5}, "out_dir": "somewhere",
    })
    assert cfg.scales == (1.0, 0.5, 0.2) and isinstance(cfg.scales, tuple)
    assert cfg.optim.betas == (0.5, 0.6) and isinstance(cfg.optim.betas, tuple)
    assert cfg.model.dropout == 0.1 and cfg.model.latent is None
    assert cfg.model.extra == {"k": [1, {"x": None}]}
    assert cfg.sub == Inner(5) and cfg.out_dir == Path("somewhere")
    assert from_dict(Cfg, {"sub": None}).sub is None
    with pytest.raises(ConfigError, match=r"optim.betas.*exactly 2 items"):
        from_dict(Cfg, {"optim": {"betas": [0.1, 0.2, 0.3]}})
    with pytest.raises(ConfigError, match="tags.*list"):
        from_dict(Cfg, {"tags": "a"})
    with pytest.raises(ConfigError, match=r"optim.name.*one of 'adam', 'sgd'.*did you mean 'adam'"):
        from_dict(Cfg, {"optim": {"name": "adma"}})
    with pytest.raises(ConfigError, match=r"model.dropout.*float \| None"):
        from_dict(Cfg, {"model": {"dropout": "lots"}})
    with pytest.raises(ConfigError, match=r"sub.dept.*did you mean 'sub.depth'"):
        from_dict(Cfg, {"sub": {"dept": 1}})
    with pytest.raises(ConfigError, match=r"model.extra"):
        from_dict(Cfg, {"model": {"extra": [1]}})


def test_union_prefers_exact_type():
    @dataclass
    class U:  # annotations are strings (future import) but resolvable via module globals
        x: float | int = 0

    # local classes cannot resolve names in their enclosing function; these use globals only
    assert from_dict(U, {"x": 3}).x == 3 and isinstance(from_dict(U, {"x": 3}).x, int)
    assert from_dict(U, {"x": 2.5}).x == 2.5


def test_required_and_post_init():
    with pytest.raises(ConfigError, match=r"missing required config key 'steps'"):
        from_dict(Required, {})
    assert from_dict(Required, {"steps": 3}).steps == 3
    validate(Required, {"lr": 0.5})  # partial check: missing keys allowed
    with pytest.raises(ConfigError, match="n must be positive"):
        from_dict(Checked, {"n": 0})
    with pytest.raises(ConfigError, match="mapping"):
        from_dict(Cfg, [1, 2])


def test_to_dict_round_trip_and_yaml_serialisable(tmp_path):
    cfg = from_dict(Cfg, {"sub": {"depth": 3}, "scales": [1.0, 2.0], "model": {"extra": {"a": 1}}})
    d = to_dict(cfg)
    assert d["scales"] == [1.0, 2.0] and d["out_dir"] == "runs" and d["sub"] == {"depth": 3}
    assert yaml.safe_load(yaml.safe_dump(d)) == d
    assert from_dict(Cfg, d) == cfg
    p = save_config(cfg, tmp_path / "deep" / "config.yaml")
    assert from_dict(Cfg, yaml.safe_load(p.read_text())) == cfg
    assert [f for f in os.listdir(p.parent)] == ["config.yaml"]  # no temp files left


def test_save_config_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "config.yaml"
    save_config(Cfg(name="old"), p)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(configio.os, "replace", boom)
    with pytest.raises(OSError):
        save_config(Cfg(name="new"), p)
    assert yaml.safe_load(p.read_text())["name"] == "old"
    assert os.listdir(tmp_path) == ["config.yaml"]


def test_merge_is_deep_and_pure():
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    over = {"a": {"b": 2, "e": {"f": 3}}, "d": {"x": 1}}
    out = merge(base, over)
    assert out == {"a": {"b": 2, "c": [1], "e": {"f": 3}}, "d": {"x": 1}}
    out["a"]["c"].append(2)
    assert base == {"a": {"b": 1, "c": [1]}, "d": 1}
    assert over == {"a": {"b": 2, "e": {"f": 3}}, "d": {"x": 1}}


# ----------------------------------------------------------------------------- overrides


def test_parse_override():
    assert parse_override("a.b.c=1") == ("a.b.c", 1)
    assert parse_override("x=true") == ("x", True)
    assert parse_override("x=null") == ("x", None)
    assert parse_override("x=[1, 2]") == ("x", [1, 2])
    assert parse_override("x=1e-3") == ("x", "1e-3")  # PyYAML; converted against the schema
    assert parse_override("x=a=b") == ("x", "a=b")
    assert parse_override(" x = 0.5") == ("x", 0.5)
    for bad in ("train.lr", "=3", "a..b=1", ".a=1"):
        with pytest.raises(ConfigError, match="KEY=VALUE|dotted name"):
            parse_override(bad)
    with pytest.raises(ConfigError, match="e.g. 'train.lr=1e-3'"):
        parse_override("lr")
    with pytest.raises(ConfigError, match="cannot parse"):
        parse_override("x=[1, 2")


def test_apply_overrides_types_and_conversions():
    out = apply_overrides({"optim": {"name": "sgd"}}, [
        "optim.lr=1e-3", "model.dims=[8, 16]", "scales=[1, 2e-1]", "model.dropout=null",
        "name=123", "verbose=true", "model.extra.foo.bar=1", "sub.depth=4", "optim.betas=[0, 1]",
    ], Cfg)
    assert out["optim"] == {"name": "sgd", "lr": 1e-3, "betas": [0.0, 1.0]}
    assert isinstance(out["optim"]["lr"], float)
    assert out["model"] == {"dims": [8, 16], "dropout": None, "extra": {"foo": {"bar": 1}}}
    assert out["scales"] == [1.0, 0.2] and out["name"] == "123" and out["verbose"] is True
    assert out["sub"] == {"depth": 4}
    cfg = from_dict(Cfg, out)
    assert cfg.optim.lr == 1e-3 and cfg.sub.depth == 4 and cfg.name == "123"
    # yaml would read 'yes'/'on' as booleans; a str field keeps the text
    assert apply_overrides({}, ["model.activation=yes"], Cfg)["model"]["activation"] == "yes"
    # a mapping assigned to a section is merged into it
    out = apply_overrides({"model": {"hidden": 3, "dims": [1]}}, ["model={hidden: 5}"], Cfg)
    assert out["model"] == {"hidden": 5, "dims": [1]}
    # the input is not modified
    base = {"optim": {"lr": 0.5}}
    apply_overrides(base, ["optim.lr=0.1"], Cfg)
    assert base == {"optim": {"lr": 0.5}}
    # without a schema: plain setting
    assert apply_overrides({}, ["a.b=1"]) == {"a": {"b": 1}}


def test_apply_overrides_fails_early():
    with pytest.raises(ConfigError, match=r"'optim.lrr'.*did you mean 'optim.lr'.*name, lr, betas"):
        apply_overrides({}, ["optim.lrr=1"], Cfg)
    with pytest.raises(ConfigError, match=r"'modle'.*did you mean 'model'"):
        apply_overrides({}, ["modle.hidden=1"], Cfg)
    with pytest.raises(ConfigError, match=r"'seed' is a value of type int, not a section"):
        apply_overrides({}, ["seed.x=1"], Cfg)
    with pytest.raises(ConfigError, match=r"model.hidden.*int.*'abc'"):
        apply_overrides({}, ["model.hidden=abc"], Cfg)
    with pytest.raises(ConfigError, match=r"optim.lr.*float"):
        apply_overrides({}, ["optim.lr=fast"], Cfg)
    with pytest.raises(ConfigError, match=r"optim.name.*did you mean 'sgd'"):
        apply_overrides({}, ["optim.name=sdg"], Cfg)
    with pytest.raises(ConfigError, match=r"model.hiden.*did you mean 'model.hidden'"):
        apply_overrides({}, ["model={hiden: 5}"], Cfg)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_overrides({}, ["model.hidden"], Cfg)


# ----------------------------------------------------------------------------- presets / load_config


@pytest.fixture()
def presets(tmp_path):
    d = tmp_path / "presets"
    d.mkdir()
    write(d / "small.yaml", {"name": "small", "seed": 1, "model": {"hidden": 16, "dims": [4]}})
    write(d / "small_fast.yaml", {"base": "small", "optim": {"lr": "1e-2"}, "model": {"hidden": 8}})
    write(d / "tiny.yaml", {"base": "small_fast", "model": {"activation": "tanh"}})
    write(d / "multi.yaml", {"base": ["small", "other"], "seed": 9})
    write(d / "other.yaml", {"seed": 5, "tags": ["o"]})
    write(d / "cyc_a.yaml", {"base": "cyc_b", "seed": 1})
    write(d / "cyc_b.yaml", {"base": "cyc_a", "seed": 2})
    write(d / "self.yaml", {"base": "self"})
    write(d / "bad_key.yaml", {"model": {"hiden": 1}})
    write(d / "broken.yaml", "model: [1, 2\n")
    write(d / "scalar.yaml", "3\n")
    write(d / "empty.yaml", "")
    return d


def test_list_presets(presets, tmp_path):
    names = list_presets(presets_dir=presets)
    assert names == sorted(names) and "small" in names and "tiny" in names
    assert list_presets(presets_dir=tmp_path / "nope") == []
    assert isinstance(list_presets(), list)  # the package's own folder (maybe empty)


def test_precedence_defaults_preset_file_overrides(presets, tmp_path):
    assert load_config(Cfg, presets_dir=presets) == Cfg()
    cfg = load_config(Cfg, "small", presets_dir=presets)
    assert (cfg.name, cfg.seed, cfg.model.hidden, cfg.model.dims) == ("small", 1, 16, [4])
    assert cfg.model.activation == "relu" and cfg.optim.lr == 1e-3  # defaults kept

    f = write(tmp_path / "run.yaml", {"seed": 2, "model": {"activation": "gelu"}})
    cfg = load_config(Cfg, "small", f, presets_dir=presets)
    assert (cfg.name, cfg.seed, cfg.model.hidden, cfg.model.activation) == ("small", 2, 16, "gelu")

    cfg = load_config(Cfg, "small", f, ["seed=3", "model.hidden=100"], presets_dir=presets)
    assert (cfg.seed, cfg.model.hidden, cfg.model.activation, cfg.model.dims) == (3, 100, "gelu", [4])

    cfg = load_config(Cfg, None, f, ["optim.lr=1e-4"], presets_dir=presets)
    assert (cfg.name, cfg.seed, cfg.optim.lr) == ("run", 2, 1e-4)


def test_base_inheritance(presets, tmp_path):
    cfg = load_config(Cfg, "tiny", presets_dir=presets)
    assert cfg.name == "small" and cfg.seed == 1  # from small, two levels up
    assert cfg.model.hidden == 8 and cfg.model.dims == [4]  # small_fast overrides small
    assert cfg.optim.lr == 1e-2 and cfg.model.activation == "tanh"
    assert "base" not in load_preset("tiny", presets_dir=presets)
    cfg = load_config(Cfg, "multi", presets_dir=presets)  # later bases win, own keys win last
    assert cfg.seed == 9 and cfg.tags == ["o"] and cfg.model.hidden == 16
    # a config file may inherit from a preset too
    f = write(tmp_path / "run.yaml", {"base": "small_fast", "seed": 7})
    cfg = load_config(Cfg, None, f, presets_dir=presets)
    assert (cfg.seed, cfg.model.hidden, cfg.optim.lr) == (7, 8, 1e-2)
    assert load_config(Cfg, "empty", presets_dir=presets) == Cfg()


def test_base_cycles_are_reported(presets):
    with pytest.raises(ConfigError, match=r"cycle: cyc_a -> cyc_b -> cyc_a"):
        load_config(Cfg, "cyc_a", presets_dir=presets)
    with pytest.raises(ConfigError, match=r"cycle: self -> self"):
        load_preset("self", presets_dir=presets)


def test_preset_and_file_errors(presets, tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(Cfg, "smal", presets_dir=presets)
    assert "did you mean 'small'" in str(e.value) and "tiny" in str(e.value)
    with pytest.raises(ConfigError, match=r"in preset 'bad_key'.*model.hiden.*did you mean"):
        load_config(Cfg, "bad_key", presets_dir=presets)
    with pytest.raises(ConfigError, match="cannot parse YAML"):
        load_config(Cfg, "broken", presets_dir=presets)
    with pytest.raises(ConfigError, match="mapping"):
        load_config(Cfg, "scalar", presets_dir=presets)
    with pytest.raises(ConfigError, match="not found"):
        load_config(Cfg, None, tmp_path / "missing.yaml", presets_dir=presets)
    f = write(tmp_path / "bad.yaml", {"optim": {"lr": "quick"}})
    with pytest.raises(ConfigError, match=r"in config file .*bad.yaml.*optim.lr.*float"):
        load_config(Cfg, None, f, presets_dir=presets)
    f = write(tmp_path / "badbase.yaml", {"base": "nope"})
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_config(Cfg, None, f, presets_dir=presets)
    with pytest.raises(ConfigError, match=r"optim.lrr.*did you mean"):
        load_config(Cfg, "small", None, ["optim.lrr=1"], presets_dir=presets)
    with pytest.raises(ConfigError, match=r"unknown preset 'x'\. Available presets: \(none\)"):
        load_config(Cfg, "x", presets_dir=tmp_path / "empty_dir")


def test_required_field_via_override(presets):
    with pytest.raises(ConfigError, match="missing required config key 'steps'"):
        load_config(Required, presets_dir=presets)
    assert load_config(Required, None, None, ["steps=5"], presets_dir=presets).steps == 5


def test_dataclass_fields_exposed():
    # fields with init=False are not config keys
    @dataclass
    class WithDerived:
        a: int = 1
        b: int = dataclasses.field(init=False, default=0)

    assert to_dict(WithDerived()) == {"a": 1}
