"""Pure summary statistics of timing samples (seconds in, seconds out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNSTABLE_IQR_RATIO = 0.1  # IQR/median above this marks a measurement as unstable


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    iqr: float
    min: float
    mean: float

    @property
    def unstable(self) -> bool:
        return self.median > 0 and self.iqr / self.median > UNSTABLE_IQR_RATIO


def summarise(samples) -> Summary:
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise ValueError("cannot summarise an empty list of samples")
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return Summary(n=int(values.size), median=float(median), iqr=float(q3 - q1),
                   min=float(values.min()), mean=float(values.mean()))
