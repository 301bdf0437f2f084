"""Run configuration: TOML in and out, validation naming the key, overrides."""
import pytest

from mlpcore.config import ConfigError, RunConfig, dump_config, from_dict, load_config, parse_value


def test_defaults_are_the_course_setup():
    c = RunConfig()
    assert (c.data.source, c.data.classes, c.data.sigma, c.data.n_per_class, c.data.test_size) == \
        ("spiral", 4, 0.16, 1000, 0.2)
    assert (c.model.hidden, c.model.activation, c.model.init) == ([128], "relu", "he")
    assert (c.optimizer.name, c.optimizer.lr, c.training.batch_size, c.training.epochs) == ("adam", 1e-3, 128, 100)


def test_round_trip_through_toml(tmp_path):
    c = from_dict({"model": {"hidden": [64, 32], "activation": "tanh"}, "optimizer": {"lr": 0.003},
                   "data": {"source": "csv", "path": 'a "quoted"\\path.csv', "target": "label"}})
    p = tmp_path / "run.toml"
    p.write_text(dump_config(c))
    assert load_config(p) == c


@pytest.mark.parametrize("data, match", [
    ({"model": {"hiden": [3]}}, r"unknown key model\.hiden"),
    ({"modle": {}}, r"unknown section \[modle\]"),
    ({"training": {"epochs": "ten"}}, r"training\.epochs must be an integer"),
    ({"training": {"epochs": -1}}, r"training\.epochs must be >= 0"),
    ({"optimizer": {"lr": -1}}, r"optimizer\.lr must be >= 0"),
    ({"optimizer": {"beta1": 1.0}}, r"optimizer\.beta1 must be in \[0, 1\)"),
    ({"model": {"leaky_relu_slope": 1.0}}, r"model\.leaky_relu_slope must be in \(0, 1\)"),
    ({"training": {"plateau_factor": 1.0}}, r"training\.plateau_factor must be < 1"),
    ({"training": {"monitor": "val_f1"}}, r"training\.monitor must be one of"),
    ({"model": {"activation": "softsign"}}, r"model\.activation must be one of"),
    ({"model": {"hidden": [0]}}, r"model\.hidden entries must be >= 1"),
    ({"model": {"hidden": 5}}, r"model\.hidden must be a list of integers"),
    ({"data": {"standardize": "yes"}}, r"data\.standardize must be true or false"),
    ({"data": {"test_size": 1.5}}, r"data\.test_size must be < 1"),
    ({"training": {"batch_size": True}}, r"training\.batch_size must be an integer"),
])
def test_bad_values_name_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(data)


def test_invalid_toml_is_a_config_error(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[model\nhidden = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_parse_value_converts_and_validates():
    assert parse_value("model.hidden", "64, 32") == [64, 32]
    assert parse_value("training.shuffle", "false") is False
    assert parse_value("optimizer.lr", "3e-3") == 0.003
    with pytest.raises(ConfigError, match=r"training\.epochs must be an integer"):
        parse_value("training.epochs", "1.5")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_value("training.epoch", "3")


def test_config_is_frozen():
    from dataclasses import FrozenInstanceError

    c = RunConfig()
    with pytest.raises(FrozenInstanceError):
        c.model.hidden = [1]  # type: ignore[misc]
