"""Learning which steps need the cloud: outcomes in, calibrated success estimates out.

:mod:`.outcomes` reads recorded outcomes (``{"prompt", "agent", "model", "success"}`` lines),
:mod:`.estimator` learns P(success) per (model, agent) from step features (the prompt's
embedding and size), shrunk towards the configured prior while outcomes are few, and
:mod:`.evaluate` scores a ranking of steps offline (APGR, CPT, local share at a quality level)
against random and oracle baselines. Pure numpy: embedding the prompts is the caller's job.
"""
