"""lince: image classifiers from the training machine to a robot's camera.

The parts are subpackages: :mod:`lince.runtime` (LiteRT classifier and camera
loop, no TensorFlow), :mod:`lince.export` (Keras to TFLite),
:mod:`lince.calibration` (representative data) and :mod:`lince.models`
(backbones and transfer learning).
"""

from lince._version import __version__

__all__ = ["__version__"]
