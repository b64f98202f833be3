"""Metric formulas on small hand-made sets; the expected numbers are worked out in the comments."""
from __future__ import annotations

import math

import pytest

from reports import metrics
from reports.metrics import counts_from_scores


def test_nps_counts_shares_and_margin_of_error_match_the_hand_computation():
    # 10 answers: promoters 10,10,9,9,10 (5), passives 8,7 (2), detractors 6,0,3 (3)
    result = metrics.nps(counts_from_scores([10, 10, 9, 8, 7, 6, 0, 3, 9, 10]))
    assert (result.total, result.promoters, result.passives, result.detractors) == (10, 5, 2, 3)
    assert result.share("promoters") == 50 and result.share("detractors") == 30 and result.share("passives") == 20
    assert result.score == pytest.approx(20.0)
    # variance of (+1/0/-1) = p + d - (p - d)^2 = 0.5 + 0.3 - 0.04 = 0.76; SE = 100 * sqrt(0.76 / 10) = 27.568
    assert result.standard_error == pytest.approx(27.5681, abs=1e-3)
    assert result.margin == pytest.approx(1.96 * 27.5681, abs=0.01)  # 54.03
    assert result.low == pytest.approx(20 - 54.033, abs=0.01)
    assert result.high == pytest.approx(74.033, abs=0.01)


def test_nps_of_nothing_is_empty_and_of_all_promoters_is_100_with_no_margin():
    assert metrics.nps(metrics.empty_counts()).score is None
    everyone = metrics.nps(counts_from_scores([9, 10, 10]))
    assert everyone.score == 100 and everyone.margin == 0 and everyone.high == 100


def test_an_nps_change_is_significant_only_when_it_is():
    # before: 50 P, 30 D, 20 passive of 100 -> NPS 20, SE = 100 * sqrt(0.76 / 100) = 8.718
    # after: 60 P, 20 D, 20 passive of 100 -> NPS 40, SE = 100 * sqrt(0.64 / 100) = 8.0
    before = metrics.nps(counts_from_scores([10] * 50 + [0] * 30 + [8] * 20))
    after = metrics.nps(counts_from_scores([10] * 60 + [0] * 20 + [8] * 20))
    change = metrics.nps_change(before, after)
    # z = 20 / sqrt(8.718^2 + 8^2) = 20 / 11.832 = 1.690 < 1.96
    assert change.delta == pytest.approx(20) and change.z == pytest.approx(1.690, abs=1e-3)
    assert not change.significant and change.direction == "flat"
    assert change.p_value == pytest.approx(math.erfc(1.690 / math.sqrt(2)), abs=1e-3)
    # Four times as many answers halve the SEs: z = 3.38, significant.
    big = metrics.nps_change(metrics.nps([4 * c for c in counts_from_scores([10] * 50 + [0] * 30 + [8] * 20)]),
                             metrics.nps([4 * c for c in counts_from_scores([10] * 60 + [0] * 20 + [8] * 20)]))
    assert big.z == pytest.approx(3.380, abs=1e-3) and big.significant and big.direction == "up"


def test_ces_mean_share_easy_and_its_wilson_interval():
    mean, easy = metrics.ces(counts_from_scores([7, 6, 5, 4, 3, 1]))
    assert mean.value == pytest.approx(26 / 6)
    # squared deviations sum to 23.333; / (n - 1) = 4.667; sd = 2.160; SE = 0.882
    assert mean.sd == pytest.approx(2.1602, abs=1e-4)
    assert mean.low == pytest.approx(26 / 6 - 1.96 * 2.1602 / math.sqrt(6), abs=1e-3)
    assert (easy.successes, easy.total, easy.value) == (3, 6, 0.5)
    # Wilson, p = 0.5, n = 6: centre 0.5, half = 1.96 * sqrt(0.25/6 + 3.8415/144) / 1.6402 = 0.3124
    assert easy.low == pytest.approx(0.1876, abs=1e-3) and easy.high == pytest.approx(0.8124, abs=1e-3)
    headline = metrics.headline("ces", counts_from_scores([7, 6, 5, 4, 3, 1]))
    assert headline.value == pytest.approx(50) and headline.unit == "%" and headline.mean == pytest.approx(26 / 6)


def test_csat_is_the_share_of_four_and_five():
    share = metrics.csat(counts_from_scores([5, 5, 4, 3, 2, 1, 4, 5]))
    assert (share.successes, share.total) == (5, 8) and share.percent == pytest.approx(62.5)
    assert share.low < 0.625 < share.high


def test_resolution_rate_and_response_rate():
    resolution = metrics.resolution_rate(resolved=3, answered=4)
    assert resolution.percent == 75
    rate = metrics.response_rate(responses=2, delivered=5)
    assert rate.percent == 40 and rate.low == pytest.approx(0.1176, abs=1e-3)
    assert metrics.response_rate(responses=0, delivered=0).value is None


def test_a_drop_in_one_channel_is_explained_as_rate():
    # chat fell from NPS 40 to 0, phone stayed at 40, each half of the answers: overall 40 -> 20
    chat_before = counts_from_scores([10] * 25 + [0] * 5 + [8] * 20)   # 25 P, 5 D of 50: NPS 40
    chat_after = counts_from_scores([10] * 10 + [0] * 10 + [8] * 30)   # 10 P, 10 D: NPS 0
    phone = counts_from_scores([10] * 25 + [0] * 5 + [8] * 20)
    drivers = metrics.decompose_change("nps", {"chat": chat_before, "phone": phone},
                                       {"chat": chat_after, "phone": phone})
    assert drivers[0].segment == "chat"
    assert drivers[0].rate == pytest.approx(-20) and drivers[0].mix == pytest.approx(0)
    assert sum(d.total for d in drivers) == pytest.approx(-20)
    sentence = metrics.describe_driver(drivers[0], kind="nps")
    # promoters moved most (50% -> 20%; detractors 10% -> 20%)
    assert sentence.startswith("chat: promoters fell from 50% to 20% (NPS fell from 40.0 to 0.0)")
    assert "-20.0 points (rate -20.0, mix +0.0)" in sentence


def test_more_answers_from_a_low_channel_is_explained_as_mix():
    # chat NPS 0, phone NPS 40, unchanged; chat's share rises from 50% to 80%: overall 20 -> 8
    chat0, chat1 = counts_from_scores([10] * 10 + [0] * 10 + [8] * 30), counts_from_scores(
        [10] * 16 + [0] * 16 + [8] * 48)
    phone0, phone1 = counts_from_scores([10] * 25 + [0] * 5 + [8] * 20), counts_from_scores(
        [10] * 10 + [0] * 2 + [8] * 8)
    drivers = {d.segment: d for d in metrics.decompose_change("nps", {"chat": chat0, "phone": phone0},
                                                              {"chat": chat1, "phone": phone1})}
    assert drivers["chat"].rate == pytest.approx(0) and drivers["phone"].rate == pytest.approx(0)
    # mix = (w1 - w0) * (v - V0): chat (0.8 - 0.5) * (0 - 20) = -6; phone (0.2 - 0.5) * (40 - 20) = -6
    assert drivers["chat"].mix == pytest.approx(-6) and drivers["phone"].mix == pytest.approx(-6)
    assert "share of responses grew from 50% to 80%" in metrics.describe_driver(drivers["chat"], kind="nps")


def test_headline_change_of_a_share_uses_the_two_proportion_test():
    before = metrics.headline("csat", counts_from_scores([5] * 50 + [1] * 50))
    after = metrics.headline("csat", counts_from_scores([5] * 70 + [1] * 30))
    change = metrics.headline_change(before, after)
    # SEs 5.0 and 4.583: z = 20 / 6.782 = 2.949
    assert change.z == pytest.approx(2.949, abs=1e-3) and change.significant
