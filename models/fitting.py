"""Run the training stages with early stopping, keeping the best weights in memory.

The best weights (lowest validation loss) are kept after every epoch, so
early stopping, the end of training and Ctrl+C all leave the model at its
best epoch.
"""

import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from lince.models.transfer import build_classifier, unfreeze_top
from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)


@dataclass
class FitResult:
    """The trained model (at its best epoch) and its history."""

    model: object
    history: Dict[str, List[float]] = field(default_factory=dict)
    epochs_run: int = 0
    best_epoch: int = 0
    interrupted: bool = False
    stage_boundaries: List[int] = field(default_factory=list)


def _best_weights_callback(state: dict):
    import keras
    import numpy as np

    class KeepBest(keras.callbacks.Callback):
        """Record each epoch's metrics; copy the weights whenever the validation loss reaches a new minimum."""

        def on_epoch_end(self, epoch, logs=None):
            state["epochs"] += 1
            for key, value in (logs or {}).items():
                state["history"].setdefault(key, []).append(float(value))
            loss = (logs or {}).get("val_loss")
            if loss is not None and np.isfinite(loss) and loss < state["best_loss"]:
                state["best_loss"] = loss
                state["best_epoch"] = state["epochs"]
                state["weights"] = self.model.get_weights()

    return KeepBest()


def _run_stage(model, train_data, val_data, epochs, class_weight, state, patience, verbose) -> bool:
    """Fit one stage; return True when Ctrl+C stopped it."""
    import keras

    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    try:
        # The tf.data pipeline shuffles already; shuffle=False stops Keras warning about it.
        model.fit(train_data, validation_data=val_data, epochs=epochs, class_weight=class_weight,
                           shuffle=False, callbacks=[_best_weights_callback(state), stopper], verbose=verbose)
    except KeyboardInterrupt:
        logger.warning("Training interrupted after %d epoch(s); keeping the best model so far", state["epochs"])
        return True
    return False


def fit_stages(entry, size, num_classes, train_data, val_data, class_weight: Optional[dict], config) -> FitResult:
    """Build the classifier and train stage 1, then stage 2 when ``config.fine_tune`` is set."""
    import keras

    keras.utils.set_random_seed(config.seed)
    weights = None if config.weights in (None, "none") else config.weights
    model, base = build_classifier(entry, num_classes, size, weights, config.dropout)
    result = FitResult(model)
    state = {"epochs": 0, "best_loss": float("inf"), "best_epoch": 0, "weights": None, "history": result.history}
    verbose = 1 if config.progress else 0

    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    result.interrupted = _run_stage(model, train_data, val_data, config.epochs, class_weight, state,
                                    config.patience, verbose)
    result.stage_boundaries.append(state["epochs"])
    if config.fine_tune and not result.interrupted:
        if weights is None:
            logger.warning("--fine-tune ignored: a backbone trained from scratch is already fully trainable")
        else:
            if state["weights"] is not None:
                model.set_weights(state["weights"])
            unfreeze_top(base, config.fine_tune)
            model.compile(optimizer=keras.optimizers.Adam(config.fine_tune_rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            result.interrupted = _run_stage(model, train_data, val_data, config.fine_tune_epochs or config.epochs,
                                            class_weight, state, config.patience, verbose)
    if state["weights"] is None:
        raise LinceError(_("training stopped before the first epoch ended; nothing was written"))
    model.set_weights(state["weights"])
    result.epochs_run, result.best_epoch = state["epochs"], state["best_epoch"]
    return result
