"""SLBO's multi-step loss: roll the model H steps along the real actions and compare differences."""
from __future__ import annotations

import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.loss import ModelLoss
from slbo.utils.normalizer import Normalizers


class MultiStepLoss(ModelLoss):
    def __init__(self, *args, criterion: nn.PointwiseLoss, normalizers: Normalizers, **kwargs):
        super().__init__(*args, **kwargs)
        self.criterion, self.normalizers = criterion, normalizers
        self.build()

    def forward(self, states, actions, next_states, masks):
        """Step i: criterion(((ŝ_{i+1} − ŝ_i) − (s_{i+1} − s_i)) / max(std_diff, 1e-6)); where step i
        ended (done or timeout), step i+1 restarts from the real s_{i+1}. Mean over steps and batch."""
        scale = tf.maximum(self.normalizers.diff.op_std, 1e-6)
        current = states[0]
        losses = []
        for i in range(self.step):
            predicted = self.model(current, actions[i])
            error = ((predicted - current) - (next_states[i] - states[i])) / scale
            losses.append(self.criterion(error, tf.zeros_like(error)))
            if i < self.step - 1:
                keep = masks[i][:, None]
                current = keep * predicted + (1 - keep) * states[i + 1]
        return tf.reduce_mean(tf.add_n(losses) / self.step)
