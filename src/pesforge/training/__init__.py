"""Training potentials: the config tree, losses, metrics, EMA, checkpoints and the loop."""

from pesforge.training.checkpoint import load_checkpoint, save_checkpoint
from pesforge.training.config import (ConfigError, DataConfig, LossConfig, ModelConfig,
                                      NoiseConfig, OptimizerConfig, SchedulerConfig, TrainConfig,
                                      load_config)
from pesforge.training.ema import EMA
from pesforge.training.factory import build_model, builder
from pesforge.training.losses import LossWeights, loss
from pesforge.training.loop import TrainResult, train
from pesforge.training.metrics import METRIC_KEYS, Predictions, evaluate, predict

__all__ = ["TrainConfig", "DataConfig", "ModelConfig", "LossConfig", "NoiseConfig",
           "OptimizerConfig", "SchedulerConfig", "ConfigError", "load_config", "train",
           "TrainResult", "evaluate", "predict", "Predictions", "METRIC_KEYS", "LossWeights",
           "loss", "EMA", "save_checkpoint", "load_checkpoint", "build_model", "builder"]
