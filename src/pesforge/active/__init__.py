"""Active learning: explore with a committee, label where it disagrees, retrain, repeat.

:func:`run_active_learning` runs a campaign described by :class:`ActiveLearningConfig`
(``pesforge active-learn CONFIG.yaml [--resume]``); its state lives in an SQLite
:class:`~pesforge.oracles.LabelStore`, so a killed campaign resumes without losing a label or
repeating a finished oracle call.
"""

from pesforge.active.config import (ActiveLearningConfig, BiasConfig, CommitteeConfig,
                                    ExploreConfig, OracleSpec, SelectConfig, StopConfig,
                                    load_active_config)
from pesforge.active.loop import ActiveResult, build_oracle, initial_frames, run_active_learning

__all__ = ["ActiveLearningConfig", "OracleSpec", "CommitteeConfig", "ExploreConfig",
           "BiasConfig", "SelectConfig", "StopConfig", "load_active_config",
           "run_active_learning", "ActiveResult", "build_oracle", "initial_frames"]
