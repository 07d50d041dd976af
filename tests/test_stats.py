"""The one standard-error formula the training log, the report and the inspection tools share."""
import math

import numpy as np

from slbo.main import episode_stats
from slbo.report import mean_sem
from slbo.utils.stats import standard_error


def test_standard_error_is_sample_std_over_sqrt_n():
    values = [1.0, 2.0, 3.0, 7.0]
    by_hand = math.sqrt(sum((v - 3.25) ** 2 for v in values) / 3) / 2
    assert math.isclose(standard_error(values), by_hand, rel_tol=1e-12)


def test_fewer_than_two_values_give_the_caller_s_placeholder():
    assert math.isnan(standard_error([5.0]))
    assert math.isnan(standard_error([]))
    assert standard_error([5.0], single=0.0) == 0.0


def test_log_and_report_agree():
    returns = [-233.1, -0.5, -0.0, -81.1]
    assert episode_stats([{"return": r} for r in returns]) == mean_sem(returns)
    assert episode_stats([{"return": 4.0}]) == (4.0, 0.0)
    assert math.isnan(mean_sem([4.0])[1])
    assert math.isnan(episode_stats([])[0])
    assert np.isfinite(mean_sem(returns)[1])
