"""toysup: train toy models of superposition (torch; CUDA when present, CPU otherwise).

Public API (see README.md for a tour)::

    from toysup import FeatureConfig, ModelConfig, TrainConfig, train
    result = train(FeatureConfig(n_features=20, density=0.1, importance=0.7 ** np.arange(20)),
                   ModelConfig(n_features=20, n_hidden=5), TrainConfig(steps=3000))
"""

from toysup.config import FeatureConfig as FeatureConfig
from toysup.config import ModelConfig as ModelConfig
from toysup.config import TrainConfig as TrainConfig
from toysup.data import sample_features as sample_features
from toysup.models import ToyModel as ToyModel
from toysup.models import loss_per_instance as loss_per_instance
from toysup.models import reconstruct as reconstruct
from toysup.result import TrainResult as TrainResult
from toysup.train import TrainingDivergedError as TrainingDivergedError
from toysup.train import train as train

__all__ = [
    "FeatureConfig",
    "ModelConfig",
    "ToyModel",
    "TrainConfig",
    "TrainResult",
    "TrainingDivergedError",
    "loss_per_instance",
    "reconstruct",
    "sample_features",
    "train",
]
