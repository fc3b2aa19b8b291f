"""ASE's EMT, slowed down so that a test can kill a campaign in the middle of labelling."""

import time

from ase.calculators.emt import EMT


class SlowEMT(EMT):
    def __init__(self, delay: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        self.delay = delay

    def calculate(self, *args, **kwargs):
        time.sleep(self.delay)
        super().calculate(*args, **kwargs)
