"Tests of cxrstudy.labels: every policy on hand-made tables, the U-Ignore masks, and each bad input."
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from cxrstudy.data import FINDINGS
from cxrstudy.labels import (IGNORE_INDEX, STATES, TABLE_POLICIES, impute, label_noise, label_table, masked_bce,
                             multiclass_ce, multiclass_positive_prob, multiclass_targets, policy_name, raw_labels,
                             self_trained_targets, truth_by_state)

nan = np.nan
RAW = pd.Series([1, 0, -1, nan], name="Pneumothorax")


@pytest.mark.parametrize("uncertain,not_mentioned,want", [
    ("ones", 0, [1, 0, 1, 0]), ("ones", 1, [1, 0, 1, 1]), ("ones", None, [1, 0, 1, nan]),
    ("zeros", 0, [1, 0, 0, 0]), ("zeros", 1, [1, 0, 0, 1]), ("zeros", None, [1, 0, 0, nan]),
    ("ignore", 0, [1, 0, nan, 0]), ("ignore", 1, [1, 0, nan, 1]), ("ignore", None, [1, 0, nan, nan])])
def test_impute_every_policy(uncertain, not_mentioned, want):
    got = impute(RAW, uncertain, not_mentioned)
    np.testing.assert_array_equal(got.to_numpy(), np.array(want, dtype=float))  # NaN == NaN here
    assert got.dtype == np.float64 and got.name == "Pneumothorax"


def test_impute_dataframe_keeps_index_and_input():
    df = pd.DataFrame({"Edema": [1, -1, nan], "Pneumothorax": [-1, nan, 0]}, index=[7, 8, 9])
    before = df.copy()
    out = impute(df, "ignore", None)
    assert list(out.index) == [7, 8, 9] and list(out.columns) == ["Edema", "Pneumothorax"]
    assert out.isna().to_numpy().tolist() == [[False, True], [True, True], [True, False]]
    pd.testing.assert_frame_equal(df, before)


def test_label_table_hand_made():
    toy = pd.DataFrame({"Pleural Effusion": [1, 1, 1, 0, -1, nan, nan, -1]})
    t = label_table(toy, "Pleural Effusion")
    assert list(t.index) == ["Original", *TABLE_POLICIES]
    want = {"Original": [3, 1, 2, 2], "FillNM(0) U-Ones": [5, 3, 0, 0], "FillNM(0) U-Zeros": [3, 5, 0, 0],
            "FillNM(1) U-Ones": [7, 1, 0, 0], "FillNM(1) U-Zeros": [5, 3, 0, 0]}
    for k, v in want.items(): assert t.loc[k, list(STATES)].tolist() == v, k
    np.testing.assert_allclose(t.loc["Original", [f"{s}_%" for s in STATES]].to_numpy(float), [37.5, 12.5, 25, 25])
    assert (t["total"] == 8).all()


def test_label_table_real_matches_value_counts():
    from cxrstudy.data import chexpert_label_table
    table = chexpert_label_table()
    t = label_table(table, "Pneumothorax")
    vc = table["Pneumothorax"].value_counts(dropna=False)
    assert t.loc["Original", "positive"] == vc[1.0] and t.loc["Original", "uncertain"] == vc[-1.0]
    assert t.loc["Original", "not_mentioned"] == table["Pneumothorax"].isna().sum()
    # regression guard on the shipped table (torchxrayvision's chexpert_train.csv.gz, 223,414 rows)
    assert t.loc["Original", list(STATES)].tolist() == [19448, 56341, 3145, 144480]
    assert t.loc["FillNM(0) U-Ones", ["positive", "negative"]].tolist() == [22593, 200821]


def test_self_trained_and_multiclass():
    raw = pd.Series([1, 0, -1, nan, -1])
    np.testing.assert_allclose(self_trained_targets(raw, [0.2, 0.8]).to_numpy(), [1, 0, 0.2, 0, 0.8])
    np.testing.assert_allclose(self_trained_targets(raw, np.full(5, 0.4), None).to_numpy(), [1, 0, 0.4, nan, 0.4])
    assert multiclass_targets(raw).tolist() == [1, 0, 2, 0, 2]
    assert multiclass_targets(raw, None).tolist() == [1, 0, 2, IGNORE_INDEX, 2]
    p = multiclass_positive_prob(torch.tensor([[2.0, 2.0, 9.0]]))
    assert abs(p.item() - 0.5) < 1e-6


def test_masked_bce_masks_u_ignore():
    logits = torch.randn(8, 3, requires_grad=True)
    targets = torch.tensor(impute(pd.DataFrame(np.resize([1, 0, -1, nan, 1, -1], (8, 3))), "ignore", None).to_numpy(),
                           dtype=torch.float32)
    obs = ~torch.isnan(targets)
    loss = masked_bce(logits, targets)
    ref = F.binary_cross_entropy_with_logits(logits[obs], targets[obs])
    assert torch.allclose(loss, ref)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and (logits.grad[~obs] == 0).all() and (logits.grad[obs] != 0).all()


def test_masked_losses_all_missing_batch():
    z = torch.randn(4, 2, requires_grad=True)
    loss = masked_bce(z, torch.full((4, 2), nan))
    loss.backward()
    assert loss.item() == 0 and (z.grad == 0).all()
    z3 = torch.randn(4, 2, 3, requires_grad=True)
    loss = multiclass_ce(z3, torch.full((4, 2), IGNORE_INDEX))
    loss.backward()
    assert loss.item() == 0 and (z3.grad == 0).all()


def test_label_noise_hand_made():
    rep = pd.DataFrame({"Pneumothorax": [1, 0, -1, -1, nan, nan]})
    tru = pd.DataFrame({"Pneumothorax": [1, 1, 1, 0, 1, 0]})
    ln = label_noise(rep, tru, ["Pneumothorax"])
    r = ln.loc[("Pneumothorax", "FillNM(0) U-Ones")]
    assert (r.false_pos, r.false_neg, r.n_true_pos, r.n_true_neg) == (1, 2, 4, 2)
    r = ln.loc[("Pneumothorax", "IgnoreNM U-Ignore")]
    assert (r.n_labels, r.false_pos, r.false_neg) == (2, 0, 1)
    tb = truth_by_state(rep, tru, ["Pneumothorax"])
    assert tb["n"].tolist() == [1, 1, 2, 2] and tb["truly_positive"].tolist() == [1, 1, 1, 1]


# ---- bad input ------------------------------------------------------------------------------------------------

def test_bad_values_listed_with_rows():
    with pytest.raises(ValueError, match=r"offending values 'x', 2.*row 1 column 'Edema': 2.*row 3 column 'Edema': 'x'"):
        impute(pd.DataFrame({"Edema": [1, 2, 0, "x"]}))
    with pytest.raises(ValueError, match="offending values 0.5"):
        label_table(pd.DataFrame({"Pneumothorax": [1, 0.5]}), "Pneumothorax")
    with pytest.raises(ValueError, match=r"and 2 more"):
        raw_labels(pd.Series(np.arange(2, 14)))


def test_unknown_finding_lists_all_14():
    with pytest.raises(ValueError) as e:
        label_table(pd.DataFrame({"Pneumothorax": [1]}), "pneumothorax")
    assert all(f in str(e.value) for f in FINDINGS) and "14 valid names" in str(e.value)


def test_unknown_policy_lists_valid():
    with pytest.raises(ValueError, match="valid policies: 'ones', 'zeros', 'ignore'"):
        impute(RAW, "U-Ones")
    with pytest.raises(ValueError, match=r"valid policies: 0 \(FillNM\(0\)\), 1 \(FillNM\(1\)\), None"):
        impute(RAW, "ones", 0.5)
    with pytest.raises(ValueError, match="valid policies"):
        policy_name("half", 0)


def test_bad_shapes_and_probabilities():
    with pytest.raises(ValueError, match="give one target per logit"):
        masked_bce(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        self_trained_targets(RAW, [1.5])
    with pytest.raises(ValueError, match="one per uncertain"):
        self_trained_targets(RAW, [0.1, 0.2])
