"More datasets behind the registry: the label maps against hand-picked real rows, the shipped tables' stable counts, bad input."
import numpy as np
import pandas as pd
import pytest
from cxrstudy.data import FINDINGS
from cxrstudy.datasets import (LABEL_MAPS, TABLE_COLUMNS, harmonise, mapping_table, nih_labels, nih_table, padchest_labels,
                               padchest_table, prevalence_table, reader_agreement, relabel_agreement, split_patients,
                               vindr_labels, vindr_readers, vindr_table, SHIPPED)
from cxrstudy.sources import open_source

# ---- the label map of each dataset, on hand-picked real rows

def test_nih_rows_map_onto_chexpert():
    t = nih_labels().set_index("Path")
    r = t.loc["images/00000001_002.png"]  # "Cardiomegaly|Effusion"
    assert (r["Cardiomegaly"], r["Pleural Effusion"], r["Pneumothorax"], r["No Finding"]) == (1, 1, 0, 0)
    assert np.isnan(r["Support Devices"]) and np.isnan(r["Fracture"])  # NIH labels neither: blank, not 0
    r = t.loc["images/00000013_026.png"]  # "Cardiomegaly|Emphysema": Emphysema has no counterpart
    assert (r["Cardiomegaly"], r["No Finding"]) == (1, 0)

def test_padchest_rows_map_onto_chexpert():
    t = padchest_labels().set_index("Path")
    r = t.loc["0/135803415504923515076821959678074435083_fzis7b.png"]  # fibrosis, chronic changes, kyphosis, pseudonodule, ground glass
    assert (r["Lung Opacity"], r["Lung Lesion"], r["No Finding"], r["Frontal/Lateral"]) == (1, 0, 0, "Frontal")
    assert t["Pneumothorax"].isin([0, 1]).all()  # PadChest has no uncertain state and labels every row

def test_vindr_readers_combined_by_the_stated_rule():
    raw = pd.DataFrame({"image_id": ["x"] * 4, "rad_id": ["R8", "R9", "R9", "R10"],
                        "class_name": ["Pneumothorax", "Pneumothorax", "Pleural effusion", "No finding"]})
    maj, any_ = vindr_table(raw, "majority").iloc[0], vindr_table(raw, "any").iloc[0]
    assert (maj["Pneumothorax"], maj["Pleural Effusion"], any_["Pleural Effusion"]) == (1, 0, 1)
    with pytest.raises(ValueError, match="valid rules: majority, any"): vindr_table(raw, "vote")

def test_every_map_targets_the_14_observations():
    for d, lm in LABEL_MAPS.items():
        assert mapping_table([d]).shape == (14, 1), d
    assert LABEL_MAPS["mimic"].findings == {f: f for f in FINDINGS}

# ---- stable numbers of the shipped tables

def test_prevalence_of_the_two_findings_is_pinned():
    pt = prevalence_table({d: read() for d, (read, _) in SHIPPED.items()}, findings=["Pneumothorax", "Pleural Effusion"])
    got = {k: (int(r.images), int(r.positive)) for k, r in pt.iterrows()}
    assert got == {("Pneumothorax", "chexpert"): (191_027, 17_693), ("Pneumothorax", "nih"): (112_120, 5_302),
                   ("Pneumothorax", "padchest"): (110_554, 416), ("Pneumothorax", "vindr"): (15_000, 58),
                   ("Pleural Effusion", "chexpert"): (191_027, 76_899), ("Pleural Effusion", "nih"): (112_120, 13_317),
                   ("Pleural Effusion", "padchest"): (110_554, 7_040), ("Pleural Effusion", "vindr"): (15_000, 634)}

def test_nih_google_relabelling_counts_are_pinned():
    ra = relabel_agreement()
    assert ra.loc["Pneumothorax", ["both", "nih_only", "google_only", "neither"]].astype(int).tolist() == [109, 129, 129, 4_009]
    assert ra.loc["Airspace opacity", ["both", "nih_only", "google_only", "neither"]].astype(int).tolist() == [718, 238, 1_448, 1_972]
    assert abs(ra.loc["Pneumothorax", "kappa"] - 0.427) < 1e-3

def test_vindr_reader_agreement_counts():
    ag = reader_agreement(n_boot=10)
    assert ag.loc["Pneumothorax", ["any_reader", "majority", "all_readers"]].tolist() == [96, 58, 45]
    assert abs(ag.loc["Pneumothorax", "fleiss_kappa"] - 0.743) < 1e-3

# ---- bad input

def test_tables_with_missing_columns_name_them_and_the_layout():
    with pytest.raises(ValueError, match="missing required columns: Patient ID.*Data_Entry_2017"):
        nih_table(pd.DataFrame({"Image Index": ["a.png"], "Finding Labels": ["No Finding"], "Patient Age": [3],
                                "Patient Gender": ["M"], "View Position": ["PA"]}))
    with pytest.raises(ValueError, match="missing required columns: Labels; expected PadChest"):
        padchest_table(pd.DataFrame({c: [] for c in ["ImageID", "ImageDir", "PatientID", "PatientBirth", "PatientSex_DICOM",
                                                     "StudyDate_DICOM", "Projection", "MethodLabel"]}))
    with pytest.raises(ValueError, match="missing required columns: rad_id"):
        vindr_readers(pd.DataFrame({"image_id": ["a"], "class_name": ["No finding"]}))

def test_label_sources_split_by_patient_and_refuse_images():
    for name in ("nih-labels", "padchest-labels", "vindr-labels"):
        s = open_source(name)
        pats = [set(s.labels(sp)["patient"]) for sp in s.splits]
        assert not (pats[0] & pats[1] or pats[0] & pats[2] or pats[1] & pats[2]), name
        assert list(s.labels("test").columns[:len(TABLE_COLUMNS)]) == TABLE_COLUMNS
        with pytest.raises(ValueError, match="is a label table only, no images"): s.image("test", 0)

def test_split_patients_keeps_each_patient_in_one_split():
    p = pd.Series(np.repeat(np.arange(50), 3).astype(str))
    s = split_patients(p, seed=3)
    assert pd.DataFrame({"p": p, "s": s}).groupby("p")["s"].nunique().max() == 1

# ---- a user's folder of each dataset, in its released layout

@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from cxrstudy.datasets import LAYOUTS, make_fake_dataset
    root = tmp_path_factory.mktemp("ds")
    return {d: make_fake_dataset(d, root, n_patients=6, seed=1) for d in LAYOUTS}

@pytest.mark.parametrize("dataset", ["nih", "padchest", "vindr", "mimic"])
def test_fake_folder_goes_through_open_source_and_the_cache(folders, dataset, tmp_path, monkeypatch):
    from cxrstudy.cache import cached_split
    monkeypatch.setenv("CXRSTUDY_CACHE", str(tmp_path/"cache"))
    s = open_source(dataset, folders[dataset], view="both")
    parts = [set(s.labels(sp)["patient"]) for sp in s.splits]
    assert sum(map(len, parts)) == len(set().union(*parts))  # patients never in two splits
    sp = next(x for x in s.splits if len(s.labels(x)))
    c = cached_split(s, sp, 24)
    assert c.images.shape[1:] == (24, 24) and c.images.dtype == np.uint8

def test_fake_folders_hold_the_real_rows(folders):
    s = open_source("vindr", folders["vindr"], view="both")
    lab = pd.concat([s.labels(sp) for sp in s.splits]).set_index("patient")
    ref = vindr_labels().set_index("patient").loc[lab.index]
    assert np.array_equal(lab[FINDINGS].fillna(-9).to_numpy(), ref[FINDINGS].fillna(-9).to_numpy())

def test_a_folder_of_another_layout_is_named(folders):
    with pytest.raises(FileNotFoundError, match="it looks like a padchest folder"):
        open_source("mimic", folders["padchest"])

# ---- the MaCheX-style union

def test_the_union_keeps_patients_apart(folders, tmp_path, monkeypatch):
    from cxrstudy.cache import cached_split
    monkeypatch.setenv("CXRSTUDY_CACHE", str(tmp_path/"cache"))
    u = open_source("machex", folders["nih"].parent, sources=list(folders))
    lab = pd.concat([u.labels(sp) for sp in u.splits])
    assert set(lab["Frontal/Lateral"]) == {"Frontal"} and set(lab["dataset"]) == set(folders)
    assert lab["patient"].str.split(":").str[0].eq(lab["dataset"]).all()  # every id prefixed by its dataset
    parts = [set(u.labels(sp)["patient"]) for sp in u.splits]
    assert sum(map(len, parts)) == len(set().union(*parts))  # patients never in two splits
    c = cached_split(u, "train", 24)
    assert c.images.shape[1:] == (24, 24) and c.images.dtype == np.uint8

def test_one_id_in_two_datasets_is_two_patients():
    from cxrstudy.datasets import union_table
    row = {**{c: np.nan for c in TABLE_COLUMNS}, "Frontal/Lateral": "Frontal", "patient": "7", "dataset_split": "train", "dataset_row": 0}
    u = union_table({"nih": pd.DataFrame([row]), "padchest": pd.DataFrame([row])})
    assert u["patient"].tolist() == ["nih:7", "padchest:7"]

def test_an_all_lateral_dataset_is_refused_by_the_union(tmp_path):
    from cxrstudy.datasets import make_fake_dataset
    nih = make_fake_dataset("nih", tmp_path, n_patients=3); make_fake_dataset("vindr", tmp_path, n_patients=3)
    t = pd.read_csv(nih/"Data_Entry_2017_v2020.csv")
    t.assign(**{"View Position": "LL"}).to_csv(nih/"Data_Entry_2017_v2020.csv", index=False)
    with pytest.raises(ValueError, match="dataset 'nih' has no frontal image.*drop it from sources="):
        open_source("machex", tmp_path, sources=["nih", "vindr"])
