"""The value-aware loss: the model's error measured through a value function (TRPO's, or V_real)."""
from __future__ import annotations

import tensorflow.compat.v1 as tf

from slbo.loss import ModelLoss, value_aware_error


class ValueAwareLoss(ModelLoss):
    def __init__(self, *args, va_loss_coeff: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.va_loss_coeff = va_loss_coeff
        self.build()

    def forward(self, states, actions, next_states, masks):
        """va_loss_coeff × mean over window and batch of |V(s') − V(model(s, a))| (l1) or its
        square (l2). Only the model's parameters are trained by it (see `build_backward`)."""
        flat = [tf.reshape(x, [-1, x.shape[-1]]) for x in (states, actions, next_states)]
        return self.va_loss_coeff * tf.reduce_mean(value_aware_error(self.model, self.vfn, *flat, self.va_norm))
