"""`early_stopping`: Lightning's EarlyStopping, registered, with a one-line `stop_reason` for the run's end.

The Lightning entry puts the reason of whichever callback stopped training (`stop_reason`, None while
training goes on) into the `end` event and log.txt; the status stays `finished`.
"""

from __future__ import annotations

from pytorch_lightning.callbacks import EarlyStopping as LightningEarlyStopping
from pytorch_lightning.callbacks.early_stopping import EarlyStoppingReason

from torchx.callbacks.tools import register


@register("early_stopping")
class EarlyStopping(LightningEarlyStopping):
    """Stop when `monitor` (a logged metric, e.g. `val/acc`) stops improving; arguments as Lightning's."""

    @property
    def stop_reason(self) -> str | None:
        why = self.stopping_reason
        if why is EarlyStoppingReason.NOT_STOPPED:
            return None
        best = f"best {float(self.best_score):.4g}"
        if why is EarlyStoppingReason.PATIENCE_EXHAUSTED:
            detail = f"did not improve for {self.wait_count} validation runs ({best})"
        elif why is EarlyStoppingReason.STOPPING_THRESHOLD:
            detail = f"reached the stopping threshold {self.stopping_threshold} ({best})"
        elif why is EarlyStoppingReason.DIVERGENCE_THRESHOLD:
            detail = f"crossed the divergence threshold {self.divergence_threshold}"
        else:
            detail = f"is not finite ({best})"
        return f"early stopping: {self.monitor} {detail}"
