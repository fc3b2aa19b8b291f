import pytest
import yaml

from pesforge.training.config import ConfigError, LossConfig, TrainConfig, load_config


def write(path, tree):
    path.write_text(yaml.safe_dump(tree))
    return path


def test_yaml_round_trip(tmp_path):
    config = load_config(None, {"data.train_file": "a.xyz", "data.test_file": "b.xyz",
                                "model.hidden": [32, 16], "model.angular_kind": "g4",
                                "loss.noise": {"sigma_energy_per_atom": 0.001,
                                               "sigma_forces": 0.05},
                                "optimizer.scheduler.factor": 0.3, "max_minutes": 2.5})
    path = config.to_yaml(tmp_path / "config.yaml")
    again = load_config(path)
    assert again == config
    assert again.model.hidden == [32, 16]
    assert again.loss.noise.sigma_forces == 0.05


@pytest.mark.parametrize("tree, bad", [
    ({"data": {"train_file": "a.xyz", "trian_file": "b"}}, "data.trian_file"),
    ({"data": {"train_file": "a.xyz"}, "optimiser": {"lr": 1e-3}}, "optimiser"),
    ({"data": {"train_file": "a.xyz"}, "optimizer": {"scheduler": {"patiense": 3}}},
     "optimizer.scheduler.patiense"),
])
def test_unknown_keys_are_rejected(tmp_path, tree, bad):
    with pytest.raises(ConfigError, match=rf"{bad}: unknown key"):
        load_config(write(tmp_path / "c.yaml", tree))


def test_flags_override_yaml_and_none_is_ignored(tmp_path):
    path = write(tmp_path / "c.yaml", {"data": {"train_file": "a.xyz"}, "seed": 3,
                                       "optimizer": {"max_epochs": 7, "lr": 0.01}})
    config = load_config(path, {"seed": 11, "data.train_file": "b.xyz",
                                "optimizer.max_epochs": None, "output": None})
    assert config.seed == 11
    assert config.data.train_file == "b.xyz"
    assert config.optimizer.max_epochs == 7
    assert config.optimizer.lr == 0.01
    assert config.output == TrainConfig.model_fields["output"].default


def test_noise_gives_inverse_variance_weights():
    loss = LossConfig(noise={"sigma_energy_per_atom": 0.002, "sigma_forces": 0.04,
                             "sigma_stress": 0.5})
    assert loss.weights() == pytest.approx((1 / 0.002**2, 1 / 0.04**2, 1 / 0.5**2), rel=1e-14)


def test_weights_default_and_explicit():
    assert LossConfig().weights() == (1.0, 100.0, 1.0)
    assert LossConfig(forces_weight=2.0).weights() == (1.0, 2.0, 1.0)


def test_noise_and_weights_are_exclusive():
    with pytest.raises(ConfigError, match="either loss.noise or loss weights"):
        load_config(None, {"data.train_file": "a.xyz", "loss.energy_weight": 1.0,
                           "loss.noise": {"sigma_energy_per_atom": 0.001, "sigma_forces": 0.1}})


@pytest.mark.parametrize("override, message", [
    ({"model.name": "mace9000"}, "unknown model 'mace9000'"),
    ({"model.angular_cutoff": 6.0}, "angular_cutoff must not exceed cutoff"),
    ({"model.activation": "relu6"}, "activation must be one of"),
    ({"model.dtype": "float16"}, "model.dtype"),
    ({"data.validation_fraction": 1.5}, "data.validation_fraction"),
    ({"optimizer.ema_decay": 1.0}, "optimizer.ema_decay"),
])
def test_bad_values_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, {"data.train_file": "a.xyz", **override})


def test_missing_train_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="data.train_file: required"):
        load_config(None, {})
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
