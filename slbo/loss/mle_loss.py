"""The MLE ablation: one-step prediction of every transition of the window."""
from __future__ import annotations

import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.loss import ModelLoss


class MLELoss(ModelLoss):
    def __init__(self, *args, criterion: nn.PointwiseLoss, **kwargs):
        super().__init__(*args, **kwargs)
        self.criterion = criterion
        self.build()

    def forward(self, states, actions, next_states, masks):
        """criterion(model(s, a), s') averaged over window and batch. The model's output already is
        the next state (the published code added s to it once more)."""
        flat = [tf.reshape(x, [-1, x.shape[-1]]) for x in (states, actions, next_states)]
        return tf.reduce_mean(self.criterion(self.model(flat[0], flat[1]), flat[2]))
